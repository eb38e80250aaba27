//! The runner's own Avro binary serde between corpus JSON and payload bodies (after the
//! wire prefix), driven by a registered schema, like the Avro serdes of ksqlDB's harness.
//!
//! JSON values are coerced as the harness does: numbers into strings, numeric strings into
//! numbers, base64 into bytes; record fields are matched by name, then ignoring case, and
//! missing ones take their default or null. Decoding gives records as objects with the
//! schema's field names, bytes as base64 and decimals with their scale.

use planner::schema_registry::avro::{AvroRecord, AvroSchema};
use planner::schema_registry::json_tree::JsonTree;

use super::double_json;
use crate::base64;
use crate::json::Json;

/// Serializes `value` with `schema`.
pub fn encode(schema: &AvroSchema, value: &Json) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    write(schema, value, &mut out)?;
    Ok(out)
}

/// Deserializes a body written with `schema`.
pub fn decode(schema: &AvroSchema, bytes: &[u8]) -> Result<Json, String> {
    let mut reader = Reader { bytes, position: 0 };
    reader.value(schema)
}

fn write_long(value: i64, out: &mut Vec<u8>) {
    let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
    loop {
        let byte = (zigzag & 0x7f) as u8;
        zigzag >>= 7;
        if zigzag == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn write_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    write_long(bytes.len() as i64, out);
    out.extend_from_slice(bytes);
}

fn integer(value: &Json) -> Result<i64, String> {
    match value {
        Json::Number(text) | Json::String(text) => {
            let text = text.trim();
            text.parse::<i64>()
                .ok()
                .or_else(|| text.parse::<f64>().ok().map(|number| number as i64))
                .ok_or_else(|| format!("{value} is not an integer"))
        }
        other => Err(format!("{other} is not an integer")),
    }
}

fn float(value: &Json) -> Result<f64, String> {
    value
        .as_f64()
        .ok_or_else(|| format!("{value} is not a number"))
}

/// Whether a union member can hold `value` (to choose the member).
fn holds(schema: &AvroSchema, value: &Json) -> bool {
    matches!(
        (schema, value),
        (AvroSchema::Null, Json::Null)
            | (AvroSchema::Boolean, Json::Bool(_))
            | (
                AvroSchema::Int
                    | AvroSchema::Long
                    | AvroSchema::Float
                    | AvroSchema::Double
                    | AvroSchema::Decimal { .. }
                    | AvroSchema::Date
                    | AvroSchema::TimeMillis
                    | AvroSchema::TimeMicros
                    | AvroSchema::TimestampMillis
                    | AvroSchema::TimestampMicros,
                Json::Number(_),
            )
            | (
                AvroSchema::String
                    | AvroSchema::Enum(_)
                    | AvroSchema::Bytes
                    | AvroSchema::Fixed { .. },
                Json::String(_),
            )
            | (AvroSchema::Record(_) | AvroSchema::Map(_), Json::Object(_))
            | (AvroSchema::Array(_), Json::Array(_))
    )
}

fn write(schema: &AvroSchema, value: &Json, out: &mut Vec<u8>) -> Result<(), String> {
    match schema {
        AvroSchema::Union(members) => {
            let index = members
                .iter()
                .position(|member| holds(member, value))
                .or_else(|| {
                    // No exact fit: the first non-null member, coercing.
                    (!value.is_null())
                        .then(|| {
                            members
                                .iter()
                                .position(|member| *member != AvroSchema::Null)
                        })
                        .flatten()
                })
                .ok_or_else(|| format!("no member of union {} holds {value}", schema.to_json()))?;
            write_long(index as i64, out);
            return write(&members[index], value, out);
        }
        AvroSchema::Null => {
            return if value.is_null() {
                Ok(())
            } else {
                Err(format!("{value} is not null"))
            };
        }
        _ if value.is_null() => {
            return Err(format!("null for non-optional Avro {}", schema.to_json()));
        }
        _ => {}
    }
    match schema {
        AvroSchema::Boolean => match value {
            Json::Bool(flag) => out.push(u8::from(*flag)),
            Json::String(text) => out.push(u8::from(text.eq_ignore_ascii_case("true"))),
            other => return Err(format!("{other} is not a boolean")),
        },
        AvroSchema::Int
        | AvroSchema::Long
        | AvroSchema::Date
        | AvroSchema::TimeMillis
        | AvroSchema::TimestampMillis => write_long(integer(value)?, out),
        AvroSchema::TimeMicros | AvroSchema::TimestampMicros => {
            write_long(integer(value)? * 1000, out)
        }
        AvroSchema::Float => out.extend_from_slice(&(float(value)? as f32).to_le_bytes()),
        AvroSchema::Double => out.extend_from_slice(&float(value)?.to_le_bytes()),
        AvroSchema::String => {
            let text = value
                .scalar_text()
                .ok_or_else(|| format!("{value} is not a string"))?;
            write_bytes(text.as_bytes(), out);
        }
        AvroSchema::Bytes | AvroSchema::Fixed { .. } => {
            let text = value
                .as_str()
                .ok_or_else(|| format!("{value} is not base64"))?;
            let bytes = base64::decode(text)?;
            if matches!(schema, AvroSchema::Bytes) {
                write_bytes(&bytes, out);
            } else {
                out.extend_from_slice(&bytes);
            }
        }
        AvroSchema::Enum(enumeration) => {
            let text = value
                .as_str()
                .ok_or_else(|| format!("{value} is not a symbol"))?;
            let index = enumeration
                .symbols
                .iter()
                .position(|symbol| symbol == text)
                .ok_or_else(|| format!("{text} is not a symbol of {}", enumeration.name))?;
            write_long(index as i64, out);
        }
        AvroSchema::Decimal { scale, fixed, .. } => {
            let text = value
                .scalar_text()
                .ok_or_else(|| format!("{value} is not a decimal"))?;
            let unscaled = unscaled_of(&text, *scale)?;
            let bytes = twos_complement(unscaled, *fixed);
            if fixed.is_some() {
                out.extend_from_slice(&bytes);
            } else {
                write_bytes(&bytes, out);
            }
        }
        AvroSchema::Array(items) => {
            let values = value
                .as_array()
                .ok_or_else(|| format!("{value} is not an array"))?;
            if !values.is_empty() {
                write_long(values.len() as i64, out);
                for item in values {
                    write(items, item, out)?;
                }
            }
            out.push(0);
        }
        AvroSchema::Map(values) => {
            let members = value
                .as_object()
                .ok_or_else(|| format!("{value} is not an object"))?;
            if !members.is_empty() {
                write_long(members.len() as i64, out);
                for (key, item) in members {
                    write_bytes(key.as_bytes(), out);
                    write(values, item, out)?;
                }
            }
            out.push(0);
        }
        AvroSchema::Record(record) => write_record(record, value, out)?,
        AvroSchema::Null | AvroSchema::Union(_) => {}
    }
    Ok(())
}

fn write_record(record: &AvroRecord, value: &Json, out: &mut Vec<u8>) -> Result<(), String> {
    let members = value
        .as_object()
        .ok_or_else(|| format!("{value} is not an object for record {}", record.name))?;
    for field in &record.fields {
        let given = members
            .iter()
            .find(|(name, _)| *name == field.name)
            .or_else(|| {
                members
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(&field.name))
            })
            .map(|(_, value)| value);
        match (given, &field.default) {
            (Some(value), _) if !value.is_null() => write(&field.schema, value, out)?,
            (_, Some(default)) if !holds(&field.schema, &Json::Null) || given.is_none() => {
                write(&field.schema, &json_of_default(default), out)?
            }
            _ => write(&field.schema, &Json::Null, out)?,
        }
    }
    Ok(())
}

