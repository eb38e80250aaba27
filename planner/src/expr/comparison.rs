//! ksqlDB's rules for comparisons: which operand types it compares, and its messages.

use arrow::datatypes::DataType as ArrowType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::expr::Case;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};
use sqlparser::ast::{BinaryOperator, Expr as SqlExpr};

use super::operator_symbol;
use crate::Result;
use crate::catalog::{ROWTIME, WINDOWEND, WINDOWSTART};
use crate::types::arrow_type_name;

/// ksqlDB's message for a comparison with a `NULL` literal: `INTEGER = NULL`.
pub(crate) fn null_comparison_message(
    left: &ArrowType,
    op: &BinaryOperator,
    right: &ArrowType,
) -> String {
    let name = |data_type: &ArrowType| match data_type {
        ArrowType::Null => "NULL".to_string(),
        other => arrow_type_name(other),
    };
    format!(
        "Comparison with NULL not supported: {} {} {}\nUse 'IS NULL' or 'IS NOT NULL' instead.",
        name(left),
        operator_symbol(op).unwrap_or("="),
        name(right)
    )
}

/// Whether ksqlDB compares these operands (`comparable`), or converts the string compared
/// with `ROWTIME` or a window bound to a time.
pub(crate) fn comparable_operands(
    (left_sql, left): (&SqlExpr, &ArrowType),
    (right_sql, right): (&SqlExpr, &ArrowType),
    op: &BinaryOperator,
) -> bool {
    let is_time_column = |sql: &SqlExpr| {
        crate::query::natural_name(sql)
            .is_some_and(|name| [ROWTIME, WINDOWSTART, WINDOWEND].contains(&name.as_str()))
    };
    comparable(left, right, op) || is_time_column(left_sql) || is_time_column(right_sql)
}

/// ksqlDB's name of a comparison operator.
pub(crate) fn comparison_name(op: &BinaryOperator) -> Option<&'static str> {
    Some(match op {
        BinaryOperator::Eq => "EQUAL",
        BinaryOperator::NotEq => "NOT_EQUAL",
        BinaryOperator::Lt => "LESS_THAN",
        BinaryOperator::LtEq => "LESS_THAN_OR_EQUAL",
        BinaryOperator::Gt => "GREATER_THAN",
        BinaryOperator::GtEq => "GREATER_THAN_OR_EQUAL",
        _ => return None,
    })
}

/// The kinds of values ksqlDB compares with each other.
#[derive(PartialEq, Eq)]
enum Comparable {
    Number,
    Text,
    Time,
    Boolean,
    Bytes,
    /// Arrays, maps and structs: (in)equality with the same type only.
    Nested,
    /// Null, and types ksqlDB has no rule for: compared with anything.
    Any,
}

fn comparable_kind(data_type: &ArrowType) -> Comparable {
    match data_type {
        t if t.is_numeric() => Comparable::Number,
        ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View => Comparable::Text,
        ArrowType::Timestamp(..) | ArrowType::Date32 | ArrowType::Date64 => Comparable::Time,
        ArrowType::Time32(_) | ArrowType::Time64(_) => Comparable::Time,
        ArrowType::Boolean => Comparable::Boolean,
        ArrowType::Binary | ArrowType::LargeBinary | ArrowType::BinaryView => Comparable::Bytes,
        ArrowType::List(_)
        | ArrowType::LargeList(_)
        | ArrowType::Map(..)
        | ArrowType::Struct(_) => Comparable::Nested,
        _ => Comparable::Any,
    }
}

/// Whether ksqlDB compares values of these types with `op`.
fn comparable(left: &ArrowType, right: &ArrowType, op: &BinaryOperator) -> bool {
    let (left_kind, right_kind) = (comparable_kind(left), comparable_kind(right));
    match (left_kind, right_kind) {
        (Comparable::Any, _) | (_, Comparable::Any) => true,
        (Comparable::Nested, Comparable::Nested) => {
            matches!(op, BinaryOperator::Eq | BinaryOperator::NotEq)
        }
        (Comparable::Time, Comparable::Text) | (Comparable::Text, Comparable::Time) => true,
        (left_kind, right_kind) => left_kind == right_kind,
    }
}

/// ksqlDB's comparisons are false, not null, when an operand is null (`NULL = 1` is false, so
/// `NOT (x = 1)` holds for a null `x`). Every comparison of `expr` is made so, except where
/// false and null decide alike: at the top of a filter (`filter`: WHERE, HAVING, join
/// criteria) or of a `CASE WHEN` condition, and under their ANDs and ORs, where it is left as
/// DataFusion compares.
pub(crate) fn comparisons_false_on_null(expr: Expr, filter: bool) -> Result<Expr> {
    Ok(match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right })
            if is_comparison_operator(op)
                || (filter && matches!(op, Operator::And | Operator::Or)) =>
        {
            let operands_filter = filter && !is_comparison_operator(op);
            let binary = Expr::BinaryExpr(BinaryExpr::new(
                Box::new(comparisons_false_on_null(*left, operands_filter)?),
                op,
                Box::new(comparisons_false_on_null(*right, operands_filter)?),
            ));
            if is_comparison_operator(op) && !filter {
                Expr::IsTrue(Box::new(binary))
            } else {
                binary
            }
        }
        Expr::Case(Case {
            expr: operand,
            when_then_expr,
            else_expr,
        }) => {
            let searched = operand.is_none();
            Expr::Case(Case {
                expr: operand
                    .map(|operand| comparisons_false_on_null(*operand, false).map(Box::new))
                    .transpose()?,
                when_then_expr: when_then_expr
                    .into_iter()
                    .map(|(when, then)| {
                        Ok((
                            Box::new(comparisons_false_on_null(*when, searched)?),
                            Box::new(comparisons_false_on_null(*then, false)?),
                        ))
                    })
                    .collect::<Result<_>>()?,
                else_expr: else_expr
                    .map(|result| comparisons_false_on_null(*result, false).map(Box::new))
                    .transpose()?,
            })
        }
        other => {
            other
                .map_children(|child| {
                    Ok(Transformed::yes(
                        comparisons_false_on_null(child, false)
                            .map_err(|error| DataFusionError::External(Box::new(error)))?,
                    ))
                })?
                .data
        }
    })
}

fn is_comparison_operator(op: Operator) -> bool {
    matches!(
        op,
        Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
    )
}

#[cfg(test)]
mod tests {
    use datafusion::logical_expr::{col, lit, when};

    use super::*;

    #[test]
    fn comparisons_are_false_on_null_outside_filter_positions() {
        let compare = || col("a").eq(lit(1));
        let cases = [
            // A projected comparison, and one under NOT even in a filter.
            (compare(), false, "a = Int32(1) IS TRUE"),
            (
                Expr::Not(Box::new(compare())),
                true,
                "NOT a = Int32(1) IS TRUE",
            ),
            // Filters and their ANDs / ORs keep DataFusion's comparison.
            (
                compare().or(col("b").lt(lit(2))),
                true,
                "a = Int32(1) OR b < Int32(2)",
            ),
            // A CASE WHEN condition is a filter position, its result is not.
            (
                when(compare(), col("b").gt(lit(0)))
                    .otherwise(lit(false))
                    .expect("case"),
                false,
                "CASE WHEN a = Int32(1) THEN b > Int32(0) IS TRUE ELSE Boolean(false) END",
            ),
        ];
        for (expr, filter, expected) in cases {
            let rewritten = comparisons_false_on_null(expr, filter).expect("rewrites");
            assert_eq!(rewritten.to_string(), expected);
        }
    }
}
