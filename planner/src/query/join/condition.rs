//! The conditions of a join: the ON clause split into its left and right expressions, with
//! ksqlDB's errors for conditions it does not take, and the window conditions of windowed
//! sources.

use std::collections::HashSet;

use datafusion::common::{Column, TableReference};
use datafusion::logical_expr::Expr;
use parser::ast::Join;
use sqlparser::ast::{BinaryOperator, Expr as SqlExpr};

use super::names::{qualify, sides_with, unknown_alias};
use super::{Input, Side};
use crate::catalog::{ColumnKind, WINDOWEND, WINDOWSTART};
use crate::expr::{FormattedExpr, normalize_ident};
use crate::{Result, user_error};

/// Windowed sources join on their window too: equal window starts (and, for sessions,
/// ends), as their keys include the window. The join must be on their keys (ksqlDB does not
/// repartition windowed sources).
pub(super) fn window_conditions(
    left: &Input,
    right: &Side,
    left_key: &Expr,
    right_key: &Expr,
) -> Result<Vec<(Expr, Expr)>> {
    let Some(window) = right.source.window else {
        return Ok(Vec::new());
    };
    let is_key = |expr: &Expr, side: &Side| match expr {
        Expr::Column(column) => side
            .source
            .column(&column.name)
            .is_some_and(|c| c.kind == ColumnKind::Key),
        _ => false,
    };
    let left_side = match left_key {
        Expr::Column(column) => left.sides.iter().find(|side| {
            column
                .relation
                .as_ref()
                .is_some_and(|r| r.table() == side.alias)
        }),
        _ => None,
    };
    let Some(left_side) = left_side.filter(|side| is_key(left_key, side)) else {
        return repartition_windowed();
    };
    if !is_key(right_key, right) {
        return repartition_windowed();
    }
    let bounds: &[&str] = if window.kind == crate::catalog::WindowKind::Session {
        &[WINDOWSTART, WINDOWEND]
    } else {
        &[WINDOWSTART]
    };
    let column = |side: &Side, name: &str| {
        Expr::Column(Column::new(
            Some(TableReference::bare(side.alias.as_str())),
            name,
        ))
    };
    Ok(bounds
        .iter()
        .map(|name| (column(left_side, name), column(right, name)))
        .collect())
}

pub(super) fn repartition_windowed<T>() -> Result<T> {
    user_error(
        "Implicit repartitioning of windowed sources is not supported. See https://github.com/confluentinc/ksql/issues/4385.",
    )
}

/// The ON clause as (left expression, right expression, the condition's text as written),
/// each qualified by its sources' aliases; ksqlDB's errors for conditions it does not take.
pub(super) fn join_condition(
    join: &Join,
    left: &[Side],
    right: &Side,
) -> Result<Vec<(SqlExpr, SqlExpr, String)>> {
    let mut all: Vec<Side> = left.to_vec();
    all.push(right.clone());
    let mut on = join.on.clone();
    for alias in referenced(&on) {
        let is_column = sides_with(&all, &alias).len() == 1;
        if !is_column && !all.iter().any(|side| side.alias == alias) {
            return unknown_alias(&alias);
        }
    }
    qualify(&mut on, &all)?;
    let mut parts = Vec::new();
    conjuncts(strip_nested(on), &mut parts);
    parts
        .into_iter()
        .map(|part| one_condition(part, left, right))
        .collect()
}

/// The conditions joined by `AND` (beyond ksqlDB, which takes one).
fn conjuncts(expr: SqlExpr, parts: &mut Vec<SqlExpr>) {
    match expr {
        SqlExpr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            conjuncts(strip_nested(*left), parts);
            conjuncts(strip_nested(*right), parts);
        }
        other => parts.push(other),
    }
}

/// One equality of a join condition as (left expression, right expression, its text).
fn one_condition(on: SqlExpr, left: &[Side], right: &Side) -> Result<(SqlExpr, SqlExpr, String)> {
    let SqlExpr::BinaryOp {
        left: a,
        op: BinaryOperator::Eq,
        right: b,
    } = on.clone()
    else {
        return user_error(format!(
            "Unsupported join expression: {}. Only equality of expressions over each side is supported.",
            FormattedExpr(&on)
        ));
    };
    let (a, b) = (strip_nested(*a), strip_nested(*b));
    let refs_a = referenced(&a);
    let refs_b = referenced(&b);
    for refs in [&refs_a, &refs_b] {
        if refs.is_empty() {
            let empty = if refs_a.is_empty() { &a } else { &b };
            return user_error(format!(
                "Invalid comparison expression '{}' in join '({} = {})'. Each side of the join comparision must contain references from exactly one source.",
                FormattedExpr(empty),
                FormattedExpr(&a),
                FormattedExpr(&b)
            ));
        }
    }
    let left_aliases: HashSet<&str> = left.iter().map(|side| side.alias.as_str()).collect();
    let only_left = |refs: &HashSet<String>| refs.iter().all(|r| left_aliases.contains(r.as_str()));
    let only_right = |refs: &HashSet<String>| refs.iter().all(|r| *r == right.alias);
    let listed = |refs: &HashSet<String>| {
        let mut names: Vec<&String> = refs.iter().collect();
        names.sort();
        names
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let written = format!("{} = {}", FormattedExpr(&a), FormattedExpr(&b));
    if only_left(&refs_a) && only_right(&refs_b) {
        Ok((a, b, written))
    } else if only_right(&refs_a) && only_left(&refs_b) {
        Ok((b, a, written))
    } else if refs_a == refs_b {
        user_error(format!(
            "Each side of the join must reference exactly one source and not the same source. Left side references {} and right references {}",
            listed(&refs_a),
            listed(&refs_b)
        ))
    } else {
        user_error(format!(
            "A join criteria is expected to reference the source (`{}`) in the FROM clause, instead the right source references {} and the left source references {}",
            right.alias,
            listed(&refs_b),
            listed(&refs_a)
        ))
    }
}

pub(super) fn strip_nested(expr: SqlExpr) -> SqlExpr {
    match expr {
        SqlExpr::Nested(inner) => strip_nested(*inner),
        other => other,
    }
}

/// The aliases a qualified expression references.
pub(super) fn referenced(expr: &SqlExpr) -> HashSet<String> {
    let mut found = HashSet::new();
    let _ = sqlparser::ast::visit_expressions(expr, |expr| {
        if let SqlExpr::CompoundIdentifier(parts) = expr
            && let Some(first) = parts.first()
        {
            found.insert(normalize_ident(first));
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    found
}
