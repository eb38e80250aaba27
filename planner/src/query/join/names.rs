//! Column names of a join query: references qualified (ON) or rewritten to the joined row's
//! flat names (`l.id` to `L_ID`), wildcards expanded, ksqlDB's natural names, and the choice
//! of the select item that is the result's key.

use parser::ast::{Query, SelectItem};
use sqlparser::ast::{Expr as SqlExpr, Ident};

use super::Side;
use crate::catalog::{ROWOFFSET, ROWPARTITION, ROWTIME, WINDOWEND, WINDOWSTART};
use crate::expr::normalize_ident;
use crate::{PlanError, Result, user_error};

/// Names that stay as they are: the joined row's own columns.
pub(super) fn is_row_column(name: &str, keys: &[String]) -> bool {
    keys.iter().any(|key| key == name)
        || [ROWTIME, ROWPARTITION, ROWOFFSET, WINDOWSTART, WINDOWEND].contains(&name)
}

/// The sides having a column `name`.
pub(super) fn sides_with<'a>(sides: &'a [Side], name: &str) -> Vec<&'a Side> {
    sides
        .iter()
        .filter(|side| side.source.column(name).is_some())
        .collect()
}

/// ksqlDB's error for a column reference (`at`, named `name`) that more than one of `sides`
/// has, with its position when the parser gave one.
pub(super) fn ambiguous<T>(at: &Ident, name: &str, sides: &[&Side]) -> Result<T> {
    let options: Vec<String> = sides
        .iter()
        .map(|side| format!("{}.{name}", side.alias))
        .collect();
    let message = format!(
        "Column '{name}' is ambiguous. Could be {}.",
        options.join(" or ")
    );
    let start = at.span.start;
    if start.line == 0 {
        return user_error(message);
    }
    Err(PlanError::PrepareAt {
        line: start.line,
        column: start.column,
        message,
    })
}

pub(super) fn unknown_alias<T>(alias: &str) -> Result<T> {
    user_error(format!(
        "Failed to prepare statement: '{alias}' is not a valid stream/table name or alias."
    ))
}

/// Qualifies every column reference of an ON expression: `ID` to `L.ID` (the one source
/// having it).
pub(super) fn qualify(expr: &mut SqlExpr, sides: &[Side]) -> Result<()> {
    rewrite_each(expr, |expr| match expr {
        SqlExpr::Identifier(ident) => {
            let name = normalize_ident(ident);
            match sides_with(sides, &name).as_slice() {
                [side] => {
                    *expr = SqlExpr::CompoundIdentifier(vec![
                        Ident::new(side.alias.clone()),
                        ident.clone(),
                    ]);
                    Ok(())
                }
                [] => Ok(()),
                many => ambiguous(ident, &name, many),
            }
        }
        SqlExpr::CompoundIdentifier(parts) => {
            let first = normalize_ident(&parts[0]);
            if sides.iter().any(|side| side.alias == first) {
                Ok(())
            } else {
                unknown_alias(&first)
            }
        }
        _ => Ok(()),
    })
}

/// Calls `rewrite` on every expression within `expr`, stopping at the first error.
fn rewrite_each(
    expr: &mut SqlExpr,
    mut rewrite: impl FnMut(&mut SqlExpr) -> Result<()>,
) -> Result<()> {
    let mut error = None;
    let _ = sqlparser::ast::visit_expressions_mut(expr, |expr| match rewrite(expr) {
        Ok(()) => std::ops::ControlFlow::Continue(()),
        Err(e) => {
            error = Some(e);
            std::ops::ControlFlow::Break(())
        }
    });
    error.map_or(Ok(()), Err)
}

pub(super) fn flat_ident(name: String) -> Ident {
    Ident::with_quote('`', name)
}

/// Rewrites column references to the joined row's names: `l.id` to `L_ID`, `name` to the
/// flat name of the one source having it.
pub(super) fn flatten(expr: &mut SqlExpr, sides: &[Side], keys: &[String]) -> Result<()> {
    rewrite_each(expr, |expr| flatten_one(expr, sides, keys))
}

