//! The runner's own protobuf serde between corpus JSON and message bodies, driven by a
//! resolved message descriptor, like the protobuf serdes of ksqlDB's harness.
//!
//! Encoding leaves out nulls; decoding gives every field of the message, absent ones as
//! protobuf's defaults (`0`, `""`, `false`, first enum symbol, `[]`, `{}`), except messages,
//! wrappers, fields with presence and BYTES, which are null.

use planner::schema_registry::protobuf::{
    FieldDescriptor, FieldKind, MessageDescriptor, Scalar, WellKnown,
};

use super::avro::decimal_text;
use super::double_json;
use crate::base64;
use crate::json::Json;

/// Serializes an object with `message`.
pub fn encode(message: &MessageDescriptor, value: &Json) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    write_message(message, value, &mut out)?;
    Ok(out)
}

/// Deserializes a message body.
pub fn decode(message: &MessageDescriptor, bytes: &[u8]) -> Result<Json, String> {
    read_message(message, bytes)
}

fn varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn tag(number: u32, wire_type: u8, out: &mut Vec<u8>) {
    varint((u64::from(number) << 3) | u64::from(wire_type), out);
}

fn delimited(number: u32, bytes: &[u8], out: &mut Vec<u8>) {
    tag(number, 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn wire_type(scalar: Scalar) -> u8 {
    match scalar {
        Scalar::Double | Scalar::Fixed64 | Scalar::SFixed64 => 1,
        Scalar::Float | Scalar::Fixed32 | Scalar::SFixed32 => 5,
        Scalar::String | Scalar::Bytes => 2,
        _ => 0,
    }
}

fn integer(value: &Json) -> Result<i64, String> {
    match value {
        Json::Bool(flag) => Ok(i64::from(*flag)),
        _ => value
            .as_i64()
            .or_else(|| value.as_f64().map(|number| number as i64))
            .ok_or_else(|| format!("{value} is not an integer")),
    }
}

/// Writes a scalar value without its tag.
fn scalar_bare(scalar: Scalar, value: &Json, out: &mut Vec<u8>) -> Result<(), String> {
    match scalar {
        Scalar::Double => out.extend_from_slice(
            &value
                .as_f64()
                .ok_or_else(|| format!("{value} is not a number"))?
                .to_le_bytes(),
        ),
        Scalar::Float => out.extend_from_slice(
            &(value
                .as_f64()
                .ok_or_else(|| format!("{value} is not a number"))? as f32)
                .to_le_bytes(),
        ),
        Scalar::String => {
            let text = value
                .scalar_text()
                .ok_or_else(|| format!("{value} is not a string"))?;
            varint(text.len() as u64, out);
            out.extend_from_slice(text.as_bytes());
        }
        Scalar::Bytes => {
            let bytes = base64::decode(value.as_str().ok_or("bytes must be base64")?)?;
            varint(bytes.len() as u64, out);
            out.extend_from_slice(&bytes);
        }
        Scalar::Bool => out.push(u8::from(
            value
                .as_bool()
                .or_else(|| value.as_str().map(|text| text.eq_ignore_ascii_case("true")))
                .ok_or_else(|| format!("{value} is not a boolean"))?,
        )),
        Scalar::SInt32 | Scalar::SInt64 => {
            let number = integer(value)?;
            varint(((number << 1) ^ (number >> 63)) as u64, out)
        }
        Scalar::Fixed32 | Scalar::SFixed32 => {
            out.extend_from_slice(&(integer(value)? as u32).to_le_bytes())
        }
        Scalar::Fixed64 | Scalar::SFixed64 => {
            out.extend_from_slice(&(integer(value)? as u64).to_le_bytes())
        }
        Scalar::Int32 => varint(integer(value)? as i32 as i64 as u64, out),
        Scalar::UInt32 => varint(u64::from(integer(value)? as u32), out),
        Scalar::Int64 | Scalar::UInt64 => varint(integer(value)? as u64, out),
    }
    Ok(())
}

fn member<'a>(members: &'a [(String, Json)], name: &str) -> Option<&'a Json> {
    members
        .iter()
        .find(|(key, _)| key == name)
        .or_else(|| {
            members
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
        })
        .map(|(_, value)| value)
}

