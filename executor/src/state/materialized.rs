//! The layout of materialized tables in the state store, for the sink that writes them and
//! every reader (pull queries, `table_provider`, and later join operators).
//!
//! Table `NAME` is state table `table/NAME`. A row is stored under its record key: the key
//! columns in the table's key format, a windowed key followed by its window as in the topic
//! (`operator::window`). The stored value is the record time (8 bytes, big-endian) followed
//! by the value bytes in the value format; a tombstone deletes the entry. Data directories
//! depend on these bytes. Rows are decoded in `materialized::rows`.

mod rows;

use std::ops::Bound;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Fields};
use datafusion::common::ScalarValue;
use planner::catalog::{FormatDefinition, WindowInfo, WindowKind};
use planner::pull::KeyLookup;

use super::StateSnapshot;
use crate::Result;
use crate::format::{Encoder, FormatKind};
use crate::log::{ConsumedRecord, Record};
use crate::operator::source::key_format_of;

pub use rows::MaterializedRowDecoder;

/// Bytes of the record time in front of every stored value.
const TIMESTAMP_BYTES: usize = 8;
/// Appended to a key to bound every stored key that starts with it: a window is at most 16
/// bytes (session windows: end and start), and `[0xff; 17]` sorts after any of them.
const WINDOW_BOUND: [u8; 17] = [0xff; 17];
/// Sorts after every key of an ordered layout: UTF-8 never holds a 0xff byte, and integer
/// keys (with their window) are at most 24 bytes long.
const END_BOUND: [u8; 32] = [0xff; 32];

/// Stored entries: `(stored key, stored value)`.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// The state table holding the materialized rows of table `name`.
pub fn table_state_id(name: &str) -> String {
    format!("table/{name}")
}

/// The stored key of a row: its record key (window included); rows without a key share the
/// empty key.
pub fn encode_key(record_key: Option<&[u8]>) -> Vec<u8> {
    record_key.unwrap_or_default().to_vec()
}

/// The stored value of a row: its record time, then its value bytes.
pub fn encode_value(timestamp: i64, value: &[u8]) -> Vec<u8> {
    let mut stored = Vec::with_capacity(TIMESTAMP_BYTES + value.len());
    stored.extend_from_slice(&timestamp.to_be_bytes());
    stored.extend_from_slice(value);
    stored
}

/// The record time and the value bytes of a stored value; `None` when it is too short.
pub fn decode_value(stored: &[u8]) -> Option<(i64, &[u8])> {
    let (timestamp, value) = stored.split_first_chunk::<TIMESTAMP_BYTES>()?;
    Some((i64::from_be_bytes(*timestamp), value))
}

/// A stored entry as the record the sink wrote (partition and offset 0); `None` when the
/// value has no record time.
pub fn decode_record(key: Vec<u8>, mut value: Vec<u8>) -> Option<ConsumedRecord> {
    let (timestamp, _) = decode_value(&value)?;
    value.drain(..TIMESTAMP_BYTES);
    Some(ConsumedRecord {
        partition: 0,
        offset: 0,
        record: Record {
            key: Some(key),
            value: Some(value),
            timestamp,
            headers: Vec::new(),
        },
    })
}

/// What to read of a materialized table, in stored keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateLookup {
    /// Every entry.
    Scan,
    /// The entries of these stored keys (sorted, no duplicates).
    Keys(Vec<Vec<u8>>),
    /// Every window of these keys (sorted, no duplicates): the entries whose stored key is
    /// one of them followed by `window_bytes` bytes.
    Windows {
        keys: Vec<Vec<u8>>,
        window_bytes: usize,
    },
    /// The entries with a stored key in one of these `[from, to)` ranges (sorted, disjoint).
    Ranges(Vec<(Vec<u8>, Vec<u8>)>),
}

/// Entries sorted by stored key: one state table of a snapshot, or a compacted topic.
pub trait SortedEntries {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// The entries with a key in `[from, to)`, in key order.
    fn range(&self, from: &[u8], to: &[u8]) -> Result<Entries>;
    /// Every entry, in key order.
    fn scan(&self) -> Result<Entries>;
}

