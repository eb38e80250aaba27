//! Decoded keys and values against the expected JSON: objects match structs and maps field
//! by field (exact name, then upper-cased), arrays element-wise, numbers by the column type
//! (INT/BIGINT exact, DOUBLE within 1e-6, DECIMAL by digits and scale), strings exactly (or
//! as a DECIMAL's text). Whole records are compared in `compare`.

use parser::ast::DataType;

use super::{CompareOptions, Hint};
use crate::json::Json;

/// Tolerance of DOUBLE comparisons.
const DOUBLE_TOLERANCE: f64 = 1e-6;

/// Compares a decoded value with the expected one. The error starts with the path of the
/// difference (`.NAME[2]: ...`), or `: ...` at the top.
pub fn values_match(
    expected: &Json,
    actual: &Json,
    hint: Hint<'_>,
    options: CompareOptions,
) -> Result<(), String> {
    let differ = || Err(format!(": expected {expected}, got {actual}"));
    if let Hint::Row(columns) = hint {
        let wrapped = match actual {
            Json::Object(members) => {
                columns.len() != 1
                    || (members.len() == 1 && members[0].0.eq_ignore_ascii_case(&columns[0].0))
            }
            _ => false,
        };
        if !wrapped {
            let hint = match columns {
                [(_, data_type)] => Hint::Type(data_type),
                _ => Hint::Unknown,
            };
            return values_match(expected, actual, hint, options);
        }
    }
    let data_type = match hint {
        Hint::Type(data_type) => Some(data_type),
        _ => None,
    };
    match (expected, actual) {
        (Json::Null, Json::Null) => Ok(()),
        (Json::Bool(e), Json::Bool(a)) if e == a => Ok(()),
        (Json::String(e), Json::String(a)) if e == a => Ok(()),
        (Json::String(e), Json::Number(a)) => match data_type {
            Some(DataType::Decimal { scale, .. }) if decimals_equal(e, a, Some(*scale), false) => {
                Ok(())
            }
            None if decimals_equal(e, a, None, false) => Ok(()),
            _ => differ(),
        },
        (Json::Number(e), Json::Number(a) | Json::String(a)) => {
            if numbers_match(e, a, matches!(actual, Json::Number(_)), data_type, options) {
                Ok(())
            } else {
                differ()
            }
        }
        (Json::Array(e), Json::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!(
                    ": expected {} elements, got {} ({expected} vs {actual})",
                    e.len(),
                    a.len()
                ));
            }
            let element_hint = match data_type {
                Some(DataType::Array(element)) => Hint::Type(element),
                _ => Hint::Unknown,
            };
            for (index, (e, a)) in e.iter().zip(a).enumerate() {
                values_match(e, a, element_hint, options)
                    .map_err(|difference| format!("[{index}]{difference}"))?;
            }
            Ok(())
        }
        (Json::Object(e), Json::Object(a)) => {
            if e.len() != a.len() {
                return Err(format!(
                    ": expected {} fields, got {} ({expected} vs {actual})",
                    e.len(),
                    a.len()
                ));
            }
            for (name, e_value) in e {
                let upper = name.to_uppercase();
                let Some((actual_name, a_value)) = a
                    .iter()
                    .find(|(member, _)| member == name)
                    .or_else(|| a.iter().find(|(member, _)| *member == upper))
                else {
                    return Err(format!(": field {name} missing in {actual}"));
                };
                let field_hint = match (hint, data_type) {
                    (Hint::Row(columns), _) => field_type(columns, actual_name),
                    (_, Some(DataType::Struct(fields))) => field_type(fields, actual_name),
                    (_, Some(DataType::Map(_, value))) => Hint::Type(value),
                    _ => Hint::Unknown,
                };
                values_match(e_value, a_value, field_hint, options)
                    .map_err(|difference| format!(".{name}{difference}"))?;
            }
            Ok(())
        }
        _ => differ(),
    }
}

