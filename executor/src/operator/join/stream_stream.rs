//! Stream-stream joins within a window: Kafka Streams' `KStreamKStreamJoin` (3.x).
//!
//! Kafka Streams runs one task per partition, so each source partition is joined on its
//! own (`PartitionJoin`): its own stream times, and state keys that start with the
//! partition number (4 bytes, big-endian). Each side keeps its records in a window store:
//! key `partition | segment | join key | time | sequence`, value the row bytes; a
//! partition's segments of `max(retention / 2, 1 min)` are dropped whole once every record
//! in them is older than that partition's observed time of the side minus the retention.
//! An outer join with a grace period keeps its unmatched records in the pending table
//! (`p | partition | time | side | join key` -> the rows) until their window closes; the
//! stream times (of the partition and per side) and the sequence live there too, under
//! `t | partition`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::ops::Range;
use std::sync::Arc;

use planner::plan::{JoinKind, JoinWindow};

use super::codec::{Decoded, Emitted};
use super::window_cache::{BUDGET_BYTES, Budget, WindowCache};
use super::{JoinState, Side};
use crate::metrics::Counters;
use crate::operator::window::{from_ordered_i64, ordered_i64};
use crate::state::StateTable;
use crate::{ExecError, Result};

/// How much further back than two windows before the stream time the in-memory copies of
/// the window stores reach.
const COPY_SLACK_MS: i64 = 1_000;

/// First byte of the keys of the partitions' stream times in the pending table.
const TIMES: u8 = b't';
/// First byte of the pending (unmatched) records' keys.
const PENDING: u8 = b'p';
/// The side byte of pending keys: right records sort before left ones at the same time.
const PENDING_RIGHT: u8 = 0;
const PENDING_LEFT: u8 = 1;

/// The times a stream-stream join tracks per partition, persisted under `t | partition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Times {
    /// The largest record time of the partition seen on either side.
    stream: i64,
    /// Per side (left, right): the largest time put into its window store.
    observed: [i64; 2],
    /// The next sequence number of a window-store entry.
    sequence: u64,
}

impl Times {
    fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(32);
        bytes.extend_from_slice(&self.stream.to_be_bytes());
        bytes.extend_from_slice(&self.observed[0].to_be_bytes());
        bytes.extend_from_slice(&self.observed[1].to_be_bytes());
        bytes.extend_from_slice(&self.sequence.to_be_bytes());
        bytes
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        let word = |index: usize| -> Result<[u8; 8]> {
            bytes
                .get(index * 8..index * 8 + 8)
                .and_then(|word| word.try_into().ok())
                .ok_or_else(|| ExecError::Internal("truncated join stream times".into()))
        };
        Ok(Times {
            stream: i64::from_be_bytes(word(0)?),
            observed: [i64::from_be_bytes(word(1)?), i64::from_be_bytes(word(2)?)],
            sequence: u64::from_be_bytes(word(3)?),
        })
    }
}

/// The stream-stream join: one `PartitionJoin` per source partition it has seen, resumed
/// from the pending table on first use; its tables are the operator's `JoinState`.
pub(super) struct StreamStreamJoin {
    window: JoinWindow,
    kind: JoinKind,
    partitions: HashMap<u32, PartitionJoin>,
    /// What the in-memory copies of the window stores may hold together.
    budget: Budget,
    counters: Arc<Counters>,
}

impl StreamStreamJoin {
    pub fn new(window: JoinWindow, kind: JoinKind, counters: Arc<Counters>) -> Self {
        StreamStreamJoin {
            window,
            kind,
            partitions: HashMap::new(),
            budget: Budget::new(BUDGET_BYTES),
            counters,
        }
    }

    /// Joins the rows of `decoded`, records of `side` from source partition `partition`.
    pub fn process(
        &mut self,
        side: Side,
        decoded: &Decoded,
        rows: Range<usize>,
        partition: u32,
        state: &mut JoinState,
        out: &mut Vec<Emitted>,
    ) -> Result<()> {
        let join = match self.partitions.entry(partition) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => entry.insert(PartitionJoin::new(
                self.window,
                self.kind,
                partition,
                state,
                &self.budget,
                Arc::clone(&self.counters),
            )?),
        };
        join.process(side, decoded, rows, state, out)
    }

    #[cfg(test)]
    pub fn set_budget(&mut self, bytes: usize) {
        self.budget = Budget::new(bytes);
    }

    /// Writes the stream times that changed to `pending`.
    pub fn save_times(&mut self, pending: &mut StateTable) {
        for join in self.partitions.values_mut() {
            join.save_times(pending);
        }
    }
}