/// One state table of a snapshot.
pub struct SnapshotTable<'a, 'b> {
    pub snapshot: &'a StateSnapshot<'b>,
    pub id: &'a str,
}

impl SortedEntries for SnapshotTable<'_, '_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.snapshot.get(self.id, key)
    }

    fn range(&self, from: &[u8], to: &[u8]) -> Result<Entries> {
        self.snapshot.range(self.id, from, to)
    }

    fn scan(&self) -> Result<Entries> {
        self.snapshot.scan(self.id)
    }
}

/// The entries `lookup` selects, in key order within each key or range.
pub fn read_entries(entries: &impl SortedEntries, lookup: &StateLookup) -> Result<Entries> {
    match lookup {
        StateLookup::Scan => entries.scan(),
        StateLookup::Keys(keys) => {
            let mut found = Vec::with_capacity(keys.len());
            for key in keys {
                if let Some(value) = entries.get(key)? {
                    found.push((key.clone(), value));
                }
            }
            Ok(found)
        }
        StateLookup::Windows { keys, window_bytes } => {
            let mut found = Vec::new();
            for key in keys {
                let windows = entries.range(key, &past_windows(key))?;
                found.extend(
                    windows
                        .into_iter()
                        .filter(|(stored, _)| stored.len() == key.len() + window_bytes),
                );
            }
            Ok(found)
        }
        StateLookup::Ranges(ranges) => {
            let mut found = Vec::new();
            for (from, to) in ranges {
                found.extend(entries.range(from, to)?);
            }
            Ok(found)
        }
    }
}

/// A single key column whose serialized bytes sort like its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrderedKey {
    Utf8,
    Int32,
    Int64,
}

/// Encodes key values into the stored keys of one materialized table, as the sink does, and
/// key lookups into the stored keys and key ranges to read.
#[derive(Debug)]
pub struct MaterializedKeyEncoder {
    fields: Fields,
    encoder: Encoder,
    window: Option<WindowInfo>,
    /// Set when the stored keys sort like the values: one KAFKA-format STRING, INT or BIGINT
    /// key column.
    ordered: Option<OrderedKey>,
}

impl MaterializedKeyEncoder {
    pub fn new(
        key_format: &FormatDefinition,
        fields: Fields,
        window: Option<WindowInfo>,
    ) -> Result<Self> {
        let (kind, options) = key_format_of(key_format, fields.len())?;
        let ordered = match (kind, fields.len()) {
            (FormatKind::Kafka, 1) => match fields[0].data_type() {
                DataType::Utf8 => Some(OrderedKey::Utf8),
                DataType::Int32 => Some(OrderedKey::Int32),
                DataType::Int64 => Some(OrderedKey::Int64),
                _ => None,
            },
            _ => None,
        };
        Ok(MaterializedKeyEncoder {
            encoder: Encoder::new(kind, &options, fields.clone())?,
            fields,
            window,
            ordered,
        })
    }

    /// Whether the stored keys sort like the values of the single key column, so that a
    /// range of keys is a range of stored keys.
    pub fn orders_keys(&self) -> bool {
        self.ordered.is_some()
    }

    /// The stored keys and ranges to read for the rows `lookup` selects (a superset of them).
    pub fn lookup(&self, lookup: &KeyLookup) -> Result<StateLookup> {
        Ok(match lookup {
            KeyLookup::Scan => StateLookup::Scan,
            KeyLookup::Keys(keys) => self.keys(keys)?,
            KeyLookup::Range { lower, upper } => {
                self.range(lower, upper).unwrap_or(StateLookup::Scan)
            }
        })
    }