fn field_type<'a>(fields: &'a [(String, DataType)], name: &str) -> Hint<'a> {
    fields
        .iter()
        .find(|(field, _)| field == name)
        .or_else(|| {
            fields
                .iter()
                .find(|(field, _)| field.eq_ignore_ascii_case(name))
        })
        .map_or(Hint::Unknown, |(_, data_type)| Hint::Type(data_type))
}

/// An expected number against an actual number (or string, which only matches when every
/// number is compared as a double).
fn numbers_match(
    expected: &str,
    actual: &str,
    actual_is_number: bool,
    data_type: Option<&DataType>,
    options: CompareOptions,
) -> bool {
    if !options.exact_numeric {
        return doubles_close(expected, actual);
    }
    if !actual_is_number {
        return false;
    }
    match data_type {
        Some(DataType::Double) => doubles_close(expected, actual),
        Some(DataType::Decimal { scale, .. }) => {
            decimals_equal(expected, actual, Some(*scale), true)
        }
        Some(
            DataType::Int
            | DataType::Bigint
            | DataType::Timestamp
            | DataType::Date
            | DataType::Time,
        ) => same_value(expected, actual),
        _ => {
            same_value(expected, actual)
                || (!is_integer_literal(actual) && doubles_close(expected, actual))
        }
    }
}

fn doubles_close(expected: &str, actual: &str) -> bool {
    match (expected.parse::<f64>(), actual.parse::<f64>()) {
        (Ok(e), Ok(a)) => e == a || (e - a).abs() < DOUBLE_TOLERANCE,
        _ => false,
    }
}

fn is_integer_literal(text: &str) -> bool {
    !text.contains(['.', 'e', 'E'])
}

/// A decimal number as sign, digits without leading zeros, and scale.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    digits: String,
    scale: i64,
}

impl Decimal {
    fn parse(text: &str) -> Option<Decimal> {
        let text = text.trim();
        let (negative, text) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (mantissa, exponent) = match text.find(['e', 'E']) {
            Some(position) => (&text[..position], text[position + 1..].parse::<i64>().ok()?),
            None => (text, 0),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if whole.is_empty() && fraction.is_empty()
            || !whole
                .bytes()
                .chain(fraction.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let digits = format!("{whole}{fraction}");
        let digits = digits.trim_start_matches('0');
        let digits = if digits.is_empty() { "0" } else { digits };
        Some(Decimal {
            negative: negative && digits != "0",
            digits: digits.to_string(),
            scale: fraction.len() as i64 - exponent,
        })
    }

    /// The same value with at least `scale` fraction digits.
    fn with_min_scale(mut self, scale: i64) -> Decimal {
        if self.scale < scale {
            if self.digits != "0" {
                self.digits
                    .extend(std::iter::repeat_n('0', (scale - self.scale) as usize));
            }
            self.scale = scale;
        }
        self
    }

    /// The same value with no trailing fraction zeros (for value equality).
    fn normalized(mut self) -> Decimal {
        while self.scale > 0 && self.digits.len() > 1 && self.digits.ends_with('0') {
            self.digits.pop();
            self.scale -= 1;
        }
        if self.digits == "0" {
            self.scale = 0;
        }
        self
    }
}

/// Numeric equality ignoring scale (`1` equals `1.0`).
fn same_value(expected: &str, actual: &str) -> bool {
    match (Decimal::parse(expected), Decimal::parse(actual)) {
        (Some(e), Some(a)) => e.normalized() == a.normalized(),
        _ => false,
    }
}

/// DECIMAL equality: digits and scale equal, the actual value taken at (at least) the
/// column's scale. An integer literal matches only a scale-0 decimal when `strict_integer`.
fn decimals_equal(
    expected: &str,
    actual: &str,
    column_scale: Option<u8>,
    strict_integer: bool,
) -> bool {
    let (Some(e), Some(a)) = (Decimal::parse(expected), Decimal::parse(actual)) else {
        return false;
    };
    let a = a.with_min_scale(column_scale.map_or(0, i64::from));
    if strict_integer && is_integer_literal(expected) {
        return a.scale == 0 && e.normalized() == a.normalized();
    }
    e == a
}
