//! The join operator: matches rows of two inputs on equal join keys (stream-stream within a
//! window, stream-table, table-table and foreign-key), keeping each side as state.
//!
//! Records are processed one at a time in input order, with Kafka Streams' semantics as
//! ksqlDB uses them; each variant's file says which. Rows and keys are kept in Arrow's row
//! format (`codec`). All state goes through the three `JoinState` tables.

mod codec;
mod foreign_key;
mod stream_stream;
mod table;
#[cfg(test)]
mod tests;
mod window_cache;

use std::ops::Range;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use planner::plan::{DataflowNode, JoinKind, JoinNode, JoinVariant};

use self::codec::{Decoded, Emitted, JoinCodec};
use self::stream_stream::StreamStreamJoin;
use crate::commit::StateWrite;
use crate::metrics::Counters;
use crate::operator::{Operator, OperatorContext};
use crate::state::StateTable;
use crate::{ExecError, Result};

/// The state tables of one join.
pub struct JoinState {
    /// Left rows: stream-stream, by (partition, segment, key, time, sequence); tables, by
    /// key.
    pub left: StateTable,
    /// Right rows, the same way.
    pub right: StateTable,
    /// Stream-stream: each partition's stream times and the unmatched rows of an outer join
    /// waiting for their window to close; foreign-key: the left keys per foreign key.
    pub pending: StateTable,
}

impl JoinState {
    fn side(&mut self, side: Side) -> &mut StateTable {
        match side {
            Side::Left => &mut self.left,
            Side::Right => &mut self.right,
        }
    }
}

/// One input of a join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

impl Side {
    fn index(self) -> usize {
        match self {
            Side::Left => 0,
            Side::Right => 1,
        }
    }

    fn other(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }

    /// Whether a join of `kind` emits this side's rows without a match.
    fn kept(self, kind: JoinKind) -> bool {
        match self {
            Side::Left => kind.keeps_left(),
            Side::Right => kind.keeps_right(),
        }
    }
}

enum Variant {
    StreamStream(StreamStreamJoin),
    StreamTable,
    /// `retract`: emit each key's previous joined row as a retraction first.
    TableTable {
        retract: bool,
    },
    ForeignKey,
}

/// The join operator of one query: input 0 is the left side, input 1 the right.
///
/// Stream inputs (append-only; rows with a null value are skipped):
/// - stream-stream: each record emits its matches within the window on the other side, at
///   the later of the two times; for a side an outer join keeps, a record without a match
///   is emitted null-padded at its own time: at once without a grace period, else once its
///   window has closed (or at once if it already has). Records older than a store's
///   retention are counted as late, joined, and not kept. Stream times, windows and stores
///   are per source partition, as Kafka Streams runs one task per partition.
/// - stream-table, stream side: a record emits itself with the table's current row for its
///   key, at its own time (LEFT: null-padded when there is none).
///
/// Table inputs (changelogs; retractions are skipped):
/// - stream-table, table side: an upsert or a delete (tombstone) changes the table and emits
///   nothing.
/// - table-table and foreign-key joins emit a changelog (`$op`): an upsert on either side
///   emits the new joined row of each key it affects; a delete emits the joined row without
///   the deleted side when the join keeps the other one, else a delete of the key. A
///   table-table join read by an aggregation (`JoinNode::retract`) emits the key's previous
///   joined row as a retraction before each of these.
///   Table-table deletes have null value columns; foreign-key deletes carry the left row,
///   whose key columns are the output key.
pub struct JoinOperator {
    codec: JoinCodec,
    kind: JoinKind,
    variant: Variant,
    state: JoinState,
}

impl JoinOperator {
    pub fn new(node: &JoinNode, state: JoinState, counters: Arc<Counters>) -> Result<Self> {
        let primary_key = match node.variant {
            JoinVariant::ForeignKey => Some(key_columns(&node.left)?),
            _ => None,
        };
        let codec = JoinCodec::new(node, primary_key, Arc::clone(&counters))?;
        let variant = match node.variant {
            JoinVariant::StreamStream(window) => {
                Variant::StreamStream(StreamStreamJoin::new(window, node.kind, counters))
            }
            JoinVariant::StreamTable => match node.kind {
                JoinKind::Inner | JoinKind::Left => Variant::StreamTable,
                _ => return Err(unsupported(node)),
            },
            JoinVariant::TableTable => Variant::TableTable {
                retract: node.retract,
            },
            JoinVariant::ForeignKey => match node.kind {
                JoinKind::Inner | JoinKind::Left => Variant::ForeignKey,
                _ => return Err(unsupported(node)),
            },
        };
        Ok(JoinOperator {
            codec,
            kind: node.kind,
            variant,
            state,
        })
    }
}