    /// The entries of `keys` (one value per key column each, of the column's type or cast
    /// to it); every window of a key of a windowed table.
    fn keys(&self, keys: &[Vec<ScalarValue>]) -> Result<StateLookup> {
        let columns = (0..self.fields.len())
            .map(|index| {
                let wanted = self.fields[index].data_type();
                if keys.is_empty() {
                    return Ok(arrow::array::new_empty_array(wanted));
                }
                let array = ScalarValue::iter_to_array(keys.iter().map(|key| key[index].clone()))?;
                Ok(if array.data_type() == wanted {
                    array
                } else {
                    arrow::compute::cast(&array, wanted)?
                })
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        let mut encoded: Vec<Vec<u8>> = self
            .encoder
            .encode(&columns, keys.len())?
            .into_iter()
            .map(|key| encode_key(key.as_deref()))
            .collect();
        encoded.sort();
        encoded.dedup();
        Ok(match self.window {
            Some(window) => StateLookup::Windows {
                keys: encoded,
                window_bytes: match window.kind {
                    WindowKind::Session => 16,
                    WindowKind::Tumbling | WindowKind::Hopping => 8,
                },
            },
            None => StateLookup::Keys(encoded),
        })
    }

    /// The key ranges holding the keys within `[lower, upper]` of a single key column; `None`
    /// when the stored keys do not sort like the values or a bound is not of the key's type.
    fn range(&self, lower: &Bound<ScalarValue>, upper: &Bound<ScalarValue>) -> Option<StateLookup> {
        // Bytes just past a key and all its windows.
        let past = |key: &[u8]| -> Vec<u8> {
            match self.window {
                Some(_) => past_windows(key),
                None => [key, &[0]].concat(),
            }
        };
        let ranges = match self.ordered? {
            OrderedKey::Utf8 => {
                let text = |value: &ScalarValue| match value {
                    ScalarValue::Utf8(Some(text)) => Some(text.as_bytes().to_vec()),
                    _ => None,
                };
                let from = match lower {
                    Bound::Unbounded => Vec::new(),
                    Bound::Included(value) => text(value)?,
                    Bound::Excluded(value) => past(&text(value)?),
                };
                let to = match upper {
                    Bound::Unbounded => END_BOUND.to_vec(),
                    Bound::Included(value) => past(&text(value)?),
                    Bound::Excluded(value) => text(value)?,
                };
                vec![(from, to)]
            }
            ordered @ (OrderedKey::Int32 | OrderedKey::Int64) => {
                let (min, max, width) = match ordered {
                    OrderedKey::Int32 => (i64::from(i32::MIN), i64::from(i32::MAX), 4),
                    _ => (i64::MIN, i64::MAX, 8),
                };
                let integer = |value: &ScalarValue| match value {
                    ScalarValue::Int32(Some(number)) => Some(i64::from(*number)),
                    ScalarValue::Int64(Some(number)) => Some(*number),
                    _ => None,
                };
                let empty = Some(StateLookup::Ranges(Vec::new()));
                let low = match lower {
                    Bound::Unbounded => min,
                    Bound::Included(value) => integer(value)?,
                    Bound::Excluded(value) => match integer(value)?.checked_add(1) {
                        Some(low) => low,
                        None => return empty,
                    },
                };
                let high = match upper {
                    Bound::Unbounded => max,
                    Bound::Included(value) => integer(value)?,
                    Bound::Excluded(value) => match integer(value)?.checked_sub(1) {
                        Some(high) => high,
                        None => return empty,
                    },
                };
                let (low, high) = (low.max(min), high.min(max));
                let bytes = |number: i64| -> Vec<u8> { number.to_be_bytes()[8 - width..].to_vec() };
                let mut ranges = Vec::new();
                // Two's complement: non-negative keys sort first, then the negative ones.
                if high >= 0 && low <= high {
                    ranges.push((bytes(low.max(0)), past(&bytes(high))));
                }
                if low < 0 && low <= high {
                    ranges.push((bytes(low), past(&bytes(high.min(-1)))));
                }
                ranges
            }
        };
        Some(StateLookup::Ranges(merge_ranges(ranges)))
    }
}

/// The smallest key past `key` followed by any window.
fn past_windows(key: &[u8]) -> Vec<u8> {
    [key, &WINDOW_BOUND].concat()
}

/// Sorted, disjoint ranges covering the same keys as `ranges`.
fn merge_ranges(mut ranges: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<(Vec<u8>, Vec<u8>)> {
    ranges.retain(|(from, to)| from < to);
    ranges.sort();
    let mut merged: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(ranges.len());
    for (from, to) in ranges {
        match merged.last_mut() {
            Some((_, last_to)) if from <= *last_to => {
                if to > *last_to {
                    *last_to = to;
                }
            }
            _ => merged.push((from, to)),
        }
    }
    merged
}

#[cfg(test)]
mod tests;