fn write_message(
    message: &MessageDescriptor,
    value: &Json,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let members = value
        .as_object()
        .ok_or_else(|| format!("{value} is not an object for message {}", message.name))?;
    let mut fields: Vec<&FieldDescriptor> = message.fields.iter().collect();
    fields.sort_by_key(|field| field.number);
    for field in fields {
        let Some(value) = member(members, &field.name).filter(|value| !value.is_null()) else {
            continue;
        };
        match (&field.kind, field.repeated) {
            (FieldKind::Map(key, value_kind), _) => {
                let entries = value
                    .as_object()
                    .ok_or_else(|| format!("{value} is not a map"))?;
                for (entry_key, entry_value) in entries {
                    let mut entry = Vec::new();
                    tag(1, wire_type(*key), &mut entry);
                    scalar_bare(*key, &Json::String(entry_key.clone()), &mut entry)?;
                    if !entry_value.is_null() {
                        write_kind(2, value_kind, entry_value, &mut entry)?;
                    }
                    delimited(field.number, &entry, out);
                }
            }
            (kind, true) => {
                let items = value
                    .as_array()
                    .ok_or_else(|| format!("{value} is not an array"))?;
                for item in items.iter().filter(|item| !item.is_null()) {
                    write_kind(field.number, kind, item, out)?;
                }
            }
            (kind, false) => write_kind(field.number, kind, value, out)?,
        }
    }
    Ok(())
}

fn write_kind(
    number: u32,
    kind: &FieldKind,
    value: &Json,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    match kind {
        FieldKind::Scalar(scalar) => {
            tag(number, wire_type(*scalar), out);
            scalar_bare(*scalar, value, out)
        }
        FieldKind::Enum(enumeration) => {
            let number_value = match value {
                Json::String(text) => enumeration
                    .values
                    .iter()
                    .find(|(name, _)| name == text)
                    .map(|(_, number)| *number)
                    .ok_or_else(|| format!("{text} is not a symbol of {}", enumeration.name))?,
                other => integer(other)? as i32,
            };
            tag(number, 0, out);
            varint(number_value as i64 as u64, out);
            Ok(())
        }
        FieldKind::Message(message) => {
            let mut bytes = Vec::new();
            write_message(message, value, &mut bytes)?;
            delimited(number, &bytes, out);
            Ok(())
        }
        FieldKind::WellKnown(known) => {
            let mut bytes = Vec::new();
            let int_field = |field: u32, scalar: Scalar, number: i64, bytes: &mut Vec<u8>| {
                if number != 0 {
                    tag(field, wire_type(scalar), bytes);
                    varint(number as u64, bytes);
                }
            };
            match known {
                WellKnown::Wrapper(scalar) => {
                    tag(1, wire_type(*scalar), &mut bytes);
                    scalar_bare(*scalar, value, &mut bytes)?;
                }
                WellKnown::Timestamp => {
                    let millis = integer(value)?;
                    int_field(1, Scalar::Int64, millis.div_euclid(1000), &mut bytes);
                    int_field(
                        2,
                        Scalar::Int32,
                        millis.rem_euclid(1000) * 1_000_000,
                        &mut bytes,
                    );
                }
                WellKnown::Date => {
                    let (year, month, day) = civil(integer(value)?);
                    int_field(1, Scalar::Int32, year, &mut bytes);
                    int_field(2, Scalar::Int32, month, &mut bytes);
                    int_field(3, Scalar::Int32, day, &mut bytes);
                }
                WellKnown::TimeOfDay => {
                    let millis = integer(value)?;
                    int_field(1, Scalar::Int32, millis / 3_600_000, &mut bytes);
                    int_field(2, Scalar::Int32, millis / 60_000 % 60, &mut bytes);
                    int_field(3, Scalar::Int32, millis / 1000 % 60, &mut bytes);
                    int_field(4, Scalar::Int32, millis % 1000 * 1_000_000, &mut bytes);
                }
                WellKnown::Decimal { precision, scale } => {
                    let text = value.scalar_text().ok_or("decimal must be a number")?;
                    let own_scale = text.split_once('.').map_or(0, |(_, f)| f.len() as u32);
                    let scale = (*scale).max(own_scale);
                    let digits: String = text.chars().filter(|c| c.is_ascii_digit()).collect();
                    let mut unscaled: i128 = digits.parse().map_err(|_| text.to_string())?;
                    for _ in own_scale..scale {
                        unscaled *= 10;
                    }
                    if text.starts_with('-') {
                        unscaled = -unscaled;
                    }
                    let full = unscaled.to_be_bytes();
                    let sign = if unscaled < 0 { 0xff } else { 0 };
                    let mut start = 0;
                    while start < 15
                        && full[start] == sign
                        && (full[start + 1] & 0x80) == (sign & 0x80)
                    {
                        start += 1;
                    }
                    delimited(1, &full[start..], &mut bytes);
                    int_field(
                        2,
                        Scalar::UInt32,
                        i64::from(precision.unwrap_or(0)),
                        &mut bytes,
                    );
                    int_field(3, Scalar::Int32, i64::from(scale), &mut bytes);
                }
            }
            delimited(number, &bytes, out);
            Ok(())
        }
        FieldKind::Map(..) => Err("maps are repeated".to_string()),
    }
}

