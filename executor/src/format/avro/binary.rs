//! Avro's binary encoding: zigzag varints for int and long, little-endian float and double,
//! length-prefixed bytes and strings, blocked arrays and maps, and skipping a value of any
//! schema.

use planner::schema_registry::avro::AvroSchema;

/// Reads Avro values from a payload.
pub(super) struct Cursor<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, position: 0 }
    }

    fn take(&mut self, length: usize) -> Result<&'a [u8], String> {
        let end = self
            .position
            .checked_add(length)
            .filter(|end| *end <= self.bytes.len())
            .ok_or("Avro payload ends early")?;
        let slice = &self.bytes[self.position..end];
        self.position = end;
        Ok(slice)
    }

    pub(super) fn read_long(&mut self) -> Result<i64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
            }
        }
        Err("invalid Avro varint".to_string())
    }

    pub(super) fn read_int(&mut self) -> Result<i32, String> {
        let value = self.read_long()?;
        i32::try_from(value).map_err(|_| format!("Avro int out of range: {value}"))
    }

    pub(super) fn read_bool(&mut self) -> Result<bool, String> {
        match self.take(1)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(format!("invalid Avro boolean byte {other}")),
        }
    }

    pub(super) fn read_float(&mut self) -> Result<f32, String> {
        let bytes = self.take(4)?;
        Ok(f32::from_le_bytes(bytes.try_into().map_err(|_| "4 bytes")?))
    }

    pub(super) fn read_double(&mut self) -> Result<f64, String> {
        let bytes = self.take(8)?;
        Ok(f64::from_le_bytes(bytes.try_into().map_err(|_| "8 bytes")?))
    }

    pub(super) fn read_bytes(&mut self) -> Result<&'a [u8], String> {
        let length = self.read_long()?;
        let length = usize::try_from(length).map_err(|_| format!("negative length {length}"))?;
        self.take(length)
    }

    pub(super) fn read_str(&mut self) -> Result<&'a str, String> {
        std::str::from_utf8(self.read_bytes()?).map_err(|_| "Avro string is not UTF-8".into())
    }

    pub(super) fn read_fixed(&mut self, size: usize) -> Result<&'a [u8], String> {
        self.take(size)
    }

    /// The item count of the next array or map block (0 at the end).
    pub(super) fn read_block_count(&mut self) -> Result<usize, String> {
        let count = self.read_long()?;
        if count < 0 {
            // A negative count is followed by the block's size in bytes.
            self.read_long()?;
        }
        usize::try_from(count.unsigned_abs()).map_err(|_| "Avro block too large".to_string())
    }

    /// Skips one value of `schema`.
    pub(super) fn skip(&mut self, schema: &AvroSchema) -> Result<(), String> {
        match schema {
            AvroSchema::Null => {}
            AvroSchema::Boolean => {
                self.take(1)?;
            }
            AvroSchema::Int
            | AvroSchema::Long
            | AvroSchema::Enum(_)
            | AvroSchema::Date
            | AvroSchema::TimeMillis
            | AvroSchema::TimeMicros
            | AvroSchema::TimestampMillis
            | AvroSchema::TimestampMicros => {
                self.read_long()?;
            }
            AvroSchema::Float => {
                self.take(4)?;
            }
            AvroSchema::Double => {
                self.take(8)?;
            }
            AvroSchema::Bytes | AvroSchema::String | AvroSchema::Decimal { fixed: None, .. } => {
                self.read_bytes()?;
            }
            AvroSchema::Fixed { size, .. }
            | AvroSchema::Decimal {
                fixed: Some(size), ..
            } => {
                self.take(*size)?;
            }
            AvroSchema::Record(record) => {
                for field in &record.fields {
                    self.skip(&field.schema)?;
                }
            }
            AvroSchema::Array(items) => loop {
                let count = self.read_block_count()?;
                if count == 0 {
                    break;
                }
                for _ in 0..count {
                    self.skip(items)?;
                }
            },
            AvroSchema::Map(values) => loop {
                let count = self.read_block_count()?;
                if count == 0 {
                    break;
                }
                for _ in 0..count {
                    self.read_bytes()?;
                    self.skip(values)?;
                }
            },
            AvroSchema::Union(members) => {
                let index = self.read_long()?;
                let member = usize::try_from(index)
                    .ok()
                    .and_then(|index| members.get(index))
                    .ok_or_else(|| format!("invalid Avro union index {index}"))?;
                self.skip(member)?;
            }
        }
        Ok(())
    }
}

pub(super) fn write_long(value: i64, out: &mut Vec<u8>) {
    let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
    while zigzag >= 0x80 {
        out.push((zigzag as u8) | 0x80);
        zigzag >>= 7;
    }
    out.push(zigzag as u8);
}

pub(super) fn write_bytes(value: &[u8], out: &mut Vec<u8>) {
    write_long(value.len() as i64, out);
    out.extend_from_slice(value);
}

/// A decimal's unscaled value as big-endian two's complement: minimal, or sign-extended to
/// `size` bytes.
pub(super) fn decimal_bytes(unscaled: i128, size: Option<usize>) -> Result<Vec<u8>, String> {
    let full = unscaled.to_be_bytes();
    let sign = if unscaled < 0 { 0xff } else { 0 };
    let mut start = 0;
    while start < 15 && full[start] == sign && (full[start + 1] & 0x80) == (sign & 0x80) {
        start += 1;
    }
    let minimal = &full[start..];
    match size {
        None => Ok(minimal.to_vec()),
        Some(size) if size >= minimal.len() => {
            let mut bytes = vec![sign; size - minimal.len()];
            bytes.extend_from_slice(minimal);
            Ok(bytes)
        }
        Some(size) => Err(format!("decimal {unscaled} does not fit in {size} bytes")),
    }
}

/// The unscaled value of big-endian two's complement bytes.
pub(super) fn decimal_value(bytes: &[u8]) -> Result<i128, String> {
    if bytes.len() > 16 {
        return Err("decimal value has more than 16 bytes".to_string());
    }
    let negative = bytes.first().is_some_and(|first| first & 0x80 != 0);
    let mut full = if negative { [0xffu8; 16] } else { [0u8; 16] };
    full[16 - bytes.len()..].copy_from_slice(bytes);
    Ok(i128::from_be_bytes(full))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longs_and_decimals_round_trip() {
        let cases: [(i64, &[u8]); 5] = [
            (0, &[0]),
            (-1, &[1]),
            (1, &[2]),
            (64, &[0x80, 1]),
            (
                i64::MIN,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1],
            ),
        ];
        for (value, encoded) in cases {
            let mut out = Vec::new();
            write_long(value, &mut out);
            assert_eq!(out, encoded);
            assert_eq!(Cursor::new(&out).read_long(), Ok(value));
        }
        for (unscaled, encoded) in [
            (0i128, vec![0u8]),
            (1001, vec![0x03, 0xe9]),
            (-1, vec![0xff]),
            (128, vec![0x00, 0x80]),
            (-129, vec![0xff, 0x7f]),
        ] {
            assert_eq!(decimal_bytes(unscaled, None), Ok(encoded.clone()));
            assert_eq!(decimal_value(&encoded), Ok(unscaled));
        }
        assert_eq!(decimal_bytes(-1, Some(3)), Ok(vec![0xff, 0xff, 0xff]));
        assert!(Cursor::new(&[0x80]).read_long().is_err());
    }
}
