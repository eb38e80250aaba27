//! `EMIT FINAL` of the aggregate operator: the windows not emitted yet, ordered by end, and
//! their emission once stream time closes them (`end + grace`).

use std::collections::BTreeSet;

use super::{AggregateOperator, OutRow, split_state_key};
use crate::Result;

impl AggregateOperator {
    /// `EMIT FINAL`: remembers a window until it closes.
    pub(super) fn open(&mut self, end: i64, state_key: &[u8], start: i64) -> Result<()> {
        self.rebuild_open_windows()?;
        if let Some(open) = &mut self.open_windows {
            open.insert((end, state_key.to_vec(), start));
        }
        Ok(())
    }

    /// After a restart: the windows not emitted yet are those not closed by stream time.
    fn rebuild_open_windows(&mut self) -> Result<()> {
        if self.open_windows.is_some() {
            return Ok(());
        }
        let Some(window) = self.window else {
            self.open_windows = Some(BTreeSet::new());
            return Ok(());
        };
        let mut times = Vec::new();
        for (key, value) in self.times.range(&[], &[0xff; 5])? {
            let partition = u32::from_be_bytes(key.as_slice().try_into().unwrap_or_default());
            let time = i64::from_be_bytes(value.as_slice().try_into().unwrap_or_default());
            self.stream_times.entry(partition).or_insert(time);
            times.push(time);
        }
        let stream_time = times.into_iter().max().unwrap_or(i64::MIN);
        let mut open = BTreeSet::new();
        for (state_key, _) in self.state.range(&[], &[0xff; 64])? {
            let Some((_, start, end)) = split_state_key(&state_key, window) else {
                continue;
            };
            if end.saturating_add(window.grace) > stream_time {
                open.insert((end, state_key, start));
            }
        }
        self.open_windows = Some(open);
        Ok(())
    }

    /// `EMIT FINAL`: emits the windows closed by the stream time of `partition`.
    pub(super) fn emit_closed(&mut self, partition: u32, out: &mut Vec<OutRow>) -> Result<()> {
        let Some(window) = self.window else {
            return Ok(());
        };
        self.rebuild_open_windows()?;
        let stream_time = self
            .stream_times
            .get(&partition)
            .copied()
            .unwrap_or(i64::MIN);
        while let Some(first) = self
            .open_windows
            .as_ref()
            .and_then(|open| open.first().cloned())
        {
            let (end, state_key, start) = first;
            if end.saturating_add(window.grace) > stream_time {
                break;
            }
            if let Some(open) = &mut self.open_windows {
                open.pop_first();
            }
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
