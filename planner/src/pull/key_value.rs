//! Types in a pull query's WHERE clause: comparison checks and key values.
//!
//! ksqlDB rejects comparisons between incompatible types (`ID = '10'` on an INTEGER key) and
//! with `NULL` before it plans a query, and converts the values compared with key columns to
//! the key column's type, strictly (no narrowing). Both happen here, with ksqlDB's messages.

use std::ops::ControlFlow;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType as ArrowType, Schema};
use arrow::record_batch::RecordBatchOptions;
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::execution::context::ExecutionProps;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::physical_expr::create_physical_expr;
use parser::ast::DataType;
use sqlparser::ast::{BinaryOperator, Expr as SqlExpr, UnaryOperator, Value, visit_expressions};

use crate::catalog::{
    Catalog, ColumnDefinition, ROWOFFSET, ROWPARTITION, ROWTIME, SourceDefinition, WINDOWEND,
    WINDOWSTART,
};
use crate::expr::{ExprLowering, normalize_ident, number_literal};
use crate::expr::{KsqlText, comparable_operands, comparison_name, null_comparison_message};
use crate::types::{sql_type_name, to_arrow};
use crate::{PlanError, Result};

/// The type of a column of `source` as a query sees it, pseudo-columns included.
pub fn column_type(source: &SourceDefinition, name: &str) -> Option<DataType> {
    if let Some(column) = source.column(name) {
        return Some(column.data_type.clone());
    }
    match name {
        ROWTIME | ROWOFFSET => Some(DataType::Bigint),
        ROWPARTITION => Some(DataType::Int),
        WINDOWSTART | WINDOWEND if source.window.is_some() => Some(DataType::Bigint),
        _ => None,
    }
}

/// The column an expression directly references (`ID`, `T.ID`, `(ID)`), if it is one.
pub fn column_ref(expr: &SqlExpr, qualifiers: &[&str]) -> Option<String> {
    match expr {
        SqlExpr::Identifier(ident) => Some(normalize_ident(ident)),
        SqlExpr::CompoundIdentifier(parts) if parts.len() == 2 => {
            let qualifier = normalize_ident(&parts[0]);
            qualifiers
                .contains(&qualifier.as_str())
                .then(|| normalize_ident(&parts[1]))
        }
        SqlExpr::Nested(inner) => column_ref(inner, qualifiers),
        _ => None,
    }
}