/// The stream-stream join state machine of one source partition (one Kafka Streams task).
struct PartitionJoin {
    window: JoinWindow,
    kind: JoinKind,
    /// The partition number, big-endian: in every state key of the partition.
    partition: [u8; 4],
    retention: i64,
    /// Window-store segment length (Kafka Streams': half the retention, at least a minute).
    segment: i64,
    times: Times,
    times_dirty: bool,
    /// Whether unmatched records wait in the pending table (an outer join with a grace
    /// period) instead of being emitted at once.
    holds_unmatched: bool,
    /// No pending record is older than this (`i64::MIN`: unknown, as after a restart).
    pending_floor: i64,
    /// In-memory copies of the partition's window stores (left, right), while they fit.
    caches: [Option<WindowCache>; 2],
    counters: Arc<Counters>,
}

impl PartitionJoin {
    /// Resumes the stream times of `partition` kept in `state.pending`, and copies its
    /// window stores into memory if they fit in `budget`.
    fn new(
        window: JoinWindow,
        kind: JoinKind,
        partition: u32,
        state: &mut JoinState,
        budget: &Budget,
        counters: Arc<Counters>,
    ) -> Result<Self> {
        let partition = partition.to_be_bytes();
        let times = match state.pending.get(&times_key(partition))? {
            Some(bytes) => Times::decode(bytes)?,
            None => Times {
                stream: i64::MIN,
                observed: [i64::MIN; 2],
                sequence: 0,
            },
        };
        // The copies start empty: complete for a partition never seen, else from the next
        // millisecond on (older records are read from the store until the floor passes them).
        let floor = match times.stream {
            i64::MIN => i64::MIN,
            stream => stream.saturating_add(1),
        };
        let caches = [
            Some(WindowCache::new(floor, budget)),
            Some(WindowCache::new(floor, budget)),
        ];
        let retention = window.retention_ms();
        Ok(PartitionJoin {
            window,
            kind,
            partition,
            retention,
            segment: (retention / 2).max(60_000),
            times,
            times_dirty: false,
            holds_unmatched: window.grace.is_some() && kind != JoinKind::Inner,
            pending_floor: i64::MIN,
            caches,
            counters,
        })
    }

    fn process(
        &mut self,
        side: Side,
        decoded: &Decoded,
        rows: Range<usize>,
        state: &mut JoinState,
        out: &mut Vec<Emitted>,
    ) -> Result<()> {
        for index in rows {
            // A stream row with a null value (Kafka Streams skips those).
            if decoded.is_delete(index) || decoded.is_retract(index) {
                continue;
            }
            let row = decoded.row(index);
            let time = decoded.time(index);
            match decoded.key(index) {
                Some(key) => self.record(side, key, row, time, state, out)?,
                None if side.kept(self.kind) => {
                    out.push(Emitted::joined(side, Some(row), None, None, time));
                }
                None => {}
            }
        }
        Ok(())
    }

    /// Joins one record of `side`, then keeps it in its side's window store.
    fn record(
        &mut self,
        side: Side,
        key: &[u8],
        row: &[u8],
        time: i64,
        state: &mut JoinState,
        out: &mut Vec<Emitted>,
    ) -> Result<()> {
        if time > self.times.stream {
            self.times.stream = time;
            self.times_dirty = true;
            // The copies keep what reads of records a few windows out of order ask for.
            let reach = 2 * (self.window.before + self.window.after) + COPY_SLACK_MS;
            let floor = time.saturating_sub(reach);
            for cache in self.caches.iter_mut().flatten() {
                cache.raise_floor(floor);
            }
        }
        if self.holds_unmatched && time == self.times.stream {
            self.emit_closed(&mut state.pending, out)?;
        }
        // A left record at t matches right records in [t - before, t + after]; a right
        // record at t, left records in [t - after, t + before].
        let (before, after) = match side {
            Side::Left => (self.window.before, self.window.after),
            Side::Right => (self.window.after, self.window.before),
        };
        let from = time.saturating_sub(before).max(0);
        let to = time.saturating_add(after).max(0);
        let other = side.other();
        let matches = self.fetch(state, other, key, from, to)?;
        for (other_time, other_row) in &matches {
            if self.holds_unmatched && other.kept(self.kind) {
                let pending_key = pending_key(self.partition, *other_time, other, key);
                if state.pending.get(&pending_key)?.is_some() {
                    state.pending.delete(&pending_key);
                }
            }
            out.push(Emitted::joined(
                side,
                Some(row),
                Some(other_row),
                Some(key),
                time.max(*other_time),
            ));
        }
        if matches.is_empty() && side.kept(self.kind) {
            if !self.holds_unmatched || to < self.times.stream {
                out.push(Emitted::joined(side, Some(row), None, Some(key), time));
            } else {
                let pending_key = pending_key(self.partition, time, side, key);
                let mut rows = state
                    .pending
                    .get(&pending_key)?
                    .unwrap_or_default()
                    .to_vec();
                rows.extend_from_slice(&(row.len() as u32).to_be_bytes());
                rows.extend_from_slice(row);
                state.pending.put(&pending_key, rows);
                self.pending_floor = self.pending_floor.min(time);
            }
        }
        self.store(side, key, row, time, state.side(side))
    }

