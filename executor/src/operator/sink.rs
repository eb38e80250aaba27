//! The sink operator: encodes output batches into records for the sink topic.
//!
//! Keyed records go to the partition Kafka's default partitioner picks for the serialized
//! key; records without key columns stay on the partition (modulo the sink's count) of
//! the source partition they came from, so per-partition order is kept. Windowed keys carry
//! their window after the key bytes; a delete row (`$op`) becomes a tombstone. A table sink
//! also keeps its latest record per key as state (`table_state_id`), for pull queries.

use std::sync::Arc;

use arrow::array::{Array, BooleanArray, Int8Array, Int64Array};
use arrow::record_batch::RecordBatch;
use planner::catalog::{OP_COLUMN, OP_DELETE, WindowInfo};
use planner::plan::{ROWTIME_OUTPUT, SinkPlan, WINDOWEND_OUTPUT, WINDOWSTART_OUTPUT};

use crate::commit::StateWrite;
use crate::format::Encoder;
use crate::log::partitioner::partition_for_key;
use crate::log::{Header, Record};
use crate::metrics::Counters;
use crate::operator::source::{format_of, key_format_of};
use crate::operator::window::append_window;
use crate::operator::{Operator, OperatorContext};
use crate::processing_log::ProcessingError;
use crate::state::StateTable;
use crate::state::materialized;
use crate::{ExecError, Result};

pub use crate::state::materialized::table_state_id;

/// Encodes rows for one sink.
pub struct SinkOperator {
    pub topic: String,
    partitions: u32,
    key_columns: usize,
    key_encoder: Encoder,
    value_encoder: Encoder,
    window: Option<WindowInfo>,
    materialized: Option<StateTable>,
    skip_absent_deletes: bool,
    skip_invalid_timestamps: bool,
    null_keys_pass_through: bool,
    /// Where records left out for an invalid timestamp are counted.
    counters: Arc<Counters>,
}

impl SinkOperator {
    /// A sink; a table sink (`plan.materialize`) keeps its rows in `materialized` when
    /// given (the table `table_state_id(&plan.name)`). Records left out for an invalid
    /// timestamp are counted in `counters`.
    pub fn new(
        plan: &SinkPlan,
        materialized: Option<StateTable>,
        counters: Arc<Counters>,
    ) -> Result<Self> {
        let (key_kind, key_options) = key_format_of(&plan.key_format, plan.key_fields.len())?;
        let (value_kind, value_options) = format_of(&plan.value_format)?;
        Ok(SinkOperator {
            topic: plan.topic.clone(),
            partitions: plan.partitions.max(1),
            key_columns: plan.key_fields.len(),
            key_encoder: Encoder::new(key_kind, &key_options, plan.key_fields.clone())?,
            value_encoder: Encoder::new(value_kind, &value_options, plan.value_fields.clone())?,
            window: plan.window,
            skip_absent_deletes: plan.skip_absent_deletes,
            skip_invalid_timestamps: plan.skip_invalid_timestamps,
            null_keys_pass_through: plan.null_keys_pass_through,
            counters,
            materialized: materialized.filter(|_| plan.materialize),
        })
    }

    /// Encodes a projected batch (keys, values, `$rowtime`) read from `source_partition`.
    pub fn encode(
        &mut self,
        batch: &RecordBatch,
        source_partition: u32,
    ) -> Result<Vec<(u32, Record)>> {
        self.encode_with_headers(batch, source_partition, None)
    }