fn unsupported(node: &JoinNode) -> ExecError {
    ExecError::Internal(format!(
        "{} {} joins are not supported (a planner bug)",
        node.variant.name(),
        node.kind.name()
    ))
}

/// The indices of the primary key columns of a table node's rows.
fn key_columns(node: &DataflowNode) -> Result<Vec<usize>> {
    match node {
        DataflowNode::Source(source) => Ok((0..source.key_fields.len()).collect()),
        DataflowNode::Filter(filter) => key_columns(&filter.input),
        DataflowNode::TableFunction(node) => key_columns(&node.input),
        DataflowNode::Repartition(repartition) => key_columns(&repartition.input),
        DataflowNode::Project(project) => Ok((0..project.key_columns).collect()),
        DataflowNode::Aggregate(aggregate) => Ok((0..aggregate.group_by.len()).collect()),
        DataflowNode::Join(join) => {
            let passed_on = join.left_side.columns.len() + join.right_side.columns.len();
            match join.variant {
                // The key of a foreign-key join is the left's: find its columns among the
                // passed-on ones.
                JoinVariant::ForeignKey => key_columns(&join.left)?
                    .into_iter()
                    .map(|column| {
                        join.left_side
                            .columns
                            .iter()
                            .position(|passed| *passed == column)
                            .ok_or_else(|| {
                                ExecError::Internal(
                                    "a foreign-key join drops its left key columns".into(),
                                )
                            })
                    })
                    .collect(),
                _ => Ok((passed_on..passed_on + join.left_keys.len()).collect()),
            }
        }
    }
}

impl JoinOperator {
    /// Joins rows `rows` of `decoded`, from `side`, into `out`.
    fn join(
        &mut self,
        side: Side,
        decoded: &Decoded,
        rows: Range<usize>,
        partition: u32,
        out: &mut Vec<Emitted>,
    ) -> Result<()> {
        let state = &mut self.state;
        match &mut self.variant {
            Variant::StreamStream(join) => join.process(side, decoded, rows, partition, state, out),
            Variant::StreamTable => table::stream_table(self.kind, side, decoded, rows, state, out),
            Variant::TableTable { retract } => {
                table::table_table((self.kind, *retract), side, decoded, rows, state, out)
            }
            Variant::ForeignKey => {
                foreign_key::foreign_key(self.kind, side, decoded, rows, state, out)
            }
        }
    }
}

impl JoinOperator {
    /// `process_runs`, one row at a time: returns the output and, for each of its rows, the
    /// entry in `origins` of the input row that emitted it.
    fn runs_tracked(
        &mut self,
        batches: &[RecordBatch],
        runs: &[(usize, Range<usize>)],
        origins: &[Vec<u32>],
        context: &mut OperatorContext<'_>,
    ) -> Result<(RecordBatch, Vec<u32>)> {
        // Only the inputs some run reads are decoded (the others may be placeholders).
        let mut decoded = Vec::with_capacity(batches.len());
        for (input, batch) in batches.iter().enumerate() {
            decoded.push(match runs.iter().any(|(run, _)| *run == input) {
                true => Some(self.codec.decode(side_of(input)?, batch)?),
                false => None,
            });
        }
        let mut out = Vec::new();
        let mut emitted_by = Vec::new();
        for (input, rows) in runs {
            let side = side_of(*input)?;
            let decoded = decoded[*input]
                .as_ref()
                .ok_or_else(|| ExecError::Internal("a run of an undecoded input".into()))?;
            for row in rows.clone() {
                self.join(side, decoded, row..row + 1, context.partition, &mut out)?;
                let origin = origins[*input].get(row).copied().unwrap_or_default();
                emitted_by.resize(out.len(), origin);
            }
        }
        Ok((self.codec.build(&out)?, emitted_by))
    }
}

