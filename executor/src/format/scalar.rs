//! Single values of the schema-driven binary formats (AVRO, PROTOBUF): what their decoders
//! read, written into a column of the planner's type with ksqlDB's coercions (an Avro `int`
//! read into a STRING column is its text, a `float` into DOUBLE widens, ...).
//!
//! The encoders take the same values out of Arrow columns (`arrow_view`).

use arrow::datatypes::{DataType, TimeUnit};

use super::number::{DecimalText, write_i64, write_java_decimal, write_java_double};
use super::writer::ColumnWriter;

/// One scalar value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Scalar<'a> {
    Null,
    Bool(bool),
    /// Any integer (Avro int/long, protobuf integer types, INT, BIGINT).
    Int(i64),
    Float(f64),
    Str(&'a str),
    Bytes(&'a [u8]),
    /// Unscaled value and scale.
    Decimal(i128, i8),
    /// Days since the epoch.
    Date(i32),
    /// Milliseconds of the day.
    Time(i64),
    /// Milliseconds since the epoch.
    Timestamp(i64),
}

impl Scalar<'_> {
    /// The value as text, for a STRING column or field.
    pub(super) fn to_text(self) -> Option<String> {
        let mut out = Vec::new();
        match self {
            Self::Null => return None,
            Self::Bool(flag) => return Some(flag.to_string()),
            Self::Int(value) | Self::Time(value) | Self::Timestamp(value) => {
                write_i64(&mut out, value)
            }
            Self::Date(value) => write_i64(&mut out, i64::from(value)),
            Self::Float(value) => write_java_double(&mut out, value),
            Self::Str(text) => return Some(text.to_string()),
            Self::Bytes(bytes) => return Some(String::from_utf8_lossy(bytes).into_owned()),
            Self::Decimal(unscaled, scale) => write_java_decimal(&mut out, unscaled, scale),
        }
        Some(String::from_utf8_lossy(&out).into_owned())
    }

    /// The value as an integer, for integer columns or fields.
    pub(super) fn to_i64(self) -> Option<i64> {
        match self {
            Self::Int(value) | Self::Time(value) | Self::Timestamp(value) => Some(value),
            Self::Date(value) => Some(i64::from(value)),
            Self::Float(value) => Some(value as i64),
            Self::Str(text) => text.trim().parse().ok(),
            Self::Decimal(unscaled, scale) => Some(rescale(unscaled, scale, 0) as i64),
            Self::Bool(_) | Self::Bytes(_) | Self::Null => None,
        }
    }

    /// The value as a double.
    pub(super) fn to_f64(self) -> Option<f64> {
        match self {
            Self::Float(value) => Some(value),
            Self::Int(value) | Self::Time(value) | Self::Timestamp(value) => Some(value as f64),
            Self::Date(value) => Some(f64::from(value)),
            Self::Str(text) => text.trim().parse().ok(),
            Self::Decimal(unscaled, scale) => Some(unscaled as f64 / 10f64.powi(i32::from(scale))),
            Self::Bool(_) | Self::Bytes(_) | Self::Null => None,
        }
    }

    /// The unscaled value at `scale` of a `DECIMAL(precision, scale)`.
    pub(super) fn to_decimal(self, precision: u8, scale: i8) -> Result<i128, String> {
        let text = match self {
            Self::Decimal(unscaled, own) => {
                let mut out = Vec::new();
                write_java_decimal(&mut out, unscaled, own);
                String::from_utf8_lossy(&out).into_owned()
            }
            Self::Float(value) => {
                let mut out = Vec::new();
                write_java_double(&mut out, value);
                String::from_utf8_lossy(&out).into_owned()
            }
            other => other
                .to_text()
                .filter(|_| !matches!(other, Self::Bool(_) | Self::Bytes(_)))
                .ok_or_else(|| format!("cannot convert {} to DECIMAL", other.kind()))?,
        };
        DecimalText::parse(text.trim())
            .ok_or_else(|| format!("cannot convert '{text}' to DECIMAL"))?
            .to_decimal(precision, scale)
    }

    fn kind(self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "a boolean",
            Self::Int(_) => "an integer",
            Self::Float(_) => "a floating point number",
            Self::Str(_) => "a string",
            Self::Bytes(_) => "bytes",
            Self::Decimal(..) => "a decimal",
            Self::Date(_) => "a date",
            Self::Time(_) => "a time",
            Self::Timestamp(_) => "a timestamp",
        }
    }
}

/// `unscaled × 10^(to − from)`, truncating toward zero.
pub(super) fn rescale(unscaled: i128, from: i8, to: i8) -> i128 {
    let difference = i32::from(to) - i32::from(from);
    if difference >= 0 {
        unscaled.saturating_mul(10i128.saturating_pow(difference as u32))
    } else {
        unscaled / 10i128.saturating_pow((-difference) as u32)
    }
}