    /// `encode`, each record carrying the headers `headers` gives its row (none without).
    pub fn encode_with_headers(
        &mut self,
        batch: &RecordBatch,
        source_partition: u32,
        headers: Option<&[Vec<Header>]>,
    ) -> Result<Vec<(u32, Record)>> {
        let rows = batch.num_rows();
        let columns = batch.columns();
        let rowtime_index = batch
            .schema()
            .index_of(ROWTIME_OUTPUT)
            .map_err(|_| ExecError::Internal("projected batch has no $rowtime".into()))?;
        let encoded = self
            .key_encoder
            .encode(&columns[..self.key_columns], rows)
            .and_then(|keys| {
                let values = self
                    .value_encoder
                    .encode(&columns[self.key_columns..rowtime_index], rows)?;
                Ok((keys, values))
            });
        let (keys, values) = match encoded {
            Ok(encoded) => encoded,
            Err(ExecError::Internal(message)) => return Err(ExecError::Internal(message)),
            Err(error) => {
                return self.encode_serializable(
                    batch,
                    rowtime_index,
                    source_partition,
                    headers,
                    error,
                );
            }
        };
        let timestamps = columns[rowtime_index]
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| ExecError::Internal("$rowtime is not BIGINT".into()))?;
        let int64 = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|column| column.as_any().downcast_ref::<Int64Array>().cloned())
        };
        let bounds = match (
            self.window,
            int64(WINDOWSTART_OUTPUT),
            int64(WINDOWEND_OUTPUT),
        ) {
            (Some(window), Some(starts), Some(ends)) => Some((window.kind, starts, ends)),
            _ => None,
        };
        let ops = batch
            .column_by_name(OP_COLUMN)
            .and_then(|column| column.as_any().downcast_ref::<Int8Array>().cloned());
        let key_columns = &columns[..self.key_columns];
        let null_key = |row: usize| {
            self.null_keys_pass_through
                && !key_columns.is_empty()
                && key_columns.iter().all(|column| column.is_null(row))
        };
        let mut records = Vec::with_capacity(rows);
        for (row, (key, value)) in keys.into_iter().zip(values).enumerate() {
            let key = if null_key(row) { None } else { key };
            let partition = match (&key, self.key_columns) {
                (Some(key), 1..) => partition_for_key(key, self.partitions),
                _ => source_partition % self.partitions,
            };
            let key = match &bounds {
                Some((kind, starts, ends)) => {
                    let mut bytes = key.unwrap_or_default();
                    append_window(&mut bytes, *kind, starts.value(row), ends.value(row));
                    Some(bytes)
                }
                None => key,
            };
            let deleted = ops
                .as_ref()
                .is_some_and(|ops| !ops.is_null(row) && ops.value(row) == OP_DELETE);
            let value = if deleted { None } else { value };

            let timestamp = if timestamps.is_null(row) {
                None
            } else {
                Some(timestamps.value(row)).filter(|timestamp| *timestamp >= 0)
            };
            let timestamp = match timestamp {
                Some(timestamp) => timestamp,
                // A tombstone (null value) passes with no timestamp to read, as in ksqlDB.
                None if self.skip_invalid_timestamps && value.is_some() => {
                    let message = format!(
                        "record for topic \"{}\" left out: its TIMESTAMP column gives no valid timestamp ({})",
                        self.topic,
                        if timestamps.is_null(row) {
                            "null".to_string()
                        } else {
                            timestamps.value(row).to_string()
                        }
                    );
                    tracing::warn!("{message}");
                    self.counters.record_failure(message);
                    continue;
                }
                None => 0,
            };
            if let Some(table) = &mut self.materialized {
                let state_key = materialized::encode_key(key.as_deref());
                if value.is_none() && self.skip_absent_deletes && table.get(&state_key)?.is_none() {
                    continue;
                }
                match &value {
                    Some(value) => {
                        table.put(&state_key, materialized::encode_value(timestamp, value))
                    }
                    None => table.delete(&state_key),
                }
            }
            records.push((
                partition,
                Record {
                    key,
                    value,
                    timestamp,
                    headers: headers
                        .and_then(|headers| headers.get(row).cloned())
                        .unwrap_or_default(),
                },
            ));
        }
        Ok(records)
    }
}

impl SinkOperator {
    /// `encode_with_headers` for a batch some rows of which cannot be serialized (`error`):
    /// those rows are skipped (counted and written to the processing log), the others encoded.
    fn encode_serializable(
        &mut self,
        batch: &RecordBatch,
        rowtime_index: usize,
        source_partition: u32,
        headers: Option<&[Vec<Header>]>,
        error: ExecError,
    ) -> Result<Vec<(u32, Record)>> {
        let mut keep = Vec::with_capacity(batch.num_rows());
        for row in 0..batch.num_rows() {
            let columns = batch.slice(row, 1).columns().to_vec();
            let failure = match self.key_encoder.encode(&columns[..self.key_columns], 1) {
                Err(error) => Some(("key", error)),
                Ok(_) => self
                    .value_encoder
                    .encode(&columns[self.key_columns..rowtime_index], 1)
                    .err()
                    .map(|error| ("value", error)),
            };
            if let Some((target, error)) = &failure {
                let message = format!(
                    "failed to serialize the {target} of a record for topic \"{}\": {}",
                    self.topic,
                    crate::error_chain(error)
                );
                tracing::warn!("{message}");
                self.counters.record_error(
                    message,
                    ProcessingError::Serialization {
                        target,
                        topic: self.topic.clone(),
                    },
                );
            }
            keep.push(failure.is_none());
        }
        if keep.iter().all(|kept| *kept) {
            // No single row fails: the batch's error is not about a record.
            return Err(error);
        }
        let kept = arrow::compute::filter_record_batch(batch, &BooleanArray::from(keep.clone()))?;
        let headers: Option<Vec<Vec<Header>>> = headers.map(|headers| {
            headers
                .iter()
                .zip(&keep)
                .filter(|(_, kept)| **kept)
                .map(|(headers, _)| headers.clone())
                .collect()
        });
        self.encode_with_headers(&kept, source_partition, headers.as_deref())
    }
}

impl Operator for SinkOperator {
    /// Encodes the rows into records of the sink topic, added to the epoch's records;
    /// emits no rows.
    fn process(
        &mut self,
        _input: usize,
        batch: RecordBatch,
        context: &mut OperatorContext<'_>,
    ) -> Result<RecordBatch> {
        let records =
            self.encode_with_headers(&batch, context.partition, context.headers.as_deref())?;
        context.produce(&self.topic, records);
        Ok(RecordBatch::new_empty(batch.schema()))
    }

    fn take_writes(&mut self, writes: &mut Vec<StateWrite>) -> Result<()> {
        if let Some(table) = &mut self.materialized {
            writes.extend(table.take_writes());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
