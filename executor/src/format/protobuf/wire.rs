//! Protobuf's wire encoding: varint tags and values, fixed 32/64-bit values and
//! length-delimited fields, and conversions of raw values by scalar type.

use planner::schema_registry::protobuf::Scalar as ProtoScalar;

/// One raw field value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum WireValue<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

/// Every field of a message, in wire order.
pub(super) fn parse_message(bytes: &[u8]) -> Result<Vec<(u32, WireValue<'_>)>, String> {
    let mut position = 0;
    let mut fields = Vec::new();
    while position < bytes.len() {
        let tag = read_varint(bytes, &mut position)?;
        let number = u32::try_from(tag >> 3).map_err(|_| "invalid protobuf field number")?;
        let value = match tag & 7 {
            0 => WireValue::Varint(read_varint(bytes, &mut position)?),
            1 => WireValue::Fixed64(u64::from_le_bytes(take::<8>(bytes, &mut position)?)),
            2 => {
                let length = usize::try_from(read_varint(bytes, &mut position)?)
                    .map_err(|_| "invalid protobuf length")?;
                let end = position
                    .checked_add(length)
                    .filter(|end| *end <= bytes.len())
                    .ok_or("protobuf message ends early")?;
                let slice = &bytes[position..end];
                position = end;
                WireValue::Bytes(slice)
            }
            5 => WireValue::Fixed32(u32::from_le_bytes(take::<4>(bytes, &mut position)?)),
            other => return Err(format!("unsupported protobuf wire type {other}")),
        };
        fields.push((number, value));
    }
    Ok(fields)
}

fn take<const N: usize>(bytes: &[u8], position: &mut usize) -> Result<[u8; N], String> {
    let slice = bytes
        .get(*position..*position + N)
        .ok_or("protobuf message ends early")?;
    *position += N;
    slice.try_into().map_err(|_| "fixed-size value".to_string())
}

pub(super) fn read_varint(bytes: &[u8], position: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*position).ok_or("protobuf message ends early")?;
        *position += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("invalid protobuf varint".to_string())
}

pub(super) fn write_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

pub(super) fn write_tag(number: u32, wire_type: u8, out: &mut Vec<u8>) {
    write_varint((u64::from(number) << 3) | u64::from(wire_type), out);
}

/// Writes a length-delimited field.
pub(super) fn write_delimited(number: u32, bytes: &[u8], out: &mut Vec<u8>) {
    write_tag(number, 2, out);
    write_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// A numeric raw value as a signed integer of the scalar type.
pub(super) fn integer_of(scalar: ProtoScalar, value: WireValue<'_>) -> Result<i64, String> {
    Ok(match (scalar, value) {
        (ProtoScalar::Int32, WireValue::Varint(raw)) => i64::from(raw as i32),
        (ProtoScalar::Int64 | ProtoScalar::UInt64, WireValue::Varint(raw)) => raw as i64,
        (ProtoScalar::UInt32, WireValue::Varint(raw)) => i64::from(raw as u32),
        (ProtoScalar::Bool, WireValue::Varint(raw)) => i64::from(raw != 0),
        (ProtoScalar::SInt32 | ProtoScalar::SInt64, WireValue::Varint(raw)) => {
            (raw >> 1) as i64 ^ -((raw & 1) as i64)
        }
        (ProtoScalar::Fixed32, WireValue::Fixed32(raw)) => i64::from(raw),
        (ProtoScalar::SFixed32, WireValue::Fixed32(raw)) => i64::from(raw as i32),
        (ProtoScalar::Fixed64 | ProtoScalar::SFixed64, WireValue::Fixed64(raw)) => raw as i64,
        (scalar, value) => {
            return Err(format!(
                "protobuf {} field has wire value {value:?}",
                scalar.name()
            ));
        }
    })
}

/// Writes a numeric scalar's value (no tag).
pub(super) fn write_number(scalar: ProtoScalar, integer: i64, float: f64, out: &mut Vec<u8>) {
    match scalar {
        ProtoScalar::Double => out.extend_from_slice(&float.to_le_bytes()),
        ProtoScalar::Float => out.extend_from_slice(&(float as f32).to_le_bytes()),
        ProtoScalar::SInt32 | ProtoScalar::SInt64 => {
            write_varint(((integer << 1) ^ (integer >> 63)) as u64, out)
        }
        ProtoScalar::Fixed32 | ProtoScalar::SFixed32 => {
            out.extend_from_slice(&(integer as u32).to_le_bytes())
        }
        ProtoScalar::Fixed64 | ProtoScalar::SFixed64 => {
            out.extend_from_slice(&(integer as u64).to_le_bytes())
        }
        ProtoScalar::Int32 => write_varint(integer as i32 as i64 as u64, out),
        ProtoScalar::UInt32 => write_varint(u64::from(integer as u32), out),
        _ => write_varint(integer as u64, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_parse_into_raw_fields() {
        // field 1 varint 150, field 2 "hi", field 3 fixed32 1.0f, field 4 fixed64.
        let mut bytes = vec![0x08, 0x96, 0x01, 0x12, 2, b'h', b'i', 0x1d];
        bytes.extend_from_slice(&1.0f32.to_le_bytes());
        bytes.push(0x21);
        bytes.extend_from_slice(&7u64.to_le_bytes());
        let fields = parse_message(&bytes).expect("parses");
        assert_eq!(
            fields,
            [
                (1, WireValue::Varint(150)),
                (2, WireValue::Bytes(b"hi")),
                (3, WireValue::Fixed32(1.0f32.to_bits())),
                (4, WireValue::Fixed64(7)),
            ]
        );
        assert!(parse_message(&[0x12, 5, 1]).is_err());
        let mut out = Vec::new();
        write_number(ProtoScalar::Int32, -1, 0.0, &mut out);
        assert_eq!(out.len(), 10);
        assert_eq!(
            integer_of(ProtoScalar::Int32, WireValue::Varint(u64::MAX)),
            Ok(-1)
        );
        let mut zigzag = Vec::new();
        write_number(ProtoScalar::SInt64, -2, 0.0, &mut zigzag);
        assert_eq!(zigzag, [3]);
        assert_eq!(
            integer_of(ProtoScalar::SInt64, WireValue::Varint(3)),
            Ok(-2)
        );
    }
}
