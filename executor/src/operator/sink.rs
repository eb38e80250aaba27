//! The sink operator: encodes output batches into records for the sink topic.
//!
//! Keyed records go to the partition Kafka's default partitioner picks for the serialized
//! key; records without key columns stay on the partition (modulo the sink's count) of
//! the source partition they came from, so per-partition order is kept.

use arrow::array::{Array, Int64Array};
use arrow::record_batch::RecordBatch;
use planner::plan::{ROWTIME_OUTPUT, SinkPlan};

use crate::format::Encoder;
use crate::log::Record;
use crate::log::partitioner::partition_for_key;
use crate::operator::source::format_of;
use crate::{ExecError, Result};

/// Encodes rows for one sink.
pub struct SinkOperator {
    pub topic: String,
    partitions: u32,
    key_columns: usize,
    key_encoder: Encoder,
    value_encoder: Encoder,
}

impl SinkOperator {
    pub fn new(plan: &SinkPlan) -> Result<Self> {
        let (key_kind, key_options) = format_of(&plan.key_format)?;
        let (value_kind, value_options) = format_of(&plan.value_format)?;
        Ok(SinkOperator {
            topic: plan.topic.clone(),
            partitions: plan.partitions.max(1),
            key_columns: plan.key_fields.len(),
            key_encoder: Encoder::new(key_kind, &key_options, plan.key_fields.clone())?,
            value_encoder: Encoder::new(value_kind, &value_options, plan.value_fields.clone())?,
        })
    }

    /// Encodes a projected batch (keys, values, `$rowtime`) read from `source_partition`.
    pub fn encode(&self, batch: &RecordBatch, source_partition: u32) -> Result<Vec<(u32, Record)>> {
        let rows = batch.num_rows();
        let columns = batch.columns();
        let rowtime_index = batch
            .schema()
            .index_of(ROWTIME_OUTPUT)
            .map_err(|_| ExecError::Internal("projected batch has no $rowtime".into()))?;
        let keys = self
            .key_encoder
            .encode(&columns[..self.key_columns], rows)?;
        let values = self
            .value_encoder
            .encode(&columns[self.key_columns..rowtime_index], rows)?;
        let timestamps = columns[rowtime_index]
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| ExecError::Internal("$rowtime is not BIGINT".into()))?;
        let mut records = Vec::with_capacity(rows);
        for (row, (key, value)) in keys.into_iter().zip(values).enumerate() {
            let partition = match (&key, self.key_columns) {
                (Some(key), 1..) => partition_for_key(key, self.partitions),
                _ => source_partition % self.partitions,
            };
            let timestamp = if timestamps.is_null(row) {
                0
            } else {
                timestamps.value(row)
            };
            records.push((
                partition,
                Record {
                    key,
                    value,
                    timestamp,
                    headers: Vec::new(),
                },
            ));
        }
        Ok(records)
    }
}