/// `(year, month, day)` of days since 1970-01-01.
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Days since 1970-01-01 of a date.
fn days(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[derive(Debug, Clone, Copy)]
enum Raw<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

fn read_varint(bytes: &[u8], position: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*position).ok_or("protobuf message ends early")?;
        *position += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("invalid varint".to_string())
}

fn fields_of(bytes: &[u8]) -> Result<Vec<(u32, Raw<'_>)>, String> {
    let mut position = 0;
    let mut fields = Vec::new();
    while position < bytes.len() {
        let key = read_varint(bytes, &mut position)?;
        let number = (key >> 3) as u32;
        let fixed = |position: &mut usize, size: usize| -> Result<&[u8], String> {
            let slice = bytes.get(*position..*position + size).ok_or("ends early")?;
            *position += size;
            Ok(slice)
        };
        let raw = match key & 7 {
            0 => Raw::Varint(read_varint(bytes, &mut position)?),
            1 => Raw::Fixed64(u64::from_le_bytes(
                fixed(&mut position, 8)?.try_into().map_err(|_| "8 bytes")?,
            )),
            5 => Raw::Fixed32(u32::from_le_bytes(
                fixed(&mut position, 4)?.try_into().map_err(|_| "4 bytes")?,
            )),
            2 => {
                let length = read_varint(bytes, &mut position)? as usize;
                Raw::Bytes(fixed(&mut position, length)?)
            }
            other => return Err(format!("wire type {other}")),
        };
        fields.push((number, raw));
    }
    Ok(fields)
}

fn scalar_json(scalar: Scalar, raw: Raw<'_>) -> Result<Json, String> {
    let number = |value: i64| Json::Number(value.to_string());
    Ok(match (scalar, raw) {
        (Scalar::Double, Raw::Fixed64(bits)) => double_json(f64::from_bits(bits)),
        (Scalar::Float, Raw::Fixed32(bits)) => double_json(f64::from(f32::from_bits(bits))),
        (Scalar::Bool, Raw::Varint(value)) => Json::Bool(value != 0),
        (Scalar::String, Raw::Bytes(bytes)) => Json::String(
            std::str::from_utf8(bytes)
                .map_err(|_| "string is not UTF-8")?
                .to_string(),
        ),
        (Scalar::Bytes, Raw::Bytes(bytes)) => Json::String(base64::encode(bytes)),
        (Scalar::Int32, Raw::Varint(value)) => number(i64::from(value as i32)),
        (Scalar::UInt32, Raw::Varint(value)) => number(i64::from(value as u32)),
        (Scalar::Int64 | Scalar::UInt64, Raw::Varint(value)) => number(value as i64),
        (Scalar::SInt32 | Scalar::SInt64, Raw::Varint(value)) => {
            number((value >> 1) as i64 ^ -((value & 1) as i64))
        }
        (Scalar::Fixed32, Raw::Fixed32(value)) => number(i64::from(value)),
        (Scalar::SFixed32, Raw::Fixed32(value)) => number(i64::from(value as i32)),
        (Scalar::Fixed64 | Scalar::SFixed64, Raw::Fixed64(value)) => number(value as i64),
        (scalar, raw) => return Err(format!("{} field holds {raw:?}", scalar.name())),
    })
}