fn flatten_one(expr: &mut SqlExpr, sides: &[Side], keys: &[String]) -> Result<()> {
    match expr {
        SqlExpr::Identifier(ident) => {
            let name = normalize_ident(ident);
            if is_row_column(&name, keys) {
                return Ok(());
            }
            match sides_with(sides, &name).as_slice() {
                [side] => *expr = SqlExpr::Identifier(flat_ident(side.flat(&name))),
                [] => {}
                many => return ambiguous(ident, &name, many),
            }
            Ok(())
        }
        SqlExpr::CompoundIdentifier(parts) if parts.len() >= 2 => {
            let first = normalize_ident(&parts[0]);
            if let Some(side) = sides.iter().find(|side| side.alias == first) {
                let column = normalize_ident(&parts[1]);
                let flat = flat_ident(side.flat(&column));
                *expr = if parts.len() == 2 {
                    SqlExpr::Identifier(flat)
                } else {
                    let mut rest = vec![flat];
                    rest.extend(parts[2..].iter().cloned());
                    SqlExpr::CompoundIdentifier(rest)
                };
                return Ok(());
            }
            match sides_with(sides, &first).as_slice() {
                [side] => parts[0] = flat_ident(side.flat(&first)),
                [] => return unknown_alias(&first),
                many => return ambiguous(&parts[0], &first, many),
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The select list over the joined row: wildcards expanded to flat columns (`*` starting
/// with the `synthetic` key, if the key is one), references
/// rewritten, and each plain column reference named as ksqlDB names it (the column name
/// when no other source has one of that name, else `<ALIAS>_<COLUMN>`).
pub(super) fn expand_select(
    items: &[SelectItem],
    sides: &[Side],
    keys: &[String],
    synthetic: &[String],
) -> Result<Vec<SelectItem>> {
    let mut expanded = Vec::new();
    let wildcard = |side: &Side, expanded: &mut Vec<SelectItem>| {
        for column in &side.columns() {
            let flat = side.flat(&column.name);
            expanded.push(SelectItem::Expr {
                expr: SqlExpr::Identifier(flat_ident(flat.clone())),
                alias: Some(flat),
            });
        }
    };
    for item in items {
        match item {
            SelectItem::Wildcard => {
                for key in synthetic {
                    expanded.push(SelectItem::Expr {
                        expr: SqlExpr::Identifier(flat_ident(key.clone())),
                        alias: Some(key.clone()),
                    });
                }
                sides.iter().for_each(|side| wildcard(side, &mut expanded))
            }
            SelectItem::QualifiedWildcard(alias) => {
                match sides.iter().find(|side| side.alias == *alias) {
                    Some(side) => wildcard(side, &mut expanded),
                    None => return unknown_alias(alias),
                }
            }
            SelectItem::StructWildcard(expr) => {
                let mut expr = expr.clone();
                flatten(&mut expr, sides, keys)?;
                expanded.push(SelectItem::StructWildcard(expr));
            }
            SelectItem::Expr { expr, alias } => {
                let alias = alias
                    .clone()
                    .or_else(|| natural_join_name(expr, sides, keys));
                let mut expr = expr.clone();
                flatten(&mut expr, sides, keys)?;
                expanded.push(SelectItem::Expr { expr, alias });
            }
        }
    }
    Ok(expanded)
}

/// ksqlDB's name for an unaliased column reference in a join query.
fn natural_join_name(expr: &SqlExpr, sides: &[Side], keys: &[String]) -> Option<String> {
    let (side, column) = match expr {
        SqlExpr::Identifier(ident) => {
            let name = normalize_ident(ident);
            return (!is_row_column(&name, keys)).then_some(name);
        }
        SqlExpr::CompoundIdentifier(parts) if parts.len() == 2 => {
            let alias = normalize_ident(&parts[0]);
            let side = sides.iter().find(|side| side.alias == alias)?;
            (side, normalize_ident(&parts[1]))
        }
        _ => return None,
    };
    if sides_with(sides, &column).len() > 1 || is_row_column(&column, keys) {
        Some(side.flat(&column))
    } else {
        Some(column)
    }
}

/// Makes the first select item that is a join column (or `ROWKEY`) read the join key;
/// whether one was found. The same key column selected twice is an error.
pub(super) fn choose_key_item(
    query: &mut Query,
    candidates: &[(String, String)],
    key: &str,
) -> Result<bool> {
    let reads = |expr: &SqlExpr, name: &str| matches!(expr, SqlExpr::Identifier(ident) if normalize_ident(ident) == name);
    let items: Vec<(usize, &SqlExpr, &Option<String>)> = query
        .select
        .iter()
        .enumerate()
        .filter_map(|(index, item)| match item {
            SelectItem::Expr { expr, alias } => Some((index, expr, alias)),
            _ => None,
        })
        .collect();
    if items.iter().any(|(_, expr, _)| reads(expr, key)) {
        return Ok(true);
    }
    // The first join column (in join order) that is selected is the key.
    let Some((flat, index)) = candidates.iter().find_map(|(flat, _)| {
        items
            .iter()
            .find(|(_, expr, _)| reads(expr, flat))
            .map(|(index, _, _)| (flat.clone(), *index))
    }) else {
        return Ok(false);
    };
    let mut names_of_chosen: Vec<String> = items
        .iter()
        .filter(|(_, expr, _)| reads(expr, &flat))
        .map(|(_, _, alias)| Option::clone(alias).unwrap_or_else(|| flat.clone()))
        .collect();
    if names_of_chosen.len() > 1 {
        names_of_chosen.sort();
        return user_error(format!(
            "The projection contains a key column (`{flat}`) more than once, aliased as: {}.",
            names_of_chosen.join(" and ")
        ));
    }
    if let SelectItem::Expr { expr, alias } = &mut query.select[index] {
        *expr = SqlExpr::Identifier(flat_ident(key.to_string()));
        alias.get_or_insert(flat);
    }
    Ok(true)
}

/// A foreign-key join's result is keyed by the left table's primary key: the projection
/// must select every one of its columns.
pub(super) fn check_foreign_key_projection(query: &Query, left: &Side) -> Result<()> {
    for key in left.source.key_columns() {
        let flat = left.flat(&key.name);
        let selected = query.select.iter().any(|item| {
            matches!(item, SelectItem::Expr { expr: SqlExpr::Identifier(ident), .. }
                if normalize_ident(ident) == flat)
        });
        if !selected {
            return user_error(format!(
                "Primary key column missing in projection. For foreign-key table-table joins, the projection must include all primary key columns from the left input table (`{}`). Missing column: `{}`.",
                left.alias, key.name
            ));
        }
    }
    Ok(())
}