/// True when an expression references any column.
pub fn has_column_ref(expr: &SqlExpr) -> bool {
    visit_expressions(expr, |node| match node {
        SqlExpr::Identifier(_) | SqlExpr::CompoundIdentifier(_) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// The type ksqlDB gives a comparison operand, where it is evident: a column or a literal.
#[derive(Debug, Clone, PartialEq)]
enum OperandType {
    Null,
    Known(DataType),
}

fn operand_type(
    expr: &SqlExpr,
    source: &SourceDefinition,
    qualifiers: &[&str],
) -> Result<Option<OperandType>> {
    if let Some(name) = column_ref(expr, qualifiers) {
        return match column_type(source, &name) {
            Some(data_type) => Ok(Some(OperandType::Known(data_type))),
            None => Err(PlanError::User(format!(
                "WHERE column '{name}' cannot be resolved."
            ))),
        };
    }
    let literal = match expr {
        SqlExpr::Value(value) => &value.value,
        SqlExpr::UnaryOp {
            op: UnaryOperator::Minus,
            expr: inner,
        } => match inner.as_ref() {
            SqlExpr::Value(value) if matches!(value.value, Value::Number(..)) => &value.value,
            _ => return Ok(None),
        },
        SqlExpr::Nested(inner) => return operand_type(inner, source, qualifiers),
        _ => return Ok(None),
    };
    Ok(match literal {
        Value::Null => Some(OperandType::Null),
        Value::SingleQuotedString(_) => Some(OperandType::Known(DataType::String)),
        Value::Boolean(_) => Some(OperandType::Known(DataType::Boolean)),
        Value::Number(text, _) => match number_literal(text)? {
            ScalarValue::Int32(_) => Some(OperandType::Known(DataType::Int)),
            ScalarValue::Int64(_) => Some(OperandType::Known(DataType::Bigint)),
            ScalarValue::Float64(_) => Some(OperandType::Known(DataType::Double)),
            ScalarValue::Decimal128(_, precision, scale) => {
                Some(OperandType::Known(DataType::Decimal {
                    precision,
                    scale: scale.max(0) as u8,
                }))
            }
            _ => None,
        },
        _ => None,
    })
}

/// Checks every comparison of the WHERE clause whose operands have evident types, with
/// ksqlDB's messages (`Error in WHERE expression: Cannot compare ...`).
pub fn check_comparisons(
    where_clause: &SqlExpr,
    source: &SourceDefinition,
    qualifiers: &[&str],
) -> Result<()> {
    let outcome = visit_expressions(where_clause, |node| {
        let SqlExpr::BinaryOp { left, op, right } = node else {
            return ControlFlow::Continue(());
        };
        if !matches!(
            op,
            BinaryOperator::Eq
                | BinaryOperator::NotEq
                | BinaryOperator::Lt
                | BinaryOperator::LtEq
                | BinaryOperator::Gt
                | BinaryOperator::GtEq
        ) {
            return ControlFlow::Continue(());
        }
        let types = operand_type(left, source, qualifiers)
            .and_then(|left| Ok((left, operand_type(right, source, qualifiers)?)));
        let message = match types {
            Err(error) => return ControlFlow::Break(error),
            Ok((Some(left_type), Some(right_type))) => {
                comparison_error(left, op, right, &left_type, &right_type)
            }
            Ok(_) => None,
        };
        match message {
            Some(message) => ControlFlow::Break(PlanError::User(format!(
                "Error in WHERE expression: {message}\nStatement: {}",
                KsqlText(where_clause)
            ))),
            None => ControlFlow::Continue(()),
        }
    });
    match outcome {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(error) => Err(error),
    }
}

fn comparison_error(
    left: &SqlExpr,
    op: &BinaryOperator,
    right: &SqlExpr,
    left_type: &OperandType,
    right_type: &OperandType,
) -> Option<String> {
    let name = |operand: &OperandType| match operand {
        OperandType::Null => "NULL".to_string(),
        OperandType::Known(data_type) => sql_type_name(data_type),
    };
    let arrow = |operand: &OperandType| match operand {
        OperandType::Null => Some(ArrowType::Null),
        OperandType::Known(data_type) => to_arrow(data_type).ok(),
    };
    let (left_arrow, right_arrow) = (arrow(left_type)?, arrow(right_type)?);
    match (left_type, right_type) {
        (OperandType::Null, _) | (_, OperandType::Null) => {
            Some(null_comparison_message(&left_arrow, op, &right_arrow))
        }
        (OperandType::Known(_), OperandType::Known(_))
            if !comparable_operands((left, &left_arrow), (right, &right_arrow), op) =>
        {
            Some(format!(
                "Cannot compare {} ({}) to {} ({}) with {}.",
                KsqlText(left),
                name(left_type),
                KsqlText(right),
                name(right_type),
                comparison_name(op).unwrap_or("EQUAL")
            ))
        }
        _ => None,
    }
}

/// Resolves the value a key column is compared with (a column-free expression) and converts
/// it to the key column's type. `comparison` is the comparison, for messages.
pub fn key_value(
    expr: &SqlExpr,
    column: &ColumnDefinition,
    catalog: &Catalog,
    comparison: &str,
) -> Result<ScalarValue> {
    let null_key = || PlanError::User(format!("Primary key columns can not be NULL: {comparison}"));
    if matches!(expr, SqlExpr::Value(value) if value.value == Value::Null) {
        return Err(null_key());
    }
    let empty = DFSchema::empty();
    let lowering = ExprLowering {
        schema: &empty,
        catalog,
        clause: "WHERE",
    };
    let value = match lowering.lower(expr)? {
        datafusion::logical_expr::Expr::Literal(value, _) => value,
        lowered => evaluate_constant(&lowered)?,
    };
    if value.is_null() {
        return Err(null_key());
    }
    coerce_key(&value, &column.data_type).ok_or_else(|| {
        PlanError::User(format!(
            "'{}' can not be converted to the type of the key column: {} {} KEY",
            java_text(&value),
            column.name,
            sql_type_name(&column.data_type)
        ))
    })
}

/// Evaluates a column-free expression.
fn evaluate_constant(expr: &datafusion::logical_expr::Expr) -> Result<ScalarValue> {
    let physical = create_physical_expr(
        expr,
        &DFSchema::empty(),
        &ExecutionProps::new(),
        &PhysicalPlanningContext::default(),
    )?;
    let batch = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .map_err(datafusion::error::DataFusionError::from)?;
    let array = physical.evaluate(&batch)?.into_array(1)?;
    Ok(ScalarValue::try_from_array(&array, 0)?)
}

/// A value converted to a key column's type the way ksqlDB's strict coercer does: same type,
/// or a widening between numbers.
fn coerce_key(value: &ScalarValue, data_type: &DataType) -> Option<ScalarValue> {
    let target = to_arrow(data_type).ok()?;
    let integer = |value: &ScalarValue| -> Option<i64> {
        match value {
            ScalarValue::Int8(Some(v)) => Some(i64::from(*v)),
            ScalarValue::Int16(Some(v)) => Some(i64::from(*v)),
            ScalarValue::Int32(Some(v)) => Some(i64::from(*v)),
            _ => None,
        }
    };
    match data_type {
        DataType::String => match value {
            ScalarValue::Utf8(Some(text))
            | ScalarValue::LargeUtf8(Some(text))
            | ScalarValue::Utf8View(Some(text)) => Some(ScalarValue::Utf8(Some(text.clone()))),
            _ => None,
        },
        DataType::Int => integer(value).map(|v| ScalarValue::Int32(Some(v as i32))),
        DataType::Bigint => match value {
            ScalarValue::Int64(Some(v)) => Some(ScalarValue::Int64(Some(*v))),
            other => integer(other).map(|v| ScalarValue::Int64(Some(v))),
        },
        DataType::Double => match value {
            ScalarValue::Int64(_)
            | ScalarValue::Decimal128(..)
            | ScalarValue::Float32(_)
            | ScalarValue::Float64(_) => value.cast_to(&target).ok(),
            other => integer(other).map(|v| ScalarValue::Float64(Some(v as f64))),
        },
        DataType::Decimal { .. } => match value {
            ScalarValue::Int64(_) | ScalarValue::Decimal128(..) => value.cast_to(&target).ok(),
            other => integer(other).and_then(|v| ScalarValue::Int64(Some(v)).cast_to(&target).ok()),
        },
        DataType::Boolean => matches!(value, ScalarValue::Boolean(Some(_))).then(|| value.clone()),
        _ if value.data_type() == target => Some(value.clone()),
        _ if matches!(
            value.data_type(),
            ArrowType::Struct(_) | ArrowType::List(_) | ArrowType::Binary
        ) =>
        {
            value.cast_to(&target).ok()
        }
        _ => None,
    }
}

/// A value as Java's `toString` prints it (ksqlDB quotes it in messages).
fn java_text(value: &ScalarValue) -> String {
    match value {
        ScalarValue::Utf8(Some(text))
        | ScalarValue::LargeUtf8(Some(text))
        | ScalarValue::Utf8View(Some(text)) => text.clone(),
        ScalarValue::Float64(Some(v)) if v.fract() == 0.0 && v.abs() < 1e7 => format!("{v:.1}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_convert_only_by_widening() {
        let decimal = ScalarValue::Decimal128(Some(80), 2, 1);
        let cases = [
            (
                ScalarValue::Int32(Some(10)),
                DataType::Int,
                Some(ScalarValue::Int32(Some(10))),
            ),
            (
                ScalarValue::Int32(Some(10)),
                DataType::Bigint,
                Some(ScalarValue::Int64(Some(10))),
            ),
            (
                ScalarValue::Int32(Some(10)),
                DataType::Double,
                Some(ScalarValue::Float64(Some(10.0))),
            ),
            (
                decimal.clone(),
                DataType::Double,
                Some(ScalarValue::Float64(Some(8.0))),
            ),
            (decimal, DataType::Int, None),
            (ScalarValue::Int64(Some(1 << 40)), DataType::Int, None),
            (ScalarValue::Utf8(Some("10".into())), DataType::Int, None),
            (ScalarValue::Int32(Some(10)), DataType::String, None),
            (
                ScalarValue::Utf8(Some("a".into())),
                DataType::String,
                Some(ScalarValue::Utf8(Some("a".into()))),
            ),
        ];
        for (value, data_type, expected) in cases {
            assert_eq!(
                coerce_key(&value, &data_type),
                expected,
                "{value:?} to {data_type:?}"
            );
        }
    }

    #[test]
    fn values_print_as_java_does() {
        let cases = [
            (ScalarValue::Utf8(Some("10".into())), "10"),
            (ScalarValue::Int32(Some(8)), "8"),
            (ScalarValue::Float64(Some(10.0)), "10.0"),
            (ScalarValue::Float64(Some(10.5)), "10.5"),
        ];
        for (value, expected) in cases {
            assert_eq!(java_text(&value), expected);
        }
    }
}
