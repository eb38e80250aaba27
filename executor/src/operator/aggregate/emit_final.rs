//! `EMIT FINAL` of the aggregate operator: per input partition, the windows not emitted yet,
//! ordered by end, and their emission once the stream time of that partition closes them
//! (`end + grace`), as Kafka Streams suppresses a windowed table per task. They are kept in
//! the `open` state table too (`partition | end | state key`, written in the epoch that
//! opens or emits them), so that a restart emits exactly what an uninterrupted run would.

use std::collections::BTreeSet;

use super::{AggregateOperator, OutRow, split_state_key};
use crate::operator::window::{from_ordered_i64, ordered_i64};
use crate::{ExecError, Result};

/// The key of an open window in the `open` table: its input partition, its end (ordered),
/// then its state key, so that a partition's windows are one range in end order.
fn open_key(partition: u32, end: i64, state_key: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(12 + state_key.len());
    key.extend_from_slice(&partition.to_be_bytes());
    key.extend_from_slice(&ordered_i64(end));
    key.extend_from_slice(state_key);
    key
}

impl AggregateOperator {
    /// Remembers a window of `partition` until it closes.
    pub(super) fn open(
        &mut self,
        partition: u32,
        end: i64,
        state_key: &[u8],
        start: i64,
    ) -> Result<()> {
        let inserted = self
            .open_windows_of(partition)?
            .insert((end, state_key.to_vec(), start));
        if inserted && let Some(open) = &mut self.open {
            open.put(&open_key(partition, end, state_key), Vec::new());
        }
        Ok(())
    }

    /// Forgets a window of `partition` (emitted, merged away or expired).
    pub(super) fn close(
        &mut self,
        partition: u32,
        end: i64,
        state_key: &[u8],
        start: i64,
    ) -> Result<()> {
        let removed = self
            .open_windows_of(partition)?
            .remove(&(end, state_key.to_vec(), start));
        if removed && let Some(open) = &mut self.open {
            open.delete(&open_key(partition, end, state_key));
        }
        Ok(())
    }

    /// The open windows of `partition`, read from the `open` table on first use (after a
    /// restart, the windows earlier runs opened and did not emit).
    fn open_windows_of(&mut self, partition: u32) -> Result<&mut BTreeSet<(i64, Vec<u8>, i64)>> {
        if !self.open_windows.contains_key(&partition) {
            let mut windows = BTreeSet::new();
            if let (Some(open), Some(window)) = (&mut self.open, self.window) {
                let from = partition.to_be_bytes();
                let to = match partition.checked_add(1) {
                    Some(next) => next.to_be_bytes().to_vec(),
                    None => vec![0xff; 5],
                };
                for (key, _) in open.range(&from, &to)? {
                    let (end, state_key) = key
                        .get(4..12)
                        .and_then(from_ordered_i64)
                        .zip(key.get(12..))
                        .ok_or_else(|| {
                            ExecError::Internal("a malformed open window of EMIT FINAL".into())
                        })?;
                    let (_, start, _) = split_state_key(state_key, window).ok_or_else(|| {
                        ExecError::Internal("a malformed open window of EMIT FINAL".into())
                    })?;
                    windows.insert((end, state_key.to_vec(), start));
                }
            }
            self.open_windows.insert(partition, windows);
        }
        Ok(self
            .open_windows
            .get_mut(&partition)
            .expect("inserted above"))
    }

    /// Emits the windows of `partition` closed by its stream time.
    pub(super) fn emit_closed(&mut self, partition: u32, out: &mut Vec<OutRow>) -> Result<()> {
        let Some(window) = self.window else {
            return Ok(());
        };
        let stream_time = self
            .stream_times
            .get(&partition)
            .copied()
            .unwrap_or(i64::MIN);
        loop {
            let Some(first) = self.open_windows_of(partition)?.first().cloned() else {
                break;
            };
            let (end, state_key, start) = first;
            if end.saturating_add(window.grace) > stream_time {
                break;
            }
            self.close(partition, end, &state_key, start)?;
            // A window past retention is gone from the store before it could be emitted.
            if end <= stream_time.saturating_sub(window.retention) {
                self.state.delete(&state_key);
                continue;
            }
            let Some((rowtime, states)) = self.load(&state_key)? else {
                continue;
            };
            let Some((key, _, _)) = split_state_key(&state_key, window) else {
                continue;
            };
            out.push(OutRow {
                key: key.to_vec(),
                start,
                end,
                values: Some(self.results(&states)),
                rowtime,
            });
        }
        Ok(())
    }
}