fn json_of_default(default: &JsonTree) -> Json {
    match default {
        JsonTree::Null => Json::Null,
        JsonTree::Bool(flag) => Json::Bool(*flag),
        JsonTree::Number(number) => Json::Number(number.to_string()),
        JsonTree::String(text) => Json::String(text.clone()),
        JsonTree::Array(items) => Json::Array(items.iter().map(json_of_default).collect()),
        JsonTree::Object(members) => Json::Object(
            members
                .iter()
                .map(|(name, value)| (name.clone(), json_of_default(value)))
                .collect(),
        ),
    }
}

/// The unscaled value of a decimal's text at `scale`.
fn unscaled_of(text: &str, scale: u32) -> Result<i128, String> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (integer, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let mut fraction = fraction.to_string();
    while fraction.len() < scale as usize {
        fraction.push('0');
    }
    if fraction.len() > scale as usize {
        return Err(format!("{text} has more than {scale} decimals"));
    }
    let unscaled: i128 = format!("{integer}{fraction}")
        .parse()
        .map_err(|_| format!("{text} is not a decimal"))?;
    Ok(if negative { -unscaled } else { unscaled })
}

fn twos_complement(unscaled: i128, size: Option<usize>) -> Vec<u8> {
    let full = unscaled.to_be_bytes();
    let sign = if unscaled < 0 { 0xff } else { 0 };
    let mut start = 0;
    while start < 15 && full[start] == sign && (full[start + 1] & 0x80) == (sign & 0x80) {
        start += 1;
    }
    let mut bytes = full[start..].to_vec();
    if let Some(size) = size {
        while bytes.len() < size {
            bytes.insert(0, sign);
        }
    }
    bytes
}