#[cfg(test)]
impl JoinOperator {
    /// The operator with `bytes` for in-memory copies of stream-stream window stores.
    pub(crate) fn with_window_budget(mut self, bytes: usize) -> Self {
        if let Variant::StreamStream(join) = &mut self.variant {
            join.set_budget(bytes);
        }
        self
    }
}

/// The side input `input` of a join is.
fn side_of(input: usize) -> Result<Side> {
    match input {
        0 => Ok(Side::Left),
        1 => Ok(Side::Right),
        _ => Err(ExecError::Internal(format!("a join has no input {input}"))),
    }
}

impl Operator for JoinOperator {
    fn process(
        &mut self,
        input: usize,
        batch: RecordBatch,
        context: &mut OperatorContext<'_>,
    ) -> Result<RecordBatch> {
        let side = side_of(input)?;
        let decoded = self.codec.decode(side, &batch)?;
        let mut out = Vec::new();
        self.join(
            side,
            &decoded,
            0..decoded.len(),
            context.partition,
            &mut out,
        )?;
        self.codec.build(&out)
    }

    /// Decodes each input's batch once and builds one output batch.
    fn process_runs(
        &mut self,
        batches: &[RecordBatch],
        runs: &[(usize, Range<usize>)],
        context: &mut OperatorContext<'_>,
    ) -> Result<RecordBatch> {
        let mut decoded = Vec::with_capacity(batches.len());
        for (input, batch) in batches.iter().enumerate() {
            decoded.push(self.codec.decode(side_of(input)?, batch)?);
        }
        let mut out = Vec::new();
        for (input, rows) in runs {
            let side = side_of(*input)?;
            self.join(
                side,
                &decoded[*input],
                rows.clone(),
                context.partition,
                &mut out,
            )?;
        }
        self.codec.build(&out)
    }

    /// Each joined row names the input row that triggered it.
    fn process_tracked(
        &mut self,
        input: usize,
        batch: RecordBatch,
        origins: &mut Vec<u32>,
        context: &mut OperatorContext<'_>,
    ) -> Option<Result<RecordBatch>> {
        let run = [(input, 0..batch.num_rows())];
        let inputs = match input {
            0 => vec![std::mem::take(origins)],
            _ => vec![Vec::new(), std::mem::take(origins)],
        };
        let mut batches = vec![RecordBatch::new_empty(batch.schema()); input];
        batches.push(batch);
        Some(
            self.runs_tracked(&batches, &run, &inputs, context)
                .map(|(output, rows)| {
                    *origins = rows;
                    output
                }),
        )
    }

    /// Joins row by row, each joined row naming the input row that triggered it.
    fn process_runs_tracked(
        &mut self,
        batches: &[RecordBatch],
        runs: &[(usize, Range<usize>)],
        origins: &[Vec<u32>],
        context: &mut OperatorContext<'_>,
    ) -> Option<Result<(RecordBatch, Vec<u32>)>> {
        Some(self.runs_tracked(batches, runs, origins, context))
    }

    fn take_writes(&mut self, writes: &mut Vec<StateWrite>) -> Result<()> {
        if let Variant::StreamStream(join) = &mut self.variant {
            join.save_times(&mut self.state.pending);
        }
        writes.extend(self.state.left.take_writes());
        writes.extend(self.state.right.take_writes());
        writes.extend(self.state.pending.take_writes());
        Ok(())
    }
}

/// A table row as state: its time (8 bytes, big-endian) then its row bytes.
fn timed_row(time: i64, row: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(8 + row.len());
    value.extend_from_slice(&time.to_be_bytes());
    value.extend_from_slice(row);
    value
}

/// The inverse of `timed_row`.
fn split_timed_row(value: &[u8]) -> Result<(i64, &[u8])> {
    if value.len() < 8 {
        return Err(ExecError::Internal("truncated join state".into()));
    }
    let (time, row) = value.split_at(8);
    Ok((
        i64::from_be_bytes(time.try_into().expect("eight bytes")),
        row,
    ))
}

/// A table side's row of `key`: its time and row bytes.
fn table_row(table: &mut StateTable, key: &[u8]) -> Result<Option<(i64, Vec<u8>)>> {
    match table.get(key)? {
        Some(value) => {
            let (time, row) = split_timed_row(value)?;
            Ok(Some((time, row.to_vec())))
        }
        None => Ok(None),
    }
}
