//! Column values to JSON text, as ksqlDB's JSON serializer (Kafka Connect's `JsonConverter`
//! over Jackson) writes them.
//!
//! DOUBLE is written like Java's `Double.toString` (`1.0E10`; `"NaN"` as a string), DECIMAL
//! like `BigDecimal.toString` (keeps its scale: `1.10`), BYTES as base64, DATE/TIME/TIMESTAMP
//! as integers. Arrays are downcast once per batch; rows are written straight into bytes.

use arrow::array::{
    Array, AsArray, BinaryArray, BooleanArray, ListArray, MapArray, StringArray, StructArray,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float64Type, Int32Type, Int64Type, Time32MillisecondType,
    TimeUnit, TimestampMillisecondType,
};
use base64::Engine;

use super::decode::BASE64;
use super::scanner::needs_attention;
use crate::format::number::{write_i64, write_java_decimal, write_java_double};
use crate::{ExecError, Result};

/// One column of a batch, downcast, ready to write any of its rows as JSON.
pub(super) struct JsonColumn<'a> {
    nulls: Option<&'a NullBuffer>,
    values: Values<'a>,
}

enum Values<'a> {
    Boolean(&'a BooleanArray),
    I32(&'a [i32]),
    I64(&'a [i64]),
    F64(&'a [f64]),
    Decimal(&'a [i128], i8),
    Utf8(&'a StringArray),
    Binary(&'a BinaryArray),
    List(&'a ListArray, Box<JsonColumn<'a>>),
    Map(&'a MapArray, &'a StringArray, Box<JsonColumn<'a>>),
    /// Each field with its `"NAME":` prefix.
    Struct(Vec<(Vec<u8>, JsonColumn<'a>)>),
}

impl<'a> JsonColumn<'a> {
    pub(super) fn new(array: &'a dyn Array) -> Result<Self> {
        let mismatch = || {
            ExecError::Internal(format!(
                "JSON encoder got a {} array it cannot write",
                array.data_type()
            ))
        };
        let values = match array.data_type() {
            DataType::Boolean => Values::Boolean(array.as_boolean_opt().ok_or_else(mismatch)?),
            DataType::Int32 => Values::I32(
                array
                    .as_primitive_opt::<Int32Type>()
                    .ok_or_else(mismatch)?
                    .values(),
            ),
            DataType::Date32 => Values::I32(
                array
                    .as_primitive_opt::<Date32Type>()
                    .ok_or_else(mismatch)?
                    .values(),
            ),
            DataType::Time32(TimeUnit::Millisecond) => Values::I32(
                array
                    .as_primitive_opt::<Time32MillisecondType>()
                    .ok_or_else(mismatch)?
                    .values(),
            ),
            DataType::Int64 => Values::I64(
                array
                    .as_primitive_opt::<Int64Type>()
                    .ok_or_else(mismatch)?
                    .values(),
            ),
            DataType::Timestamp(TimeUnit::Millisecond, None) => Values::I64(
                array
                    .as_primitive_opt::<TimestampMillisecondType>()
                    .ok_or_else(mismatch)?
                    .values(),
            ),
            DataType::Float64 => Values::F64(
                array
                    .as_primitive_opt::<Float64Type>()
                    .ok_or_else(mismatch)?
                    .values(),
            ),
            DataType::Decimal128(_, scale) => Values::Decimal(
                array
                    .as_primitive_opt::<Decimal128Type>()
                    .ok_or_else(mismatch)?
                    .values(),
                *scale,
            ),
            DataType::Utf8 => Values::Utf8(array.as_string_opt::<i32>().ok_or_else(mismatch)?),
            DataType::Binary => Values::Binary(array.as_binary_opt::<i32>().ok_or_else(mismatch)?),
            DataType::List(_) => {
                let list = array.as_list_opt::<i32>().ok_or_else(mismatch)?;
                Values::List(list, Box::new(JsonColumn::new(list.values().as_ref())?))
            }
            DataType::Map(_, _) => {
                let map = array.as_map_opt().ok_or_else(mismatch)?;
                let keys = map.keys().as_string_opt::<i32>().ok_or_else(|| {
                    ExecError::Internal("JSON encoder got a MAP without STRING keys".to_string())
                })?;
                Values::Map(map, keys, Box::new(JsonColumn::new(map.values().as_ref())?))
            }
            DataType::Struct(fields) => {
                let structs: &StructArray = array.as_struct_opt().ok_or_else(mismatch)?;
                let mut columns = Vec::with_capacity(fields.len());
                for (field, column) in fields.iter().zip(structs.columns()) {
                    let mut prefix = Vec::with_capacity(field.name().len() + 3);
                    write_json_string(field.name(), &mut prefix);
                    prefix.push(b':');
                    columns.push((prefix, JsonColumn::new(column.as_ref())?));
                }
                Values::Struct(columns)
            }
            _ => return Err(mismatch()),
        };
        Ok(Self {
            nulls: array.nulls(),
            values,
        })
    }

    /// Whether the value at `row` is null.
    pub(super) fn is_null(&self, row: usize) -> bool {
        self.nulls.is_some_and(|nulls| nulls.is_null(row))
    }

    /// Appends the value at `row` (`null` for nulls).
    pub(super) fn write(&self, row: usize, out: &mut Vec<u8>) {
        if self.is_null(row) {
            out.extend_from_slice(b"null");
            return;
        }
        match &self.values {
            Values::Boolean(values) => {
                out.extend_from_slice(if values.value(row) { b"true" } else { b"false" })
            }
            Values::I32(values) => write_i64(out, i64::from(values[row])),
            Values::I64(values) => write_i64(out, values[row]),
            Values::F64(values) => {
                let value = values[row];
                if value.is_finite() {
                    write_java_double(out, value);
                } else {
                    // Jackson quotes the non-numeric numbers.
                    out.push(b'"');
                    write_java_double(out, value);
                    out.push(b'"');
                }
            }
            Values::Decimal(values, scale) => write_java_decimal(out, values[row], *scale),
            Values::Utf8(values) => write_json_string(values.value(row), out),
            Values::Binary(values) => {
                out.push(b'"');
                write_base64(values.value(row), out);
                out.push(b'"');
            }
            Values::List(list, items) => {
                let offsets = list.value_offsets();
                out.push(b'[');
                for (position, item) in (offsets[row]..offsets[row + 1]).enumerate() {
                    if position > 0 {
                        out.push(b',');
                    }
                    items.write(item as usize, out);
                }
                out.push(b']');
            }
            Values::Map(map, keys, values) => {
                let offsets = map.value_offsets();
                out.push(b'{');
                for (position, entry) in (offsets[row]..offsets[row + 1]).enumerate() {
                    if position > 0 {
                        out.push(b',');
                    }
                    write_json_string(keys.value(entry as usize), out);
                    out.push(b':');
                    values.write(entry as usize, out);
                }
                out.push(b'}');
            }
            Values::Struct(fields) => write_object(fields, row, out),
        }
    }
}

/// Appends `{"A":..,"B":..}` for `row` of the fields.
pub(super) fn write_object(fields: &[(Vec<u8>, JsonColumn<'_>)], row: usize, out: &mut Vec<u8>) {
    out.push(b'{');
    for (index, (prefix, column)) in fields.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.extend_from_slice(prefix);
        column.write(row, out);
    }
    out.push(b'}');
}

/// Appends a JSON string with Jackson's escapes: `\"`, `\\`, `\b \t \n \f \r`, and
/// `\u00XX` for other control characters; everything else as UTF-8.
pub(crate) fn write_json_string(value: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = value.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut index = 0;
    while index < bytes.len() {
        // Plain characters eight at a time.
        if let Some(chunk) = bytes.get(index..index + 8)
            && !needs_attention(u64::from_le_bytes(chunk.try_into().expect("eight bytes")))
        {
            index += 8;
            continue;
        }
        let byte = bytes[index];
        index += 1;
        if byte >= 0x20 && byte != b'"' && byte != b'\\' {
            continue;
        }
        let index = index - 1;
        out.extend_from_slice(&bytes[start..index]);
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x0A => out.extend_from_slice(b"\\n"),
            0x0C => out.extend_from_slice(b"\\f"),
            0x0D => out.extend_from_slice(b"\\r"),
            control => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(control >> 4)],
                HEX[usize::from(control & 0xF)],
            ]),
        }
        start = index + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends the padded standard base64 of `value`.
pub(crate) fn write_base64(value: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    let len = base64::encoded_len(value.len(), true).expect("base64 length fits in usize");
    out.resize(start + len, 0);
    let written = BASE64
        .encode_slice(value, &mut out[start..])
        .expect("the buffer has the encoded length");
    out.truncate(start + written);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_like_jackson() {
        let cases = [
            ("plain", "\"plain\""),
            ("a\"b\\c/d", "\"a\\\"b\\\\c/d\""),
            ("\u{8}\u{c}\n\r\t", "\"\\b\\f\\n\\r\\t\""),
            ("\u{1}\u{1f}", "\"\\u0001\\u001F\""),
            ("é€😀\u{7f}", "\"é€😀\u{7f}\""),
        ];
        for (value, expected) in cases {
            let mut out = Vec::new();
            write_json_string(value, &mut out);
            assert_eq!(String::from_utf8(out).expect("utf-8"), expected);
        }
    }

    #[test]
    fn bytes_are_base64() {
        let mut out = Vec::new();
        write_base64(b"variations", &mut out);
        assert_eq!(out, b"dmFyaWF0aW9ucw==");
        out.clear();
        write_base64(b"", &mut out);
        assert!(out.is_empty());
    }
}