/// A decimal's text with its scale (`1001`, 2 → `10.01`).
pub fn decimal_text(unscaled: i128, scale: u32) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (integer, fraction) = padded.split_at(padded.len() - scale);
    format!("{sign}{integer}.{fraction}")
}

struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, length: usize) -> Result<&'a [u8], String> {
        let end = self.position + length;
        let slice = self
            .bytes
            .get(self.position..end)
            .ok_or("Avro payload ends early")?;
        self.position = end;
        Ok(slice)
    }

    fn long(&mut self) -> Result<i64, String> {
        let mut value = 0u64;
        let mut shift = 0;
        loop {
            let byte = self.take(1)?[0];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
            }
            shift += 7;
            if shift > 63 {
                return Err("invalid Avro varint".to_string());
            }
        }
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let length = self.long()?;
        self.take(usize::try_from(length).map_err(|_| "negative Avro length")?)
    }

    fn block_count(&mut self) -> Result<usize, String> {
        let count = self.long()?;
        if count < 0 {
            self.long()?;
        }
        Ok(count.unsigned_abs() as usize)
    }

    fn value(&mut self, schema: &AvroSchema) -> Result<Json, String> {
        Ok(match schema {
            AvroSchema::Null => Json::Null,
            AvroSchema::Boolean => Json::Bool(self.take(1)?[0] != 0),
            AvroSchema::Int
            | AvroSchema::Long
            | AvroSchema::Date
            | AvroSchema::TimeMillis
            | AvroSchema::TimestampMillis => Json::Number(self.long()?.to_string()),
            AvroSchema::TimeMicros | AvroSchema::TimestampMicros => {
                Json::Number(self.long()?.div_euclid(1000).to_string())
            }
            AvroSchema::Float => {
                let bytes: [u8; 4] = self.take(4)?.try_into().map_err(|_| "4 bytes")?;
                double_json(f64::from(f32::from_le_bytes(bytes)))
            }
            AvroSchema::Double => {
                let bytes: [u8; 8] = self.take(8)?.try_into().map_err(|_| "8 bytes")?;
                double_json(f64::from_le_bytes(bytes))
            }
            AvroSchema::String => Json::String(
                std::str::from_utf8(self.bytes()?)
                    .map_err(|_| "Avro string is not UTF-8")?
                    .to_string(),
            ),
            AvroSchema::Bytes => Json::String(base64::encode(self.bytes()?)),
            AvroSchema::Fixed { size, .. } => Json::String(base64::encode(self.take(*size)?)),
            AvroSchema::Enum(enumeration) => {
                let index = self.long()?;
                Json::String(
                    usize::try_from(index)
                        .ok()
                        .and_then(|index| enumeration.symbols.get(index))
                        .ok_or_else(|| format!("invalid enum index {index}"))?
                        .clone(),
                )
            }
            AvroSchema::Decimal { scale, fixed, .. } => {
                let bytes = match fixed {
                    Some(size) => self.take(*size)?,
                    None => self.bytes()?,
                };
                if bytes.len() > 16 {
                    return Err("decimal longer than 16 bytes".to_string());
                }
                let negative = bytes.first().is_some_and(|first| first & 0x80 != 0);
                let mut full = if negative { [0xff; 16] } else { [0; 16] };
                full[16 - bytes.len()..].copy_from_slice(bytes);
                Json::Number(decimal_text(i128::from_be_bytes(full), *scale))
            }
            AvroSchema::Array(items) => {
                let mut values = Vec::new();
                loop {
                    let count = self.block_count()?;
                    if count == 0 {
                        break;
                    }
                    for _ in 0..count {
                        values.push(self.value(items)?);
                    }
                }
                Json::Array(values)
            }
            AvroSchema::Map(values) => {
                let mut members = Vec::new();
                loop {
                    let count = self.block_count()?;
                    if count == 0 {
                        break;
                    }
                    for _ in 0..count {
                        let key = std::str::from_utf8(self.bytes()?)
                            .map_err(|_| "Avro map key is not UTF-8")?
                            .to_string();
                        members.push((key, self.value(values)?));
                    }
                }
                Json::Object(members)
            }
            AvroSchema::Record(record) => Json::Object(
                record
                    .fields
                    .iter()
                    .map(|field| Ok((field.name.clone(), self.value(&field.schema)?)))
                    .collect::<Result<Vec<_>, String>>()?,
            ),
            AvroSchema::Union(members) => {
                let index = self.long()?;
                let member = usize::try_from(index)
                    .ok()
                    .and_then(|index| members.get(index))
                    .ok_or_else(|| format!("invalid union index {index}"))?;
                self.value(member)?
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_schemas() {
        let cases = [
            (r#""int""#, "10", "10"),
            (r#"["null","string"]"#, "1", "\"1\""),
            (r#"["null","string"]"#, "null", "null"),
            (
                r#"{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}"#,
                "10.1",
                "10.10",
            ),
            (
                r#"{"type":"record","name":"r","fields":[{"name":"A","type":["null","int"],"default":null},{"name":"b","type":"string","default":"x"},{"name":"E","type":{"type":"enum","name":"E","symbols":["P","Q"]}}]}"#,
                r#"{"a":1,"E":"Q"}"#,
                r#"{"A":1,"b":"x","E":"Q"}"#,
            ),
            (
                r#"{"type":"map","values":["null","double"]}"#,
                r#"{"k":1.5,"n":null}"#,
                r#"{"k":1.5,"n":null}"#,
            ),
            (r#""bytes""#, r#""AAE=""#, r#""AAE=""#),
            (r#""float""#, "1.1234", "1.1233999729156494"),
        ];
        for (schema, value, expected) in cases {
            let schema = AvroSchema::parse(schema).expect("schema");
            let value = Json::parse(value).expect("value");
            let bytes = encode(&schema, &value).expect("encodes");
            let decoded = decode(&schema, &bytes).expect("decodes");
            assert_eq!(decoded.to_string(), expected);
        }
        let required = AvroSchema::parse(r#""long""#).expect("schema");
        assert!(encode(&required, &Json::Null).is_err());
        assert_eq!(decimal_text(-5, 2), "-0.05");
    }
}
