//! Foreign-key table-table joins (INNER and LEFT): the left table's join expression (the
//! foreign key) equals the right table's primary key; Kafka Streams' foreign-key join as
//! ksqlDB uses it.
//!
//! State: left rows by the left primary key (time, foreign key, row), right rows by their
//! key (`super::timed_row`), and in the pending table an index `i | foreign key | left
//! primary key` so that a right update finds its left rows with one range read.

use std::ops::Range;

use planner::plan::JoinKind;

use super::codec::{Decoded, Emitted};
use super::{JoinState, Side, split_timed_row, table_row, timed_row};
use crate::state::StateTable;
use crate::{ExecError, Result};

/// First byte of the foreign-key index entries in the pending table.
const INDEX: u8 = b'i';

/// A left row as stored: its time, foreign key (if not null) and row bytes.
struct LeftRow {
    time: i64,
    foreign_key: Option<Vec<u8>>,
    row: Vec<u8>,
}

/// An update (upsert or delete) of the left table emits its row joined with the right
/// row of its foreign key (LEFT: null-padded without one), or the delete of its key: when
/// the left row is deleted, or (INNER) its new foreign key has no match and it had a row
/// before. A right update or delete re-emits every left row with that foreign key
/// (INNER: deleted when the right row is; LEFT: null-padded).
pub(super) fn foreign_key(
    kind: JoinKind,
    side: Side,
    decoded: &Decoded,
    rows: Range<usize>,
    state: &mut JoinState,
    out: &mut Vec<Emitted>,
) -> Result<()> {
    match side {
        Side::Left => left(kind, decoded, rows, state, out),
        Side::Right => right(kind, decoded, rows, state, out),
    }
}

fn left(
    kind: JoinKind,
    decoded: &Decoded,
    rows: Range<usize>,
    state: &mut JoinState,
    out: &mut Vec<Emitted>,
) -> Result<()> {
    for index in rows {
        if decoded.is_retract(index) {
            continue;
        }
        let primary_key = decoded.primary_key(index).ok_or_else(|| {
            ExecError::Internal("foreign-key join left rows without primary keys".into())
        })?;
        let time = decoded.time(index);
        let row = decoded.row(index);
        let old = load_left(&mut state.left, primary_key)?;
        let old_foreign_key = old.as_ref().and_then(|old| old.foreign_key.clone());
        if decoded.is_delete(index) {
            let Some(old) = old else { continue };
            if let Some(foreign_key) = &old.foreign_key {
                state.pending.delete(&index_key(foreign_key, primary_key));
            }
            state.left.delete(primary_key);
            out.push(deleted(row, old.foreign_key.as_deref(), time));
            continue;
        }
        let foreign_key = decoded.key(index);
        if let Some(old_foreign_key) = &old_foreign_key
            && Some(old_foreign_key.as_slice()) != foreign_key
        {
            state
                .pending
                .delete(&index_key(old_foreign_key, primary_key));
        }
        if let Some(foreign_key) = foreign_key {
            state
                .pending
                .put(&index_key(foreign_key, primary_key), Vec::new());
        }
        state
            .left
            .put(primary_key, left_value(time, foreign_key, row));
        let right = match foreign_key {
            Some(foreign_key) => table_row(&mut state.right, foreign_key)?,
            None => None,
        };
        match right {
            Some((right_time, right)) => out.push(Emitted::joined(
                Side::Left,
                Some(row),
                Some(&right),
                foreign_key,
                time.max(right_time),
            )),
            None if kind.keeps_left() => out.push(Emitted::joined(
                Side::Left,
                Some(row),
                None,
                foreign_key,
                time,
            )),
            None if old.is_some() => out.push(deleted(row, foreign_key, time)),
            None => {}
        }
    }
    Ok(())
}

fn right(
    kind: JoinKind,
    decoded: &Decoded,
    rows: Range<usize>,
    state: &mut JoinState,
    out: &mut Vec<Emitted>,
) -> Result<()> {
    for index in rows {
        if decoded.is_retract(index) {
            continue;
        }
        let Some(key) = decoded.key(index) else {
            continue;
        };
        let time = decoded.time(index);
        let row = (!decoded.is_delete(index)).then(|| decoded.row(index));
        match row {
            Some(row) => state.right.put(key, timed_row(time, row)),
            None => {
                if state.right.get(key)?.is_none() {
                    continue;
                }
                state.right.delete(key);
            }
        }
        let mut from = vec![INDEX];
        from.extend_from_slice(key);
        let to = prefix_end(&from);
        for (entry, _) in state.pending.range(&from, &to)? {
            let primary_key = &entry[from.len()..];
            let Some(left) = load_left(&mut state.left, primary_key)? else {
                continue;
            };
            let joined_time = time.max(left.time);
            out.push(match row {
                Some(row) => Emitted::joined(
                    Side::Left,
                    Some(&left.row),
                    Some(row),
                    Some(key),
                    joined_time,
                ),
                None if kind.keeps_left() => {
                    Emitted::joined(Side::Left, Some(&left.row), None, Some(key), joined_time)
                }
                None => deleted(&left.row, Some(key), joined_time),
            });
        }
    }
    Ok(())
}

/// The delete of the result row of left row `left` (which carries its primary key).
fn deleted(left: &[u8], foreign_key: Option<&[u8]>, time: i64) -> Emitted {
    Emitted {
        left: Some(left.to_vec()),
        right: None,
        key: foreign_key.map(<[u8]>::to_vec),
        time,
        delete: true,
        retract: false,
    }
}

/// `i | foreign key | primary key`.
fn index_key(foreign_key: &[u8], primary_key: &[u8]) -> Vec<u8> {
    let mut entry = Vec::with_capacity(1 + foreign_key.len() + primary_key.len());
    entry.push(INDEX);
    entry.extend_from_slice(foreign_key);
    entry.extend_from_slice(primary_key);
    entry
}

/// The smallest key after every key starting with `prefix`.
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xff; prefix.len() + 1]
}

/// A left row's state value: `timed_row` of (foreign key length + 1, or 0 for a null
/// foreign key, as 4 bytes; the foreign key; the row).
fn left_value(time: i64, foreign_key: Option<&[u8]>, row: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(4 + foreign_key.map_or(0, <[u8]>::len) + row.len());
    match foreign_key {
        Some(foreign_key) => {
            value.extend_from_slice(&(foreign_key.len() as u32 + 1).to_be_bytes());
            value.extend_from_slice(foreign_key);
        }
        None => value.extend_from_slice(&0u32.to_be_bytes()),
    }
    value.extend_from_slice(row);
    timed_row(time, &value)
}

fn load_left(table: &mut StateTable, primary_key: &[u8]) -> Result<Option<LeftRow>> {
    let Some(value) = table.get(primary_key)? else {
        return Ok(None);
    };
    let malformed = || ExecError::Internal("malformed foreign-key join left row".into());
    let (time, value) = split_timed_row(value)?;
    let length = value
        .get(..4)
        .and_then(|length| length.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or_else(malformed)? as usize;
    let (foreign_key, row) = match length {
        0 => (None, &value[4..]),
        length => {
            let foreign_key = value.get(4..3 + length).ok_or_else(malformed)?;
            (Some(foreign_key.to_vec()), &value[3 + length..])
        }
    };
    Ok(Some(LeftRow {
        time,
        foreign_key,
        row: row.to_vec(),
    }))
}
