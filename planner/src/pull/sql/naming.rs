//! ksqlDB's names for the output columns of a SQL pull query.
//!
//! An unaliased column keeps its name; another unaliased expression is named `KSQL_COL_n`,
//! counting in select order and skipping names already taken, as ksqlDB does (and the
//! planner does for push and persistent queries). Duplicate names get `_1`, `_2`, ...

use std::collections::HashSet;

use datafusion::sql::sqlparser::ast::{Expr, Ident, Query, SelectItem, SetExpr};

/// Aliases the unnamed expressions of the outermost SELECT of `query` (the left-most one of a
/// set operation, which names the columns).
pub(super) fn name_select_items(query: &mut Query) {
    let mut body = query.body.as_mut();
    let select = loop {
        match body {
            SetExpr::Select(select) => break select,
            SetExpr::Query(inner) => body = inner.body.as_mut(),
            SetExpr::SetOperation { left, .. } => body = left.as_mut(),
            _ => return,
        }
    };
    let mut taken: HashSet<String> = select
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::UnnamedExpr(expr) => natural_name(expr),
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
            _ => None,
        })
        .collect();
    let mut counter = 0;
    for item in &mut select.projection {
        let SelectItem::UnnamedExpr(expr) = item else {
            continue;
        };
        if natural_name(expr).is_some() {
            continue;
        }
        let name = loop {
            let candidate = format!("KSQL_COL_{counter}");
            counter += 1;
            if taken.insert(candidate.clone()) {
                break candidate;
            }
        };
        *item = SelectItem::ExprWithAlias {
            expr: expr.clone(),
            alias: Ident::new(name),
        };
    }
}

/// `name`, or `name_1`, `name_2`, ... when `name` is already in `used`; records the result.
pub fn unique_name(name: &str, used: &mut HashSet<String>) -> String {
    let unique = if used.contains(name) {
        (1..)
            .map(|n| format!("{name}_{n}"))
            .find(|candidate| !used.contains(candidate))
            .expect("an unused suffix exists")
    } else {
        name.to_string()
    };
    used.insert(unique.clone());
    unique
}

/// The name an unaliased select expression has by itself: a column's name.
fn natural_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(ident) => Some(ident.value.clone()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|part| part.value.clone()),
        Expr::Nested(inner) => natural_name(inner),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    use super::*;

    #[test]
    fn unnamed_expressions_are_named_like_ksqldb() {
        let cases = [
            (
                "SELECT ID, COUNT(*), SUM(X) AS TOTAL, T.REGION FROM T",
                "SELECT ID, COUNT(*) AS KSQL_COL_0, SUM(X) AS TOTAL, T.REGION FROM T",
            ),
            (
                "SELECT COUNT(*) AS KSQL_COL_0, MAX(X) FROM T",
                "SELECT COUNT(*) AS KSQL_COL_0, MAX(X) AS KSQL_COL_1 FROM T",
            ),
            (
                "SELECT 1 + 1 FROM T UNION ALL SELECT 2 FROM T",
                "SELECT 1 + 1 AS KSQL_COL_0 FROM T UNION ALL SELECT 2 FROM T",
            ),
            ("SELECT * FROM T", "SELECT * FROM T"),
        ];
        for (input, expected) in cases {
            let mut statements = Parser::parse_sql(&GenericDialect {}, input).expect("parses");
            let datafusion::sql::sqlparser::ast::Statement::Query(query) = &mut statements[0]
            else {
                panic!("{input} is a query");
            };
            name_select_items(query);
            assert_eq!(query.to_string(), expected, "{input}");
        }
    }

    #[test]
    fn duplicate_names_get_suffixes() {
        let mut used = HashSet::new();
        let names: Vec<String> = ["ID", "ID", "ID_1", "X", "ID"]
            .iter()
            .map(|name| unique_name(name, &mut used))
            .collect();
        assert_eq!(names, ["ID", "ID_1", "ID_1_1", "X", "ID_2"]);
    }
}
