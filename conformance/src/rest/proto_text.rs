//! A protobuf message as protobuf's text format, the way ksqlDB's REST harness shows the
//! rows of a pull query answered as protobuf (Java's `TextFormat`): one `NAME: value` line
//! per field set, nested messages as `NAME {` ... `}` indented by two spaces, fields in
//! declaration order, strings and bytes quoted with C-style escapes.

use planner::schema_registry::protobuf::{
    FieldDescriptor, FieldKind, MessageDescriptor, ProtoSchema, Scalar, WellKnown,
};

/// The text format of `bytes`, a message of the first message of `schema` (`.proto` text).
pub fn text_format(schema: &str, bytes: &[u8]) -> Result<String, String> {
    let schema = ProtoSchema::parse(schema, &[], None)?;
    let mut out = String::new();
    write_message(&Layout::of(&schema.message), bytes, 0, &mut out)?;
    Ok(out)
}

/// A message's fields as the printer needs them.
struct Layout {
    fields: Vec<(String, u32, Kind)>,
}

enum Kind {
    Scalar(Scalar),
    Enum(Vec<(String, i32)>),
    Message(Layout),
}

impl Layout {
    fn of(message: &MessageDescriptor) -> Self {
        Layout {
            fields: message.fields.iter().map(field_layout).collect(),
        }
    }
}

fn field_layout(field: &FieldDescriptor) -> (String, u32, Kind) {
    (field.name.clone(), field.number, kind_of(&field.kind))
}

fn kind_of(kind: &FieldKind) -> Kind {
    // The well-known messages: scalar fields numbered from 1.
    let scalars = |fields: &[(&str, Scalar)]| {
        Kind::Message(Layout {
            fields: fields
                .iter()
                .zip(1u32..)
                .map(|((name, scalar), number)| (name.to_string(), number, Kind::Scalar(*scalar)))
                .collect(),
        })
    };
    match kind {
        FieldKind::Scalar(scalar) => Kind::Scalar(*scalar),
        FieldKind::Enum(definition) => Kind::Enum(definition.values.clone()),
        FieldKind::Message(message) => Kind::Message(Layout::of(message)),
        FieldKind::Map(key, value) => Kind::Message(Layout {
            fields: vec![
                ("key".to_string(), 1, Kind::Scalar(*key)),
                ("value".to_string(), 2, kind_of(value)),
            ],
        }),
        FieldKind::WellKnown(WellKnown::Wrapper(scalar)) => scalars(&[("value", *scalar)]),
        FieldKind::WellKnown(WellKnown::Timestamp) => {
            scalars(&[("seconds", Scalar::Int64), ("nanos", Scalar::Int32)])
        }
        FieldKind::WellKnown(WellKnown::Date) => scalars(&[
            ("year", Scalar::Int32),
            ("month", Scalar::Int32),
            ("day", Scalar::Int32),
        ]),
        FieldKind::WellKnown(WellKnown::TimeOfDay) => scalars(&[
            ("hours", Scalar::Int32),
            ("minutes", Scalar::Int32),
            ("seconds", Scalar::Int32),
            ("nanos", Scalar::Int32),
        ]),
        FieldKind::WellKnown(WellKnown::Decimal { .. }) => scalars(&[
            ("value", Scalar::Bytes),
            ("precision", Scalar::UInt32),
            ("scale", Scalar::Int32),
        ]),
    }
}

/// One value read off the wire.
enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

/// Reads the fields of a message body: `(number, value)` in wire order.
fn read_fields(mut bytes: &[u8]) -> Result<Vec<(u32, Wire<'_>)>, String> {
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        let tag = read_varint(&mut bytes)?;
        let number = u32::try_from(tag >> 3).map_err(|_| "field number out of range")?;
        let value = match tag & 7 {
            0 => Wire::Varint(read_varint(&mut bytes)?),
            1 => Wire::Fixed64(u64::from_le_bytes(
                take(&mut bytes, 8)?.try_into().expect("8"),
            )),
            2 => {
                let length =
                    usize::try_from(read_varint(&mut bytes)?).map_err(|_| "length out of range")?;
                Wire::Bytes(take(&mut bytes, length)?)
            }
            5 => Wire::Fixed32(u32::from_le_bytes(
                take(&mut bytes, 4)?.try_into().expect("4"),
            )),
            other => return Err(format!("unsupported wire type {other}")),
        };
        fields.push((number, value));
    }
    Ok(fields)
}

fn take<'a>(bytes: &mut &'a [u8], length: usize) -> Result<&'a [u8], String> {
    if bytes.len() < length {
        return Err("truncated message".into());
    }
    let (head, rest) = bytes.split_at(length);
    *bytes = rest;
    Ok(head)
}

fn read_varint(bytes: &mut &[u8]) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first().ok_or("truncated varint")?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("varint too long".into())
}