    /// The records of `side` with key `key` and a time in `[from, to]` that its store still
    /// holds, in time (then arrival) order.
    fn fetch(
        &self,
        state: &mut JoinState,
        side: Side,
        key: &[u8],
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, Vec<u8>)>> {
        let from = from.max(self.oldest_kept(side));
        let mut matches = Vec::new();
        if from > to {
            return Ok(matches);
        }
        if let Some(cache) = self.caches[side.index()]
            .as_ref()
            .filter(|c| c.covers(from))
        {
            matches.extend(
                cache
                    .fetch(key, from, to)
                    .map(|(time, row)| (time, row.to_vec())),
            );
            return Ok(matches);
        }
        for segment in self.segment_of(from)..=self.segment_of(to) {
            let start = window_key(self.partition, segment, key, from, &[]);
            let end = window_key(self.partition, segment, key, to, &[0xff; 9]);
            for (entry, row) in state.side(side).range(&start, &end)? {
                let time_at = entry.len().checked_sub(16);
                let time = time_at
                    .and_then(|at| from_ordered_i64(&entry[at..at + 8]))
                    .ok_or_else(|| ExecError::Internal("malformed join window key".into()))?;
                matches.push((time, row));
            }
        }
        Ok(matches)
    }

    /// Puts a record into its side's window store, unless it is too old for it (late), and
    /// drops the segments that fall out of the retention.
    fn store(
        &mut self,
        side: Side,
        key: &[u8],
        row: &[u8],
        time: i64,
        table: &mut StateTable,
    ) -> Result<()> {
        let observed = self.times.observed[side.index()];
        if time > observed {
            self.times.observed[side.index()] = time;
            self.times_dirty = true;
            if observed != i64::MIN {
                let from = self.segment_of(observed.saturating_sub(self.retention) + 1);
                let to = self.segment_of(time.saturating_sub(self.retention) + 1);
                if from < to {
                    let start = segment_key(self.partition, from);
                    let end = segment_key(self.partition, to);
                    // The copies may still hold some of these (a floor can be older than the
                    // retention), but reads never start before the oldest kept time and the
                    // rising floor forgets them.
                    for (entry, _) in table.range(&start, &end)? {
                        table.delete(&entry);
                    }
                }
            }
        }
        if time < self.oldest_kept(side) {
            self.counters.add_late(1);
            return Ok(());
        }
        let sequence = self.times.sequence;
        self.times.sequence += 1;
        self.times_dirty = true;
        let segment = self.segment_of(time);
        let entry = window_key(self.partition, segment, key, time, &sequence.to_be_bytes());
        table.put(&entry, row.to_vec());
        let cache = &mut self.caches[side.index()];
        if cache
            .as_mut()
            .is_some_and(|copy| !copy.insert(key, time, row))
        {
            // Over the join's budget: this side's reads go to the store from now on.
            *cache = None;
        }
        Ok(())
    }

    /// The oldest time the store of `side` keeps and returns.
    fn oldest_kept(&self, side: Side) -> i64 {
        self.times.observed[side.index()]
            .saturating_sub(self.retention)
            .saturating_add(1)
    }

    fn segment_of(&self, time: i64) -> i64 {
        time.div_euclid(self.segment)
    }

