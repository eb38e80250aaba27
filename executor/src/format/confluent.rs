//! Confluent's wire format around schema-registry payloads: magic byte 0, the schema id as
//! 4 big-endian bytes, and for PROTOBUF the message indexes (a zigzag varint count, then
//! zigzag varint indexes; the first message, `[0]`, is the single byte 0).

/// Splits a payload into its schema id and the rest.
pub(super) fn split_prefix(payload: &[u8]) -> Result<(u32, &[u8]), String> {
    match payload {
        [0, a, b, c, d, rest @ ..] => Ok((u32::from_be_bytes([*a, *b, *c, *d]), rest)),
        [] | [0, ..] => Err(format!(
            "Size of data received is {}: too short for a schema id",
            payload.len()
        )),
        _ => Err("Unknown magic byte!".to_string()),
    }
}

/// Appends the magic byte and `id`.
pub(super) fn write_prefix(id: u32, out: &mut Vec<u8>) {
    out.push(0);
    out.extend_from_slice(&id.to_be_bytes());
}

/// Reads the protobuf message indexes after the schema id.
pub(super) fn split_message_indexes(rest: &[u8]) -> Result<(Vec<i32>, &[u8]), String> {
    let mut position = 0;
    let count = read_zigzag(rest, &mut position)?;
    if count == 0 {
        return Ok((vec![0], &rest[position..]));
    }
    if !(0..=64).contains(&count) {
        return Err(format!("invalid protobuf message index count {count}"));
    }
    let mut indexes = Vec::with_capacity(count as usize);
    for _ in 0..count {
        indexes.push(read_zigzag(rest, &mut position)? as i32);
    }
    Ok((indexes, &rest[position..]))
}

/// Appends protobuf message indexes.
pub(super) fn write_message_indexes(indexes: &[i32], out: &mut Vec<u8>) {
    if indexes == [0] || indexes.is_empty() {
        out.push(0);
        return;
    }
    write_zigzag(indexes.len() as i64, out);
    for index in indexes {
        write_zigzag(i64::from(*index), out);
    }
}

fn read_zigzag(bytes: &[u8], position: &mut usize) -> Result<i64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes
            .get(*position)
            .ok_or("truncated protobuf message indexes")?;
        *position += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
        }
    }
    Err("invalid varint in protobuf message indexes".to_string())
}

fn write_zigzag(value: i64, out: &mut Vec<u8>) {
    let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
    while zigzag >= 0x80 {
        out.push((zigzag as u8) | 0x80);
        zigzag >>= 7;
    }
    out.push(zigzag as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_round_trip() {
        let mut out = Vec::new();
        write_prefix(258, &mut out);
        write_message_indexes(&[1, 0], &mut out);
        out.push(42);
        assert_eq!(out, [0, 0, 0, 1, 2, 4, 2, 0, 42]);
        let (id, rest) = split_prefix(&out).expect("prefix");
        assert_eq!(id, 258);
        let (indexes, body) = split_message_indexes(rest).expect("indexes");
        assert_eq!(indexes, [1, 0]);
        assert_eq!(body, [42]);
        let mut first = Vec::new();
        write_message_indexes(&[0], &mut first);
        assert_eq!(first, [0]);
        assert_eq!(
            split_message_indexes(&[0, 7]).expect("ok"),
            (vec![0], &[7u8][..])
        );
        assert_eq!(
            split_prefix(&[1, 0, 0, 0, 1]),
            Err("Unknown magic byte!".to_string())
        );
        assert!(split_prefix(&[0, 0]).is_err());
    }
}