fn write_message(
    layout: &Layout,
    bytes: &[u8],
    indent: usize,
    out: &mut String,
) -> Result<(), String> {
    let fields = read_fields(bytes)?;
    let pad = " ".repeat(indent);
    for (name, number, kind) in &layout.fields {
        for (_, value) in fields.iter().filter(|(field, _)| field == number) {
            match (kind, value) {
                (Kind::Message(inner), Wire::Bytes(body)) => {
                    out.push_str(&format!("{pad}{name} {{\n"));
                    write_message(inner, body, indent + 2, out)?;
                    out.push_str(&format!("{pad}}}\n"));
                }
                // Packed repeated scalars.
                (Kind::Scalar(scalar), Wire::Bytes(body))
                    if !matches!(scalar, Scalar::String | Scalar::Bytes) =>
                {
                    let mut body: &[u8] = body;
                    while !body.is_empty() {
                        let value = match scalar.wire_type() {
                            1 => Wire::Fixed64(u64::from_le_bytes(
                                take(&mut body, 8)?.try_into().expect("8"),
                            )),
                            5 => Wire::Fixed32(u32::from_le_bytes(
                                take(&mut body, 4)?.try_into().expect("4"),
                            )),
                            _ => Wire::Varint(read_varint(&mut body)?),
                        };
                        out.push_str(&format!("{pad}{name}: {}\n", scalar_text(*scalar, &value)?));
                    }
                }
                (Kind::Scalar(scalar), value) => {
                    out.push_str(&format!("{pad}{name}: {}\n", scalar_text(*scalar, value)?));
                }
                (Kind::Enum(values), Wire::Varint(number)) => {
                    let number = *number as i32;
                    let text = values
                        .iter()
                        .find(|(_, value)| *value == number)
                        .map_or_else(|| number.to_string(), |(name, _)| name.clone());
                    out.push_str(&format!("{pad}{name}: {text}\n"));
                }
                _ => return Err(format!("field {name} has an unexpected wire type")),
            }
        }
    }
    Ok(())
}

fn scalar_text(scalar: Scalar, value: &Wire<'_>) -> Result<String, String> {
    Ok(match (scalar, value) {
        (Scalar::Int32, Wire::Varint(v)) => (*v as i32).to_string(),
        (Scalar::Int64, Wire::Varint(v)) => (*v as i64).to_string(),
        (Scalar::UInt32, Wire::Varint(v)) => (*v as u32).to_string(),
        (Scalar::UInt64, Wire::Varint(v)) => v.to_string(),
        (Scalar::SInt32 | Scalar::SInt64, Wire::Varint(v)) => {
            ((*v >> 1) as i64 ^ -((*v & 1) as i64)).to_string()
        }
        (Scalar::Bool, Wire::Varint(v)) => (*v != 0).to_string(),
        (Scalar::Double, Wire::Fixed64(v)) => java_double(f64::from_bits(*v)),
        (Scalar::Fixed64, Wire::Fixed64(v)) => v.to_string(),
        (Scalar::SFixed64, Wire::Fixed64(v)) => (*v as i64).to_string(),
        (Scalar::Float, Wire::Fixed32(v)) => java_double(f64::from(f32::from_bits(*v))),
        (Scalar::Fixed32, Wire::Fixed32(v)) => v.to_string(),
        (Scalar::SFixed32, Wire::Fixed32(v)) => (*v as i32).to_string(),
        (Scalar::String | Scalar::Bytes, Wire::Bytes(bytes)) => format!("\"{}\"", escape(bytes)),
        _ => {
            return Err(format!(
                "a {} field has an unexpected wire type",
                scalar.name()
            ));
        }
    })
}

/// A double as Java's `Double.toString` writes it (`1.0`, `0.5`, `1.0E7`).
fn java_double(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.into();
    }
    let magnitude = value.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        let text = value.to_string();
        return if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        };
    }
    let text = format!("{value:E}");
    match text.split_once('E') {
        Some((mantissa, exponent)) if !mantissa.contains('.') => {
            format!("{mantissa}.0E{exponent}")
        }
        _ => text,
    }
}

/// Protobuf's C-style escaping of text-format strings and bytes.
fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for byte in bytes {
        match byte {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(*byte)),
            other => out.push_str(&format!("\\{other:03o}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = "syntax = \"proto3\";\n\nmessage ConnectDefault1 {\n  int32 K = 1;\n  string TEXT = 2;\n  double D = 3;\n  repeated int64 A = 4;\n}\n";

    #[test]
    fn prints_set_fields_in_declaration_order() {
        // K = 2 (varint), TEXT = "a\"1", D = 100.0, A = [1, 300] packed.
        let mut bytes = vec![0x08, 0x02, 0x12, 0x03, b'a', b'"', b'1', 0x19];
        bytes.extend_from_slice(&100.0f64.to_le_bytes());
        bytes.extend_from_slice(&[0x22, 0x03, 0x01, 0xac, 0x02]);
        let cases = [
            (bytes, "K: 2\nTEXT: \"a\\\"1\"\nD: 100.0\nA: 1\nA: 300\n"),
            // Default values are not on the wire, so not printed.
            (vec![0x12, 0x02, b'a', b'2'], "TEXT: \"a2\"\n"),
            (Vec::new(), ""),
        ];
        for (bytes, expected) in cases {
            assert_eq!(text_format(SCHEMA, &bytes).expect("decodes"), expected);
        }
    }

    #[test]
    fn prints_maps_as_nested_entries() {
        let schema = "syntax = \"proto3\";\n\nmessage ConnectDefault1 {\n  repeated ConnectDefault2Entry M = 1;\n\n  message ConnectDefault2Entry {\n    string key = 1;\n    int32 value = 2;\n  }\n}\n";
        let bytes = [0x0a, 0x05, 0x0a, 0x01, b'C', 0x10, 0x03];
        assert_eq!(
            text_format(schema, &bytes).expect("decodes"),
            "M {\n  key: \"C\"\n  value: 3\n}\n"
        );
    }

    #[test]
    fn doubles_print_as_java_does() {
        let cases = [(1.0, "1.0"), (0.5, "0.5"), (1e7, "1.0E7"), (-2.25, "-2.25")];
        for (value, expected) in cases {
            assert_eq!(java_double(value), expected);
        }
    }
}
