//! The sides of a join: ksqlDB's analysis of a join tree before it is planned, and what
//! the planner asks of a side (its columns, keys and time).

use datafusion::common::DFSchema;
use datafusion::logical_expr::Expr;
use parser::ast::Relation;

use super::Side;
use super::condition::join_condition;
use crate::catalog::{Catalog, OP_COLUMN, ROWTIME};
use crate::plan::{DataflowNode, JOIN_TIME_COLUMN, JoinSide};
use crate::{Result, user_error};

/// ksqlDB's analysis of the joins of `relation`, in order, before any is planned: each joins
/// a source not joined before, on a condition over its two sides. Returns the sources.
pub(super) fn analyze_relation(catalog: &Catalog, relation: &Relation) -> Result<Vec<Side>> {
    match relation {
        Relation::Source { name, alias } => Ok(vec![Side {
            alias: alias.clone().unwrap_or_else(|| name.clone()),
            source: catalog.require_source(name)?.clone(),
        }]),
        Relation::Join(join) => {
            let mut sides = analyze_relation(catalog, &join.left)?;
            let right = analyze_relation(catalog, &join.right)?;
            let [right_side] = right.as_slice() else {
                return user_error("The right side of a join must be a stream or a table.");
            };
            if let Some(duplicate) = sides
                .iter()
                .find(|side| side.source.name == right_side.source.name)
            {
                return user_error(if sides.len() == 1 {
                    format!(
                        "Can not join '{0}' to '{0}': self joins are not yet supported.",
                        duplicate.source.name
                    )
                } else {
                    format!(
                        "N-way joins do not support multiple occurrences of the same source. Source: '{}'",
                        duplicate.source.name
                    )
                });
            }
            join_condition(join, &sides, right_side)?;
            sides.push(right_side.clone());
            Ok(sides)
        }
    }
}

/// The condition (of the first `conditions`) of a nested join `root` one of whose key
/// expressions is `expr`: `abs(b.id)` in `a JOIN b ON a.id = abs(b.id) JOIN c ON abs(b.id) =
/// c.id` joins on the first join's key.
pub(super) fn nested_condition(
    root: &DataflowNode,
    expr: &Expr,
    conditions: usize,
) -> Option<usize> {
    let DataflowNode::Join(join) = root else {
        return None;
    };
    join.left_keys
        .iter()
        .zip(&join.right_keys)
        .take(conditions)
        .position(|(left, right)| left == expr || right == expr)
}

/// The side (of `sides`) whose column `expr` is.
pub(super) fn side_of<'a>(expr: &Expr, sides: &'a [Side]) -> Option<&'a Side> {
    let Expr::Column(column) = expr else {
        return None;
    };
    sides.iter().find(|side| {
        column
            .relation
            .as_ref()
            .is_some_and(|r| r.table() == side.alias)
    })
}

/// Whether `exprs` are exactly `side`'s key columns (in any order).
pub(super) fn covers_key(exprs: &[Expr], side: &Side) -> bool {
    let mut keys: Vec<&str> = side
        .source
        .key_columns()
        .map(|column| column.name.as_str())
        .collect();
    let mut named: Vec<&str> = exprs
        .iter()
        .filter_map(|expr| match expr {
            Expr::Column(column) if side_of(expr, std::slice::from_ref(side)).is_some() => {
                Some(column.name.as_str())
            }
            _ => None,
        })
        .collect();
    keys.sort_unstable();
    named.sort_unstable();
    !keys.is_empty() && named.len() == exprs.len() && named == keys
}

/// Which columns of an input a join passes on, and where its time and `$op` are: a
/// nested join's `$jointime`, else the source's `ROWTIME`.
pub(super) fn join_side(schema: &DFSchema) -> JoinSide {
    let mut op_column = None;
    let mut joined_time = None;
    let mut source_time = 0;
    let mut columns = Vec::new();
    for (index, (qualifier, field)) in schema.iter().enumerate() {
        match (qualifier, field.name().as_str()) {
            (_, OP_COLUMN) => op_column = Some(index),
            (None, JOIN_TIME_COLUMN) => joined_time = Some(index),
            (None, name) if name.starts_with("$joinkey") => {}
            (Some(_), name) => {
                if name == ROWTIME {
                    source_time = index;
                }
                columns.push(index);
            }
            (None, _) => columns.push(index),
        }
    }
    JoinSide {
        time_column: joined_time.unwrap_or(source_time),
        op_column,
        columns,
    }
}