fn scalar_default(scalar: Scalar) -> Json {
    match scalar {
        Scalar::Double | Scalar::Float => Json::Number("0.0".into()),
        Scalar::Bool => Json::Bool(false),
        Scalar::String => Json::String(String::new()),
        Scalar::Bytes => Json::Null,
        _ => Json::Number("0".into()),
    }
}

fn read_message(message: &MessageDescriptor, bytes: &[u8]) -> Result<Json, String> {
    let raw_fields = fields_of(bytes)?;
    let mut members = Vec::new();
    for field in &message.fields {
        let occurrences: Vec<Raw<'_>> = raw_fields
            .iter()
            .filter(|(number, _)| *number == field.number)
            .map(|(_, raw)| *raw)
            .collect();
        let value = match (&field.kind, field.repeated) {
            (FieldKind::Map(key, value_kind), _) => {
                let mut entries = Vec::new();
                for occurrence in occurrences {
                    let Raw::Bytes(entry) = occurrence else {
                        return Err("map entry is not a message".to_string());
                    };
                    let entry = fields_of(entry)?;
                    let key_json = match entry.iter().rev().find(|(number, _)| *number == 1) {
                        Some((_, raw)) => scalar_json(*key, *raw)?,
                        None => scalar_default(*key),
                    };
                    let key_text = key_json.scalar_text().unwrap_or_default();
                    let value_json = match entry.iter().rev().find(|(number, _)| *number == 2) {
                        Some((_, raw)) => read_kind(value_kind, *raw)?,
                        None => absent(value_kind),
                    };
                    entries.push((key_text, value_json));
                }
                Json::Object(entries)
            }
            (kind, true) => {
                let mut items = Vec::new();
                for occurrence in occurrences {
                    let packed_scalar = match (kind, occurrence) {
                        (FieldKind::Scalar(scalar), Raw::Bytes(_))
                            if !matches!(scalar, Scalar::String | Scalar::Bytes) =>
                        {
                            Some(*scalar)
                        }
                        (FieldKind::Enum(_), Raw::Bytes(_)) => Some(Scalar::Int32),
                        _ => None,
                    };
                    match (packed_scalar, occurrence) {
                        (Some(scalar), Raw::Bytes(packed)) => {
                            let mut position = 0;
                            while position < packed.len() {
                                let raw = match wire_type(scalar) {
                                    1 => {
                                        let slice = &packed[position..position + 8];
                                        position += 8;
                                        Raw::Fixed64(u64::from_le_bytes(
                                            slice.try_into().map_err(|_| "8 bytes")?,
                                        ))
                                    }
                                    5 => {
                                        let slice = &packed[position..position + 4];
                                        position += 4;
                                        Raw::Fixed32(u32::from_le_bytes(
                                            slice.try_into().map_err(|_| "4 bytes")?,
                                        ))
                                    }
                                    _ => Raw::Varint(read_varint(packed, &mut position)?),
                                };
                                items.push(read_kind(kind, raw)?);
                            }
                        }
                        _ => items.push(read_kind(kind, occurrence)?),
                    }
                }
                Json::Array(items)
            }
            (kind, false) => match occurrences.last() {
                Some(raw) => read_kind(kind, *raw)?,
                None if field.presence => Json::Null,
                None => absent(kind),
            },
        };
        members.push((field.name.clone(), value));
    }
    Ok(Json::Object(members))
}

/// The value of an absent field without presence.
fn absent(kind: &FieldKind) -> Json {
    match kind {
        FieldKind::Scalar(scalar) => scalar_default(*scalar),
        FieldKind::Enum(enumeration) => enumeration
            .values
            .first()
            .map_or(Json::Null, |(name, _)| Json::String(name.clone())),
        _ => Json::Null,
    }
}

