//! The aggregate operator: groups rows by key (and window), keeps one state per group in a
//! state table, and emits the changelog of the aggregated table.
//!
//! State key: the group key in Arrow's row format (byte-comparable, self-delimiting), then
//! for time windows the window start, for session windows the window end then start (both as
//! order-preserving 8 bytes). State value: the maximum record time, then each aggregate's
//! encoded state. Stream time per input partition is kept in a second state table (and for
//! `EMIT FINAL` the windows not emitted yet in a third), so a restart drops, closes and
//! emits exactly what an uninterrupted run would.
//!
//! Semantics follow Kafka Streams as ksqlDB uses it: records with a null group key are
//! skipped; a window closes when stream time reaches `window end + grace`, later records are
//! dropped and counted; session windows merge when a record falls within `gap` of them (the
//! merged-away sessions are deleted with tombstones); the output time of a row is the
//! largest record time of its group; `EMIT FINAL` emits each window once, when the stream
//! time of its partition closes it, in window-end order.

mod emit_final;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use datafusion::common::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Int8Array, Int64Array};
use arrow::compute::filter_record_batch;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};
use datafusion::common::ScalarValue;
use datafusion::execution::context::ExecutionProps;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::physical_expr::{PhysicalExpr, create_physical_expr};
use planner::catalog::{
    OP_COLUMN, OP_DELETE, OP_RETRACT, OP_UPSERT, ROWOFFSET, ROWTIME, WindowKind,
};
use planner::plan::{AggregateNode, WindowPlan};

use crate::aggregate::function::{AggState, AggregateFunction};
use crate::commit::StateWrite;
use crate::metrics::Counters;
use crate::operator::window::{from_ordered_i64, ordered_i64, time_windows};
use crate::operator::{Operator, OperatorContext};
use crate::state::StateTable;
use crate::{ExecError, Result};

/// One output row being assembled.
struct OutRow {
    /// Group key in row format.
    key: Vec<u8>,
    start: i64,
    end: i64,
    /// Aggregate results; `None` for a delete.
    values: Option<Vec<ScalarValue>>,
    rowtime: i64,
}

/// Where an aggregate operator keeps its state: the tables `AggregateNode::state` names.
pub struct AggregateState {
    /// The aggregates of each group (and window).
    pub groups: StateTable,
    /// The stream time of each input partition.
    pub times: StateTable,
    /// `EMIT FINAL`: the windows not emitted yet.
    pub open: Option<StateTable>,
}

/// The aggregate operator of one query.
pub struct AggregateOperator {
    group_exprs: Vec<Arc<dyn PhysicalExpr>>,
    arg_exprs: Vec<Vec<Arc<dyn PhysicalExpr>>>,
    functions: Vec<AggregateFunction>,
    converter: RowConverter,
    window: Option<WindowPlan>,
    emit_final: bool,
    per_record: bool,
    state: StateTable,
    times: StateTable,
    stream_times: HashMap<u32, i64>,
    dirty_times: Vec<u32>,
    /// `EMIT FINAL`: per input partition (loaded from `open` on first use), the windows not
    /// yet emitted, by (window end, state key, start).
    open_windows: HashMap<u32, BTreeSet<(i64, Vec<u8>, i64)>>,
    /// `EMIT FINAL`: the same windows as state (`emit_final::open_key`).
    open: Option<StateTable>,
    schema: SchemaRef,
    counters: Arc<Counters>,
}

