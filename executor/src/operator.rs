//! Operators: the units a task runs. One file per operator.
//!
//! Sources (`source`) turn topic records into Arrow batches; every other operator implements
//! `Operator`: it processes batches arriving on its inputs, may react when the task's
//! stream time advances, hands its state writes to the epoch and flushes what it buffers.
//! Operators never know which task, query or committer runs them: their state tables and
//! everything else they need are given when they are built (`graph::OperatorGraph`).

pub mod aggregate;
pub mod join;
pub mod repartition;
pub mod sink;
pub mod source;
pub mod stateless;
#[cfg(test)]
pub(crate) mod testing;
pub mod window;

use arrow::record_batch::RecordBatch;

use crate::Result;
use crate::commit::StateWrite;
use crate::log::Record;

/// What an operator sees of the epoch it runs in.
#[derive(Debug)]
pub struct OperatorContext<'a> {
    /// The source partition (the task's partition group) the rows come from.
    pub partition: u32,
    /// Records produced in this epoch, `(topic, partition, record)` in produce order:
    /// sinks add theirs, the committer makes them visible with the epoch.
    pub produced: &'a mut Vec<(String, u32, Record)>,
}

/// A batch-at-a-time operator of a dataflow.
///
/// A stream input is append-only rows; a table (changelog) input carries a `$op` column
/// telling upserts, deletes and retractions apart (see `planner::catalog::OP_COLUMN`).
pub trait Operator: Send {
    /// Processes `batch` arriving on input `input` (0 for a single-input operator) and
    /// returns the rows it emits now (possibly none).
    fn process(
        &mut self,
        input: usize,
        batch: RecordBatch,
        context: &mut OperatorContext<'_>,
    ) -> Result<RecordBatch>;

    /// The stream time of the task's partition group (the minimum over its inputs of the
    /// largest record time each has delivered) advanced to `time`; returns what that
    /// emits (windows or join buffers it closes). Most operators emit nothing.
    fn advance_time(
        &mut self,
        _time: i64,
        _context: &mut OperatorContext<'_>,
    ) -> Result<Option<RecordBatch>> {
        Ok(None)
    }

    /// Moves the state writes made since the last call into `writes`, for the epoch.
    fn take_writes(&mut self, _writes: &mut Vec<StateWrite>) -> Result<()> {
        Ok(())
    }

    /// The epoch ends: returns what the operator buffered for it (most buffer nothing).
    fn flush(&mut self, _context: &mut OperatorContext<'_>) -> Result<Option<RecordBatch>> {
        Ok(None)
    }
}