fn read_kind(kind: &FieldKind, raw: Raw<'_>) -> Result<Json, String> {
    match kind {
        FieldKind::Scalar(scalar) => scalar_json(*scalar, raw),
        FieldKind::Enum(enumeration) => {
            let Raw::Varint(value) = raw else {
                return Err("enum is not a varint".to_string());
            };
            let value = value as i32;
            Ok(Json::String(
                enumeration
                    .values
                    .iter()
                    .find(|(_, number)| *number == value)
                    .map_or_else(|| value.to_string(), |(name, _)| name.clone()),
            ))
        }
        FieldKind::Message(message) => match raw {
            Raw::Bytes(bytes) => read_message(message, bytes),
            _ => Err("message is not length-delimited".to_string()),
        },
        FieldKind::WellKnown(known) => {
            let Raw::Bytes(bytes) = raw else {
                return Err("message is not length-delimited".to_string());
            };
            let fields = fields_of(bytes)?;
            let field = |number: u32| {
                fields
                    .iter()
                    .rev()
                    .find(|(found, _)| *found == number)
                    .map(|(_, raw)| *raw)
            };
            let int = |number: u32| match field(number) {
                Some(Raw::Varint(value)) => value as i64,
                _ => 0,
            };
            Ok(match known {
                WellKnown::Wrapper(scalar) => match field(1) {
                    Some(raw) => scalar_json(*scalar, raw)?,
                    None => match scalar_default(*scalar) {
                        Json::Null => Json::String(String::new()),
                        other => other,
                    },
                },
                WellKnown::Timestamp => {
                    Json::Number((int(1) * 1000 + i64::from(int(2) as i32) / 1_000_000).to_string())
                }
                WellKnown::Date => Json::Number(days(int(1), int(2), int(3)).to_string()),
                WellKnown::TimeOfDay => Json::Number(
                    (int(1) * 3_600_000 + int(2) * 60_000 + int(3) * 1000 + int(4) / 1_000_000)
                        .to_string(),
                ),
                WellKnown::Decimal { scale, .. } => {
                    let unscaled = match field(1) {
                        Some(Raw::Bytes(bytes)) if !bytes.is_empty() && bytes.len() <= 16 => {
                            let negative = bytes[0] & 0x80 != 0;
                            let mut full = if negative { [0xff; 16] } else { [0; 16] };
                            full[16 - bytes.len()..].copy_from_slice(bytes);
                            i128::from_be_bytes(full)
                        }
                        _ => 0,
                    };
                    let scale = match field(3) {
                        Some(Raw::Varint(value)) => value as u32,
                        _ => *scale,
                    };
                    Json::Number(decimal_text(unscaled, scale))
                }
            })
        }
        FieldKind::Map(..) => Err("maps are repeated".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use planner::schema_registry::protobuf::ProtoSchema;

    use super::*;

    #[test]
    fn messages_round_trip_with_defaults() {
        let text = r#"syntax = "proto3"; import "confluent/type/decimal.proto";
            message M {
              int32 i = 1; string s = 2; bytes b = 3; repeated int64 l = 4;
              map<string, double> m = 5; N n = 6; enum E { A = 0; B = 1; } E e = 7;
              google.protobuf.StringValue w = 8; optional bool o = 9;
              confluent.type.Decimal d = 10 [(confluent.field_meta) = { params: [{ key: "precision", value: "4" }, { key: "scale", value: "2" }] }];
              message N { sint64 x = 1; }
            }"#;
        let message = ProtoSchema::parse(text, &[], None).expect("schema").message;
        let cases = [
            (
                r#"{"i":5,"s":"x","b":"AAE=","l":[1,2],"m":{"k":1.5},"n":{"x":-3},"e":"B","w":"","o":false,"d":10.01}"#,
                r#"{"i":5,"s":"x","b":"AAE=","l":[1,2],"m":{"k":1.5},"n":{"x":-3},"e":"B","w":"","o":false,"d":10.01}"#,
            ),
            (
                r#"{"I":null}"#,
                r#"{"i":0,"s":"","b":null,"l":[],"m":{},"n":null,"e":"A","w":null,"o":null,"d":null}"#,
            ),
        ];
        for (input, expected) in cases {
            let value = Json::parse(input).expect("json");
            let bytes = encode(&message, &value).expect("encodes");
            assert_eq!(
                decode(&message, &bytes).expect("decodes").to_string(),
                expected
            );
        }
        assert_eq!(days(1970, 1, 1), 0);
        assert_eq!(civil(19000), (2022, 1, 8));
        assert_eq!(days(2022, 1, 8), 19000);
    }
}
