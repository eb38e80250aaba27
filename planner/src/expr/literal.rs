//! Literals as ksqlDB types them.

use datafusion::common::ScalarValue;
use datafusion::logical_expr::Expr;
use sqlparser::ast::Value;

use super::unsupported;
use crate::{PlanError, Result};

/// A literal: integers are INT when they fit, else BIGINT; `1.5` is DECIMAL; `1E3` DOUBLE.
pub(super) fn lower_value(value: &Value, negate: bool) -> Result<Expr> {
    let scalar = match value {
        Value::Number(text, _) => {
            let text = if negate {
                format!("-{text}")
            } else {
                text.clone()
            };
            number_literal(&text)?
        }
        Value::SingleQuotedString(text) | Value::DoubleQuotedString(text) if !negate => {
            ScalarValue::Utf8(Some(text.clone()))
        }
        Value::Boolean(flag) if !negate => ScalarValue::Boolean(Some(*flag)),
        Value::Null if !negate => ScalarValue::Null,
        other => return unsupported(&other.to_string()),
    };
    Ok(Expr::Literal(scalar, None))
}

/// Parses a numeric literal as ksqlDB types it.
pub fn number_literal(text: &str) -> Result<ScalarValue> {
    if text.contains(['e', 'E']) {
        let value: f64 = text
            .parse()
            .map_err(|_| PlanError::User(format!("Invalid numeric literal: {text}")))?;
        if value.is_infinite() {
            return Err(PlanError::User(format!("Number overflows DOUBLE: {text}")));
        }
        return Ok(ScalarValue::Float64(Some(value)));
    }
    if let Some(point) = text.find('.') {
        let digits: String = text.chars().filter(|c| c.is_ascii_digit()).collect();
        let scale = (text.len() - point - 1) as i8;
        let unscaled: i128 = digits
            .parse::<i128>()
            .map_err(|_| PlanError::User(format!("Invalid numeric literal: {text}")))?;
        let unscaled = if text.starts_with('-') {
            -unscaled
        } else {
            unscaled
        };
        let trimmed = digits.trim_start_matches('0');
        let precision = (trimmed.len().max(scale as usize)).max(1) as u8;
        return Ok(ScalarValue::Decimal128(Some(unscaled), precision, scale));
    }
    match text.parse::<i64>() {
        Ok(value) if i32::try_from(value).is_ok() => Ok(ScalarValue::Int32(Some(value as i32))),
        Ok(value) => Ok(ScalarValue::Int64(Some(value))),
        Err(_) => Err(PlanError::User(format!("Invalid numeric literal: {text}"))),
    }
}
