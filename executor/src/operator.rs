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

use std::ops::Range;

use arrow::record_batch::RecordBatch;

use crate::Result;
use crate::commit::StateWrite;
use crate::log::{Header, Record};

/// What an operator sees of the epoch it runs in.
#[derive(Debug)]
pub struct OperatorContext<'a> {
    /// The source partition (the task's partition group) the rows come from.
    pub partition: u32,
    /// Records produced in this epoch, `(topic, partition, record)` in produce order:
    /// sinks add theirs, the committer makes them visible with the epoch.
    pub produced: &'a mut Vec<(String, u32, Record)>,
    /// For each row of the batch being processed, the headers of the input record whose
    /// processing emitted it (Kafka Streams' record context), when the graph knows them:
    /// a sink or a repartition writes them on the row's record. `None`: no headers.
    pub headers: Option<Vec<Vec<Header>>>,
}

impl<'a> OperatorContext<'a> {
    /// A context for rows of `partition` producing into `produced`, without headers.
    pub fn new(partition: u32, produced: &'a mut Vec<(String, u32, Record)>) -> Self {
        OperatorContext {
            partition,
            produced,
            headers: None,
        }
    }

    /// Adds `records` (`(partition, record)`) of `topic` to the epoch's records.
    pub fn produce(&mut self, topic: &str, records: Vec<(u32, Record)>) {
        self.produced.extend(
            records
                .into_iter()
                .map(|(partition, record)| (topic.to_string(), partition, record)),
        );
    }
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

    /// Processes runs of rows of several inputs in the order given: `(input, rows)` is rows
    /// `rows` of `batches[input]`. The same as processing each run's slice in turn (the
    /// default does just that), in one call: an operator fed by interleaved inputs, as a
    /// join of two streams is, overrides it to pay its per-batch costs once.
    fn process_runs(
        &mut self,
        batches: &[RecordBatch],
        runs: &[(usize, Range<usize>)],
        context: &mut OperatorContext<'_>,
    ) -> Result<RecordBatch> {
        let mut outputs = Vec::with_capacity(runs.len());
        for (input, rows) in runs {
            let batch = batches[*input].slice(rows.start, rows.len());
            outputs.push(self.process(*input, batch, context)?);
        }
        concat_outputs(outputs)
    }

    /// `process`, also telling where each output row comes from: `origins` names a record
    /// for each row of `batch` (of input `input`); on return it holds, for each row emitted,
    /// the entry of the input row whose processing emitted it (filters and projections keep
    /// their rows' entries; an aggregation or a join names the row that triggered each
    /// output). `None`: the operator does not track its rows.
    fn process_tracked(
        &mut self,
        _input: usize,
        _batch: RecordBatch,
        _origins: &mut Vec<u32>,
        _context: &mut OperatorContext<'_>,
    ) -> Option<Result<RecordBatch>> {
        None
    }

    /// `process_runs`, tracking rows as `process_tracked` does: `origins[input]` names a
    /// record for each row of `batches[input]`; returns the output and the entry of each
    /// of its rows. `None`: the operator does not track its rows.
    fn process_runs_tracked(
        &mut self,
        _batches: &[RecordBatch],
        _runs: &[(usize, Range<usize>)],
        _origins: &[Vec<u32>],
        _context: &mut OperatorContext<'_>,
    ) -> Option<Result<(RecordBatch, Vec<u32>)>> {
        None
    }

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

/// The rows of `outputs` (batches of one schema, at least one) as one batch.
pub(crate) fn concat_outputs(outputs: Vec<RecordBatch>) -> Result<RecordBatch> {
    let schema = outputs
        .first()
        .map(RecordBatch::schema)
        .ok_or_else(|| crate::ExecError::Internal("no output batch to concatenate".into()))?;
    let mut filled: Vec<RecordBatch> = outputs
        .into_iter()
        .filter(|batch| batch.num_rows() > 0)
        .collect();
    match filled.len() {
        0 => Ok(RecordBatch::new_empty(schema)),
        1 => Ok(filled.remove(0)),
        _ => Ok(arrow::compute::concat_batches(&schema, &filled)?),
    }
}
