//! Joins with a table on its primary key: stream-table (Kafka Streams' `KStreamKTableJoin`)
//! and table-table (`KTableKTable{Inner,Left,Outer}Join`).
//!
//! A table side keeps its current row per join key with the row's time
//! (`super::timed_row`). Retractions are skipped: a join's table input is read without them.
//! A table-table join read by an aggregation retracts each key's previous joined row.

use std::ops::Range;

use planner::plan::JoinKind;

use super::codec::{Decoded, Emitted};
use super::{JoinState, Side, table_row, timed_row};
use crate::Result;

/// Stream (left) - table (right): a table update or delete changes the table side and
/// emits nothing; a stream record emits itself with the table's row for its key at its own
/// time (INNER: only with one; LEFT: null-padded without, also for a null key).
pub(super) fn stream_table(
    kind: JoinKind,
    side: Side,
    decoded: &Decoded,
    rows: Range<usize>,
    state: &mut JoinState,
    out: &mut Vec<Emitted>,
) -> Result<()> {
    for index in rows {
        if decoded.is_retract(index) {
            continue;
        }
        let key = decoded.key(index);
        let time = decoded.time(index);
        match side {
            Side::Right => {
                let Some(key) = key else { continue };
                if decoded.is_delete(index) {
                    state.right.delete(key);
                } else {
                    state.right.put(key, timed_row(time, decoded.row(index)));
                }
            }
            Side::Left => {
                // A stream row with a null value.
                if decoded.is_delete(index) {
                    continue;
                }
                let row = decoded.row(index);
                let right = match key {
                    Some(key) => table_row(&mut state.right, key)?,
                    None => None,
                };
                if right.is_some() || kind.keeps_left() {
                    out.push(Emitted::joined(
                        Side::Left,
                        Some(row),
                        right.as_ref().map(|(_, row)| row.as_slice()),
                        key,
                        time,
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Table - table on the primary keys: an update (upsert or delete) of one side for a key
/// emits the new joined row for that key (upsert) or its delete, at the larger of the two
/// rows' times, as Kafka Streams' table joins do: nothing when the join keeps neither the
/// updated row nor the other side's, a delete when what it kept is gone, and nothing for a
/// delete of a key no kept side held. Null keys are skipped. With `retract`, the key's
/// previous joined row (as the previous update emitted it) is emitted as a retraction first.
pub(super) fn table_table(
    (kind, retract): (JoinKind, bool),
    side: Side,
    decoded: &Decoded,
    rows: Range<usize>,
    state: &mut JoinState,
    out: &mut Vec<Emitted>,
) -> Result<()> {
    let keeps_own = side.kept(kind);
    let keeps_other = side.other().kept(kind);
    for index in rows {
        if decoded.is_retract(index) {
            continue;
        }
        let Some(key) = decoded.key(index) else {
            continue;
        };
        let time = decoded.time(index);
        let delete = decoded.is_delete(index);
        let own = state.side(side);
        let previous = table_row(own, key)?;
        let existed = previous.is_some();
        let row = (!delete).then(|| decoded.row(index));
        match row {
            Some(row) => own.put(key, timed_row(time, row)),
            None => own.delete(key),
        }
        let other = table_row(state.side(side.other()), key)?;
        // The key's previous joined row: the other side is unchanged.
        let previous = match (&previous, &other) {
            _ if !retract => None,
            (Some((_, own)), Some((_, other))) => Some(Emitted::joined(
                side,
                Some(own),
                Some(other),
                Some(key),
                time,
            )),
            (Some((_, own)), None) => {
                keeps_own.then(|| Emitted::joined(side, Some(own), None, Some(key), time))
            }
            (None, Some((_, other))) => {
                keeps_other.then(|| Emitted::joined(side, None, Some(other), Some(key), time))
            }
            (None, None) => None,
        };
        let emitted = match (row, other) {
            (Some(row), Some((other_time, other))) => Some(Emitted::joined(
                side,
                Some(row),
                Some(&other),
                Some(key),
                time.max(other_time),
            )),
            (None, Some((other_time, other))) => Some(if keeps_other {
                Emitted::joined(side, None, Some(&other), Some(key), time.max(other_time))
            } else {
                Emitted::delete(key, time.max(other_time))
            }),
            (Some(row), None) => {
                keeps_own.then(|| Emitted::joined(side, Some(row), None, Some(key), time))
            }
            (None, None) => (keeps_own && existed).then(|| Emitted::delete(key, time)),
        };
        // Retracted at the time of the change that replaces it, as Kafka Streams sends a
        // table's old and new value in one record.
        if let Some(previous) = previous {
            let time = emitted.as_ref().map_or(time, |emitted| emitted.time);
            out.push(Emitted { time, ..previous }.retracted());
        }
        out.extend(emitted);
    }
    Ok(())
}