/// Writes `value` into a column of `data_type`, converting like ksqlDB's deserializers do.
pub(super) fn write_scalar(
    value: Scalar<'_>,
    data_type: &DataType,
    writer: &mut ColumnWriter,
) -> Result<(), String> {
    let cannot = || {
        format!(
            "cannot convert {} to {}",
            value.kind(),
            planner::types::arrow_type_name(data_type)
        )
    };
    if value == Scalar::Null {
        writer.push_null();
        return Ok(());
    }
    match data_type {
        DataType::Boolean => match value {
            Scalar::Bool(flag) => writer.push_bool(flag),
            Scalar::Str(text) if text.eq_ignore_ascii_case("true") => writer.push_bool(true),
            Scalar::Str(text) if text.eq_ignore_ascii_case("false") => writer.push_bool(false),
            _ => return Err(cannot()),
        },
        DataType::Int32 => writer.push_i32(value.to_i64().ok_or_else(cannot)? as i32),
        DataType::Int64 => writer.push_i64(value.to_i64().ok_or_else(cannot)?),
        DataType::Float64 => writer.push_f64(value.to_f64().ok_or_else(cannot)?),
        DataType::Decimal128(precision, scale) => {
            writer.push_i128(value.to_decimal(*precision, *scale)?)
        }
        DataType::Utf8 => {
            let text = value.to_text().ok_or_else(cannot)?;
            writer.push_bytes(text.as_bytes());
        }
        DataType::Binary => match value {
            Scalar::Bytes(bytes) => writer.push_bytes(bytes),
            Scalar::Str(text) => writer.push_bytes(text.as_bytes()),
            _ => return Err(cannot()),
        },
        DataType::Date32 => match value {
            Scalar::Date(days) => writer.push_i32(days),
            Scalar::Int(days) => writer.push_i32(days as i32),
            Scalar::Timestamp(millis) => writer.push_i32(millis.div_euclid(86_400_000) as i32),
            _ => return Err(cannot()),
        },
        DataType::Time32(TimeUnit::Millisecond) => match value {
            Scalar::Time(millis) | Scalar::Int(millis) => writer.push_i32(millis as i32),
            Scalar::Str(text) => writer.push_i32(text.trim().parse().map_err(|_| cannot())?),
            _ => return Err(cannot()),
        },
        DataType::Timestamp(TimeUnit::Millisecond, _) => match value {
            Scalar::Timestamp(millis) | Scalar::Int(millis) => writer.push_i64(millis),
            Scalar::Date(days) => writer.push_i64(i64::from(days) * 86_400_000),
            Scalar::Str(text) => writer.push_i64(text.trim().parse().map_err(|_| cannot())?),
            _ => return Err(cannot()),
        },
        _ => return Err(cannot()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use arrow::array::Array;
    use serde_json::{Value, json};

    use super::*;
    use crate::format::arrow_value_to_json;

    #[test]
    fn scalars_coerce_into_columns_like_ksqldb() {
        let cases: Vec<(Scalar<'_>, DataType, Result<Value, &str>)> = vec![
            (Scalar::Int(10), DataType::Utf8, Ok(json!("10"))),
            (Scalar::Float(4.0), DataType::Float64, Ok(json!(4.0))),
            (Scalar::Float(1.5), DataType::Utf8, Ok(json!("1.5"))),
            (Scalar::Int(7), DataType::Int64, Ok(json!(7))),
            (Scalar::Str(" 12 "), DataType::Int32, Ok(json!(12))),
            (
                Scalar::Decimal(1001, 2),
                DataType::Decimal128(4, 2),
                Ok(json!(10.01)),
            ),
            (Scalar::Decimal(1001, 2), DataType::Utf8, Ok(json!("10.01"))),
            (Scalar::Str("HEARTS"), DataType::Utf8, Ok(json!("HEARTS"))),
            (
                Scalar::Str("1"),
                DataType::Time32(TimeUnit::Millisecond),
                Ok(json!(1)),
            ),
            (
                Scalar::Bool(true),
                DataType::Int32,
                Err("cannot convert a boolean to INTEGER"),
            ),
            (
                Scalar::Str("x"),
                DataType::Decimal128(4, 2),
                Err("cannot convert 'x'"),
            ),
            (Scalar::Null, DataType::Int32, Ok(json!(null))),
        ];
        for (value, data_type, expected) in cases {
            let mut writer = ColumnWriter::new(&data_type).expect("supported");
            match (write_scalar(value, &data_type, &mut writer), expected) {
                (Ok(()), Ok(expected)) => {
                    let array = writer.finish();
                    assert_eq!(array.len(), 1);
                    let actual = arrow_value_to_json(array.as_ref(), 0);
                    assert_eq!(actual, expected, "{value:?} as {data_type}");
                }
                (Err(error), Err(expected)) => assert!(error.starts_with(expected), "{error}"),
                (actual, expected) => panic!("{value:?}: {actual:?} vs {expected:?}"),
            }
        }
        assert_eq!(rescale(12345, 3, 1), 123);
        assert_eq!(rescale(-5, 0, 2), -500);
    }
}
