//! Key layouts of the embedded log in the store's `topics`, `log` and `offsets` families.
//!
//! ```text
//! topics:  0x00                                   -> next topic id (u32 BE)
//!          0x01 | topic name                      -> TopicMetadata (JSON)
//! log:     topic id (u32 BE) | partition (u32 BE) | base offset (u64 BE) -> chunk
//! offsets: group | 0x00 | topic id (u32 BE) | partition (u32 BE) -> next offset (u64 BE)
//! ```
//! Big-endian integers keep RocksDB's byte order equal to numeric order.

use crate::{ExecError, Result};

/// Key of the topic id counter in `topics`.
pub(super) const NEXT_TOPIC_ID_KEY: &[u8] = &[0];
/// Prefix of the topic metadata keys in `topics`.
pub(super) const TOPIC_PREFIX: u8 = 1;

pub(super) fn topic_key(name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + name.len());
    key.push(TOPIC_PREFIX);
    key.extend_from_slice(name.as_bytes());
    key
}

/// The first key of a partition in `log`.
pub(super) fn chunk_key(topic_id: u32, partition: u32, base_offset: u64) -> [u8; 16] {
    let mut key = [0; 16];
    key[..4].copy_from_slice(&topic_id.to_be_bytes());
    key[4..8].copy_from_slice(&partition.to_be_bytes());
    key[8..].copy_from_slice(&base_offset.to_be_bytes());
    key
}

/// The base offset of a `log` key.
pub(super) fn chunk_base_offset(key: &[u8]) -> Result<u64> {
    let bytes: [u8; 8] = key
        .get(8..16)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| ExecError::Internal(format!("bad embedded log key {key:?}")))?;
    Ok(u64::from_be_bytes(bytes))
}

/// `[start, end)` of every `log` key of a partition.
pub(super) fn partition_range(topic_id: u32, partition: u32) -> ([u8; 16], [u8; 16]) {
    let start = chunk_key(topic_id, partition, 0);
    let end = match partition.checked_add(1) {
        Some(next) => chunk_key(topic_id, next, 0),
        None => topic_range(topic_id).1,
    };
    (start, end)
}

/// `[start, end)` of every `log` key of a topic (ids stop below `u32::MAX`).
pub(super) fn topic_range(topic_id: u32) -> ([u8; 16], [u8; 16]) {
    let start = chunk_key(topic_id, 0, 0);
    let end = match topic_id.checked_add(1) {
        Some(next) => chunk_key(next, 0, 0),
        None => [0xff; 16],
    };
    (start, end)
}

/// Key of a committed offset in `offsets`.
pub(super) fn offset_key(group: &str, topic_id: u32, partition: u32) -> Vec<u8> {
    let mut key = group_prefix(group);
    key.extend_from_slice(&topic_id.to_be_bytes());
    key.extend_from_slice(&partition.to_be_bytes());
    key
}

/// Prefix of every `offsets` key of a group (group names never contain 0).
pub(super) fn group_prefix(group: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(group.len() + 9);
    key.extend_from_slice(group.as_bytes());
    key.push(0);
    key
}

/// `(topic id, partition)` of an `offsets` key.
pub(super) fn parse_offset_key(key: &[u8]) -> Result<(u32, u32)> {
    let bad = || ExecError::Internal(format!("bad embedded log offset key {key:?}"));
    let separator = key.iter().position(|&byte| byte == 0).ok_or_else(bad)?;
    let rest = &key[separator + 1..];
    if rest.len() != 8 {
        return Err(bad());
    }
    let topic_id = u32::from_be_bytes(rest[..4].try_into().map_err(|_| bad())?);
    let partition = u32::from_be_bytes(rest[4..].try_into().map_err(|_| bad())?);
    Ok((topic_id, partition))
}

/// A big-endian u64 value.
pub(super) fn parse_u64(value: &[u8]) -> Result<u64> {
    let bytes: [u8; 8] = value
        .try_into()
        .map_err(|_| ExecError::Internal(format!("bad embedded log u64 {value:?}")))?;
    Ok(u64::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_keys_sort_by_topic_partition_offset() {
        let keys = [
            chunk_key(1, 0, 0),
            chunk_key(1, 0, 255),
            chunk_key(1, 0, 256),
            chunk_key(1, 1, 0),
            chunk_key(2, 0, 0),
            chunk_key(u32::MAX, u32::MAX, u64::MAX),
        ];
        assert!(keys.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(chunk_base_offset(&keys[2]).expect("parse"), 256);
        let (start, end) = partition_range(1, 0);
        assert!(start <= keys[0] && keys[2] < end && keys[3] >= end);
        let (start, end) = topic_range(1);
        assert!(start <= keys[0] && keys[3] < end && keys[4] >= end);
        let (_, end) = partition_range(u32::MAX - 1, u32::MAX);
        assert!(keys[5] > end && chunk_key(u32::MAX - 1, u32::MAX, u64::MAX) < end);
    }

    #[test]
    fn offset_keys_parse_back() {
        let cases = [("group", 3, 7), ("", 0, 0), ("q", u32::MAX, u32::MAX)];
        for (group, topic_id, partition) in cases {
            let key = offset_key(group, topic_id, partition);
            assert!(key.starts_with(&group_prefix(group)));
            assert_eq!(
                parse_offset_key(&key).expect("parse"),
                (topic_id, partition)
            );
        }
    }
}