    /// Emits (null-padded, at their own time) and forgets the pending records whose window
    /// has closed: a left record at `p` once `p + after + grace` is before the stream time,
    /// a right one once `p + before + grace` is.
    fn emit_closed(&mut self, pending: &mut StateTable, out: &mut Vec<Emitted>) -> Result<()> {
        let grace = self.window.grace_ms();
        let (before, after) = (self.window.before, self.window.after);
        // Only records before this bound can have a closed window.
        let bound = self
            .times
            .stream
            .saturating_sub(grace)
            .saturating_sub(before.min(after));
        if self.pending_floor >= bound {
            return Ok(());
        }
        // From the floor: the pending deletes before it would be read again and again.
        let from = pending_bound(self.partition, self.pending_floor);
        let to = pending_bound(self.partition, bound);
        let (mut left_open, mut right_open) = (false, false);
        let mut floor = bound;
        for (entry, rows) in pending.range(&from, &to)? {
            if left_open && right_open {
                break;
            }
            let (time, side, key) = split_pending_key(&entry)?;
            let lookback = match side {
                Side::Left => after,
                Side::Right => before,
            };
            if time.saturating_add(lookback).saturating_add(grace) >= self.times.stream {
                match side {
                    Side::Left => left_open = true,
                    Side::Right => right_open = true,
                }
                floor = floor.min(time);
                continue;
            }
            let mut rows: &[u8] = &rows;
            while !rows.is_empty() {
                let row = split_pending_row(&mut rows)?;
                out.push(Emitted::joined(side, Some(row), None, Some(key), time));
            }
            pending.delete(&entry);
        }
        self.pending_floor = floor;
        Ok(())
    }

    /// Writes the stream times to `pending` if they changed.
    fn save_times(&mut self, pending: &mut StateTable) {
        if std::mem::take(&mut self.times_dirty) {
            pending.put(&times_key(self.partition), self.times.encode());
        }
    }
}

/// `t | partition`: the key of a partition's stream times in the pending table.
fn times_key(partition: [u8; 4]) -> [u8; 5] {
    let [a, b, c, d] = partition;
    [TIMES, a, b, c, d]
}

/// `partition | segment`: the first window-store key of a segment.
fn segment_key(partition: [u8; 4], segment: i64) -> Vec<u8> {
    let mut entry = Vec::with_capacity(12);
    entry.extend_from_slice(&partition);
    entry.extend_from_slice(&ordered_i64(segment));
    entry
}

/// `partition | segment | key | time | suffix`: a window-store key (suffix: the sequence)
/// or a bound.
fn window_key(partition: [u8; 4], segment: i64, key: &[u8], time: i64, suffix: &[u8]) -> Vec<u8> {
    let mut entry = segment_key(partition, segment);
    entry.reserve(8 + key.len() + suffix.len());
    entry.extend_from_slice(key);
    entry.extend_from_slice(&ordered_i64(time));
    entry.extend_from_slice(suffix);
    entry
}

/// `p | partition | time`: the first pending key of a partition at a time.
fn pending_bound(partition: [u8; 4], time: i64) -> Vec<u8> {
    let mut entry = Vec::with_capacity(13);
    entry.push(PENDING);
    entry.extend_from_slice(&partition);
    entry.extend_from_slice(&ordered_i64(time));
    entry
}

/// `p | partition | time | side | key`.
fn pending_key(partition: [u8; 4], time: i64, side: Side, key: &[u8]) -> Vec<u8> {
    let mut entry = pending_bound(partition, time);
    entry.reserve(1 + key.len());
    entry.push(match side {
        Side::Left => PENDING_LEFT,
        Side::Right => PENDING_RIGHT,
    });
    entry.extend_from_slice(key);
    entry
}

/// The time, side and key of a pending key (its partition is the one scanned).
fn split_pending_key(entry: &[u8]) -> Result<(i64, Side, &[u8])> {
    let malformed = || ExecError::Internal("malformed join pending key".into());
    if entry.len() < 14 {
        return Err(malformed());
    }
    let time = from_ordered_i64(&entry[5..13]).ok_or_else(malformed)?;
    let side = match entry[13] {
        PENDING_LEFT => Side::Left,
        PENDING_RIGHT => Side::Right,
        _ => return Err(malformed()),
    };
    Ok((time, side, &entry[14..]))
}

/// The next of a pending entry's rows (each: 4-byte length, bytes).
fn split_pending_row<'a>(rows: &mut &'a [u8]) -> Result<&'a [u8]> {
    let malformed = || ExecError::Internal("malformed join pending rows".into());
    let length = rows
        .get(..4)
        .and_then(|length| length.try_into().ok())
        .map(|length| u32::from_be_bytes(length) as usize)
        .ok_or_else(malformed)?;
    let row = rows.get(4..4 + length).ok_or_else(malformed)?;
    *rows = &rows[4 + length..];
    Ok(row)
}