impl AggregateOperator {
    /// Compiles the node; its state lives in `state`, the tables the plan names in
    /// `node.state` (`EMIT FINAL` needs `open`).
    pub fn new(
        node: &AggregateNode,
        state: AggregateState,
        counters: Arc<Counters>,
    ) -> Result<Self> {
        if node.emit_final && state.open.is_none() {
            return Err(ExecError::Internal(
                "an EMIT FINAL aggregation without a state table of open windows".into(),
            ));
        }
        let props = ExecutionProps::new();
        let context = PhysicalPlanningContext::default();
        let input_schema = node.input.schema();
        let group_exprs = node
            .group_by
            .iter()
            .map(|expr| create_physical_expr(expr, input_schema, &props, &context))
            .collect::<datafusion::error::Result<Vec<_>>>()?;
        let arg_exprs = node
            .aggregates
            .iter()
            .map(|call| {
                call.args
                    .iter()
                    .map(|expr| create_physical_expr(expr, input_schema, &props, &context))
                    .collect::<datafusion::error::Result<Vec<_>>>()
            })
            .collect::<datafusion::error::Result<Vec<_>>>()?;
        let functions = node
            .aggregates
            .iter()
            .map(|call| {
                let function = AggregateFunction::new(&call.signature)?;
                Ok(match call.limit {
                    Some(limit) => function.with_limit(limit),
                    None => function,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let output_schema: SchemaRef = Arc::new(node.schema.as_arrow().clone());
        let sort_fields = output_schema
            .fields()
            .iter()
            .take(node.group_by.len())
            .map(|field| SortField::new(field.data_type().clone()))
            .collect();
        let converter = RowConverter::new(sort_fields)?;
        Ok(AggregateOperator {
            group_exprs,
            arg_exprs,
            functions,
            converter,
            window: node.window,
            emit_final: node.emit_final,
            per_record: node.emit_per_record,
            state: state.groups,
            times: state.times,
            stream_times: HashMap::new(),
            dirty_times: Vec::new(),
            open_windows: HashMap::new(),
            open: state.open.filter(|_| node.emit_final),
            schema: output_schema,
            counters,
        })
    }

    /// Aggregates a batch of one input partition; returns the changelog rows it emits and,
    /// for each, the input row whose processing emitted it.
    fn aggregate(
        &mut self,
        batch: &RecordBatch,
        partition: u32,
    ) -> Result<(RecordBatch, Vec<u32>)> {
        let (batch, groups, args, kept) = match self.evaluate(batch) {
            Ok((groups, args)) => (batch.clone(), groups, args, None),
            Err(_) => {
                let (batch, kept) = self.without_bad_rows(batch)?;
                let (groups, args) = self.evaluate(&batch)?;
                (batch, groups, args, Some(kept))
            }
        };
        let rows_count = batch.num_rows();
        let rows = self.converter.convert_columns(&groups)?;
        let rowtimes = int64_column(&batch, ROWTIME)?;
        let offsets = int64_column(&batch, ROWOFFSET).ok();
        let ops = batch
            .column_by_name(OP_COLUMN)
            .and_then(|column| column.as_any().downcast_ref::<Int8Array>().cloned());
        let mut out: Vec<OutRow> = Vec::new();
        // The input row each entry of `out` comes from.
        let mut origins: Vec<u32> = Vec::new();
        let mut positions: HashMap<Vec<u8>, usize> = HashMap::default();
        let per_record = self.per_record;
        // Every update is a row, or (with a record cache) the last update of each state key.
        let mut emit = |state_key: Vec<u8>, row: OutRow, out: &mut Vec<OutRow>| match positions
            .get(&state_key)
        {
            Some(&index) if !per_record => {
                out[index] = row;
                Some(index)
            }
            _ => {
                positions.insert(state_key, out.len());
                out.push(row);
                None
            }
        };
        for row in 0..rows_count {
            let origin = match &kept {
                Some(kept) => kept[row],
                None => row as u32,
            };
            origins.resize(out.len(), origin);
            if groups.iter().any(|group| group.is_null(row)) {
                continue;
            }
            let op = ops.as_ref().map_or(OP_UPSERT, |ops| {
                if ops.is_null(row) {
                    OP_UPSERT
                } else {
                    ops.value(row)
                }
            });
            if op == OP_DELETE {
                continue;
            }
            let retract = op == OP_RETRACT;
            let timestamp = rowtimes.value(row);
            let key = rows.row(row).as_ref().to_vec();
            // A table update that stays in its group is one change (subtract, then add), as
            // Kafka Streams aggregates it: the intermediate retraction is not emitted.
            let same_change = retract
                && row + 1 < rows_count
                && ops
                    .as_ref()
                    .is_some_and(|ops| ops.value(row + 1) == OP_UPSERT)
                && offsets.is_some_and(|offsets| offsets.value(row) == offsets.value(row + 1))
                && rows.row(row) == rows.row(row + 1);
            match self.window {
                None if same_change => {
                    self.update(&key, &args, row, timestamp, retract)?;
                }
                None => {
                    let (states, rowtime) = self.update(&key, &args, row, timestamp, retract)?;
                    let values = self.results(&states);
                    if let Some(index) = emit(
                        key.clone(),
                        OutRow {
                            key,
                            start: 0,
                            end: 0,
                            values: Some(values),
                            rowtime,
                        },
                        &mut out,
                    ) {
                        origins[index] = origin;
                    }
                }
                Some(window) if window.kind == WindowKind::Session => {
                    // Kafka Streams closes a session `gap + grace` after its end, and no
                    // longer sees one that ended more than the retention ago.
                    let stream_time = self.advance_time(partition, timestamp);
                    let close = stream_time - window.grace - window.size;
                    let expired = stream_time.saturating_sub(window.retention);
                    let mut emitted = Vec::new();
                    self.session(
                        &key,
                        &args,
                        (row, partition, timestamp),
                        window,
                        (close, expired),
                        &mut emitted,
                    )?;
                    for (state_key, row) in emitted {
                        if let Some(index) = emit(state_key, row, &mut out) {
                            origins[index] = origin;
                        }
                    }
                }
                Some(window) => {
                    let close = self.advance_time(partition, timestamp) - window.grace;
                    for start in time_windows(timestamp, window.size, window.advance) {
                        let end = start + window.size;
                        if end <= close {
                            self.counters.add_late(1);
                            continue;
                        }
                        let mut state_key = key.clone();
                        state_key.extend_from_slice(&ordered_i64(start));
                        let (states, rowtime) =
                            self.update(&state_key, &args, row, timestamp, retract)?;
                        if self.emit_final {
                            self.open(partition, end, &state_key, start)?;
                        } else {
                            let values = self.results(&states);
                            if let Some(index) = emit(
                                state_key,
                                OutRow {
                                    key: key.clone(),
                                    start,
                                    end,
                                    values: Some(values),
                                    rowtime,
                                },
                                &mut out,
                            ) {
                                origins[index] = origin;
                            }
                        }
                    }
                }
            }
            if self.emit_final {
                self.emit_closed(partition, &mut out)?;
            }
            origins.resize(out.len(), origin);
        }
        Ok((self.build(out)?, origins))
    }

    /// The group columns and each aggregate's argument columns of a batch.
    fn evaluate(&self, batch: &RecordBatch) -> Result<(Vec<ArrayRef>, Vec<Vec<ArrayRef>>)> {
        let groups = evaluate(&self.group_exprs, batch)?;
        let args = self
            .arg_exprs
            .iter()
            .map(|exprs| evaluate(exprs, batch))
            .collect::<Result<_>>()?;
        Ok((groups, args))
    }

    /// Drops the rows whose group or argument expressions fail to evaluate (counted); for a
    /// batch that failed as a whole.
    /// Returns the rows kept and their indices in `batch`.
    fn without_bad_rows(&self, batch: &RecordBatch) -> Result<(RecordBatch, Vec<u32>)> {
        let mask: BooleanArray = (0..batch.num_rows())
            .map(|row| {
                let good = self.evaluate(&batch.slice(row, 1)).is_ok();
                if !good {
                    self.counters.record_failure(format!(
                        "failed to evaluate the grouping or aggregate arguments of row {row} of a batch"
                    ));
                }
                Some(good)
            })
            .collect();
        let kept = (0..batch.num_rows() as u32)
            .filter(|row| mask.value(*row as usize))
            .collect();
        Ok((filter_record_batch(batch, &mask)?, kept))
    }

    /// The stream time of `partition` after seeing `timestamp`.
    fn advance_time(&mut self, partition: u32, timestamp: i64) -> i64 {
        if !self.stream_times.contains_key(&partition) {
            let stored = self
                .times
                .get(&partition.to_be_bytes())
                .ok()
                .flatten()
                .and_then(|bytes| Some(i64::from_be_bytes(bytes.try_into().ok()?)))
                .unwrap_or(i64::MIN);
            self.stream_times.insert(partition, stored);
        }
        let time = self
            .stream_times
            .get_mut(&partition)
            .expect("inserted above");
        if timestamp > *time {
            *time = timestamp;
            if !self.dirty_times.contains(&partition) {
                self.dirty_times.push(partition);
            }
        }
        *time
    }

    /// Reads a group's state (or a fresh one).
    fn load(&mut self, state_key: &[u8]) -> Result<Option<(i64, Vec<AggState>)>> {
        let Some(bytes) = self.state.get(state_key)? else {
            return Ok(None);
        };
        let mut input: &[u8] = bytes;
        let rowtime = read_i64(&mut input)?;
        let states = self
            .functions
            .iter()
            .map(|function| function.decode(&mut input))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some((rowtime, states)))
    }

    fn store(&mut self, state_key: &[u8], rowtime: i64, states: &[AggState]) {
        let mut bytes = Vec::with_capacity(32);
        bytes.extend_from_slice(&rowtime.to_be_bytes());
        for (function, state) in self.functions.iter().zip(states) {
            function.encode(state, &mut bytes);
        }
        self.state.put(state_key, bytes);
    }

    /// Adds (or retracts) row `row` into the state of `state_key`; returns the new states and
    /// output time.
    fn update(
        &mut self,
        state_key: &[u8],
        args: &[Vec<ArrayRef>],
        row: usize,
        timestamp: i64,
        retract: bool,
    ) -> Result<(Vec<AggState>, i64)> {
        let (rowtime, mut states) = match self.load(state_key)? {
            Some((rowtime, states)) => (rowtime.max(timestamp), states),
            None => (
                timestamp,
                self.functions.iter().map(AggregateFunction::init).collect(),
            ),
        };
        for ((function, state), args) in self.functions.iter().zip(&mut states).zip(args) {
            if retract {
                function.retract(state, args, row);
            } else {
                function.add(state, args, row);
            }
            function.check(state)?;
        }
        self.store(state_key, rowtime, &states);
        Ok((states, rowtime))
    }

    /// The aggregate results of a group's states.
    fn results(&self, states: &[AggState]) -> Vec<ScalarValue> {
        self.functions
            .iter()
            .zip(states)
            .map(|(function, state)| function.result(state))
            .collect()
    }

    /// Session windows: merges the sessions of `key` within `gap` of `timestamp` with the
    /// record (row `row` of input partition `partition`) into one session. `close`:
    /// sessions ending before it are closed (the record is late); `expired`: sessions
    /// ending before it are past retention and no longer merge.
    fn session(
        &mut self,
        key: &[u8],
        args: &[Vec<ArrayRef>],
        (row, partition, timestamp): (usize, u32, i64),
        window: WindowPlan,
        (close, expired): (i64, i64),
        emitted: &mut Vec<(Vec<u8>, OutRow)>,
    ) -> Result<()> {
        let mut from = key.to_vec();
        from.extend_from_slice(&ordered_i64(timestamp.saturating_sub(window.size)));
        let mut to = key.to_vec();
        to.extend_from_slice(&[0xff; 17]);
        let mut merged: Vec<(Vec<u8>, i64, i64)> = Vec::new();
        let (mut start, mut end) = (timestamp, timestamp);
        for (state_key, _) in self.state.range(&from, &to)? {
            let Some((_, session_start, session_end)) = split_state_key(&state_key, window) else {
                continue;
            };
            if session_start > timestamp.saturating_add(window.size) || session_end < expired {
                continue;
            }
            start = start.min(session_start);
            end = end.max(session_end);
            merged.push((state_key, session_start, session_end));
        }
        if end < close {
            self.counters.add_late(1);
            return Ok(());
        }
        let mut rowtime = timestamp;
        let mut states: Vec<AggState> =
            self.functions.iter().map(AggregateFunction::init).collect();
        let mut old_times = Vec::with_capacity(merged.len());
        for (state_key, _, _) in &merged {
            old_times.push(timestamp);
            if let Some((time, old)) = self.load(state_key)? {
                rowtime = rowtime.max(time);
                *old_times.last_mut().expect("pushed above") = time;
                for ((function, state), old) in self.functions.iter().zip(&mut states).zip(&old) {
                    function.merge(state, old);
                }
            }
        }
        for ((function, state), args) in self.functions.iter().zip(&mut states).zip(args) {
            function.add(state, args, row);
        }
        let mut new_key = key.to_vec();
        new_key.extend_from_slice(&ordered_i64(end));
        new_key.extend_from_slice(&ordered_i64(start));
        for ((state_key, old_start, old_end), old_time) in merged.into_iter().zip(old_times) {
            if state_key == new_key {
                continue;
            }
            self.state.delete(&state_key);
            if self.emit_final {
                self.close(partition, old_end, &state_key, old_start)?;
            }
            if !self.emit_final {
                emitted.push((
                    state_key,
                    OutRow {
                        key: key.to_vec(),
                        start: old_start,
                        end: old_end,
                        values: None,
                        rowtime: old_time,
                    },
                ));
            }
        }
        self.store(&new_key, rowtime, &states);
        if self.emit_final {
            self.open(partition, end, &new_key, start)?;
            return Ok(());
        }
        let values = self.results(&states);
        emitted.push((
            new_key,
            OutRow {
                key: key.to_vec(),
                start,
                end,
                values: Some(values),
                rowtime,
            },
        ));
        Ok(())
    }

    /// Builds the output batch.
    fn build(&self, out: Vec<OutRow>) -> Result<RecordBatch> {
        if out.is_empty() {
            return Ok(RecordBatch::new_empty(Arc::clone(&self.schema)));
        }
        let parser = self.converter.parser();
        let rows: Vec<_> = out.iter().map(|row| parser.parse(&row.key)).collect();
        let mut columns = self.converter.convert_rows(rows)?;
        for index in 0..self.functions.len() {
            let field = self.schema.field(columns.len());
            let null = ScalarValue::try_from(field.data_type())?;
            let values = out.iter().map(|row| match &row.values {
                Some(values) => values[index].clone(),
                None => null.clone(),
            });
            let array = ScalarValue::iter_to_array(values)?;
            let array = if array.data_type() == field.data_type() {
                array
            } else {
                arrow::compute::cast(&array, field.data_type())?
            };
            columns.push(array);
        }
        if self.window.is_some() {
            columns.push(Arc::new(Int64Array::from_iter_values(
                out.iter().map(|row| row.start),
            )));
            columns.push(Arc::new(Int64Array::from_iter_values(
                out.iter().map(|row| row.end),
            )));
        }
        columns.push(Arc::new(Int64Array::from_iter_values(
            out.iter().map(|row| row.rowtime),
        )));
        columns.push(Arc::new(Int8Array::from_iter_values(out.iter().map(
            |row| {
                if row.values.is_some() {
                    OP_UPSERT
                } else {
                    OP_DELETE
                }
            },
        ))));
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)
    }
}

impl Operator for AggregateOperator {
    fn process(
        &mut self,
        _input: usize,
        batch: RecordBatch,
        context: &mut OperatorContext<'_>,
    ) -> Result<RecordBatch> {
        Ok(self.aggregate(&batch, context.partition)?.0)
    }

    /// Each emitted row names the input row that updated it (the last one, with a record
    /// cache).
    fn process_tracked(
        &mut self,
        _input: usize,
        batch: RecordBatch,
        origins: &mut Vec<u32>,
        context: &mut OperatorContext<'_>,
    ) -> Option<Result<RecordBatch>> {
        Some(
            self.aggregate(&batch, context.partition)
                .map(|(output, rows)| {
                    *origins = rows.iter().map(|row| origins[*row as usize]).collect();
                    output
                }),
        )
    }

    fn take_writes(&mut self, writes: &mut Vec<StateWrite>) -> Result<()> {
        for partition in std::mem::take(&mut self.dirty_times) {
            if let Some(time) = self.stream_times.get(&partition) {
                self.times
                    .put(&partition.to_be_bytes(), time.to_be_bytes().to_vec());
            }
        }
        writes.extend(self.state.take_writes());
        writes.extend(self.times.take_writes());
        if let Some(open) = &mut self.open {
            writes.extend(open.take_writes());
        }
        Ok(())
    }
}

/// Splits a state key into the group key and its window (start, end): time windows end
/// with the start, session windows with the end then the start.
fn split_state_key(state_key: &[u8], window: WindowPlan) -> Option<(&[u8], i64, i64)> {
    if window.kind == WindowKind::Session {
        let split = state_key.len().checked_sub(16)?;
        let end = from_ordered_i64(&state_key[split..split + 8])?;
        let start = from_ordered_i64(&state_key[split + 8..])?;
        Some((&state_key[..split], start, end))
    } else {
        let split = state_key.len().checked_sub(8)?;
        let start = from_ordered_i64(&state_key[split..])?;
        Some((&state_key[..split], start, start + window.size))
    }
}

fn evaluate(exprs: &[Arc<dyn PhysicalExpr>], batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
    exprs
        .iter()
        .map(|expr| Ok(expr.evaluate(batch)?.into_array(batch.num_rows())?))
        .collect()
}

fn int64_column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a Int64Array> {
    batch
        .column_by_name(name)
        .and_then(|column| column.as_any().downcast_ref::<Int64Array>())
        .ok_or_else(|| ExecError::Internal(format!("aggregate input has no BIGINT {name}")))
}

fn read_i64(input: &mut &[u8]) -> Result<i64> {
    if input.len() < 8 {
        return Err(ExecError::Internal("truncated aggregate state".into()));
    }
    let (head, rest) = input.split_at(8);
    *input = rest;
    Ok(i64::from_be_bytes(head.try_into().expect("eight bytes")))
}
