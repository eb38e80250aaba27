//! Repartition topics: the root of the stage below a `Repartition` writes its rows into the
//! internal topic (`RepartitionOperator`), the stage above reads them back
//! (`RepartitionDecoder`).
//!
//! A record's key is the new key in the co-partitioned side's key format, so the log's
//! partitioner puts it in the partition that side's producer put the same key in; its value
//! is the whole row (hidden columns included) in Arrow's row format after a version byte;
//! its timestamp is the row's time. A row whose key is null (or fails to evaluate) keeps
//! its partition number and a null key: the join skips it as it would have.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};
use datafusion::execution::context::ExecutionProps;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::physical_expr::{PhysicalExpr, create_physical_expr};
use planner::plan::RepartitionNode;

use crate::commit::StateWrite;
use crate::format::Encoder;
use crate::log::partitioner::partition_for_key;
use crate::log::{ConsumedRecord, Record};
use crate::operator::source::{SourceOperator, key_format_of};
use crate::operator::{Operator, OperatorContext};
use crate::{ExecError, Result};

/// The first byte of every repartition record's value: the layout of what follows.
const ROW_VERSION: u8 = 1;

/// The rows of one schema as record values, and back.
struct RowCodec {
    schema: SchemaRef,
    converter: RowConverter,
}

impl RowCodec {
    fn new(node: &RepartitionNode) -> Result<Self> {
        let schema: SchemaRef = Arc::new(node.schema().as_arrow().clone());
        let converter = RowConverter::new(
            schema
                .fields()
                .iter()
                .map(|field| SortField::new(field.data_type().clone()))
                .collect(),
        )?;
        Ok(RowCodec { schema, converter })
    }
}

/// Writes its input's rows into the repartition topic, as records of the epoch; emits
/// nothing.
pub struct RepartitionOperator {
    topic: String,
    partitions: u32,
    keys: Vec<Arc<dyn PhysicalExpr>>,
    key_types: Vec<DataType>,
    key_encoder: Encoder,
    time_column: usize,
    rows: RowCodec,
}

impl RepartitionOperator {
    pub fn new(node: &RepartitionNode) -> Result<Self> {
        if node.topic.is_empty() {
            return Err(ExecError::Internal(
                "a repartition without an internal topic (a planner bug)".into(),
            ));
        }
        let props = ExecutionProps::new();
        let context = PhysicalPlanningContext::default();
        let keys = node
            .keys
            .iter()
            .map(|expr| create_physical_expr(expr, node.schema(), &props, &context))
            .collect::<datafusion::error::Result<Vec<_>>>()?;
        let (kind, options) = key_format_of(&node.key_format, node.key_fields.len())?;
        Ok(RepartitionOperator {
            topic: node.topic.clone(),
            partitions: node.partitions.max(1),
            keys,
            key_types: node
                .key_fields
                .iter()
                .map(|field| field.data_type().clone())
                .collect(),
            key_encoder: Encoder::new(kind, &options, node.key_fields.clone())?,
            time_column: node.time_column,
            rows: RowCodec::new(node)?,
        })
    }

    /// The records of `batch`, rows of partition `source_partition`: `(partition, record)`.
    pub fn encode(&self, batch: &RecordBatch, source_partition: u32) -> Result<Vec<(u32, Record)>> {
        let rows = batch.num_rows();
        let keys = match self.encode_keys(batch) {
            Ok(keys) => keys,
            // Some row's key fails: those rows go on with a null key.
            Err(_) => (0..rows)
                .map(|row| {
                    self.encode_keys(&batch.slice(row, 1))
                        .ok()
                        .and_then(|mut key| key.pop().flatten())
                })
                .collect(),
        };
        let values = self.rows.converter.convert_columns(batch.columns())?;
        let times = batch
            .column(self.time_column)
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| {
                ExecError::Internal("a repartitioned row's time is not BIGINT".into())
            })?;
        let mut records = Vec::with_capacity(rows);
        for (row, key) in keys.into_iter().enumerate() {
            let partition = match &key {
                Some(key) => partition_for_key(key, self.partitions),
                None => source_partition % self.partitions,
            };
            let row_bytes = values.row(row);
            let mut value = Vec::with_capacity(row_bytes.as_ref().len() + 1);
            value.push(ROW_VERSION);
            value.extend_from_slice(row_bytes.as_ref());
            records.push((
                partition,
                Record {
                    key,
                    value: Some(value),
                    timestamp: if times.is_null(row) {
                        0
                    } else {
                        times.value(row)
                    },
                    headers: Vec::new(),
                },
            ));
        }
        Ok(records)
    }

    /// The serialized new key of each row; `None` where one of its columns is null.
    fn encode_keys(&self, batch: &RecordBatch) -> Result<Vec<Option<Vec<u8>>>> {
        let rows = batch.num_rows();
        let columns: Vec<ArrayRef> = self
            .keys
            .iter()
            .zip(&self.key_types)
            .map(|(expr, data_type)| {
                let array = expr.evaluate(batch)?.into_array(rows)?;
                Ok(if array.data_type() == data_type {
                    array
                } else {
                    cast(&array, data_type)?
                })
            })
            .collect::<Result<_>>()?;
        let encoded = self.key_encoder.encode(&columns, rows)?;
        Ok(encoded
            .into_iter()
            .enumerate()
            .map(|(row, key)| key.filter(|_| columns.iter().all(|column| column.is_valid(row))))
            .collect())
    }
}

impl Operator for RepartitionOperator {
    /// Adds the rows to the epoch's records, into the internal topic; emits no rows.
    fn process(
        &mut self,
        _input: usize,
        batch: RecordBatch,
        context: &mut OperatorContext<'_>,
    ) -> Result<RecordBatch> {
        let records = self.encode(&batch, context.partition)?;
        context.produce(&self.topic, records);
        Ok(RecordBatch::new_empty(batch.schema()))
    }
}

/// Reads a repartition topic's records back into the rows that were written.
pub struct RepartitionDecoder {
    rows: RowCodec,
}

impl RepartitionDecoder {
    pub fn new(node: &RepartitionNode) -> Result<Self> {
        Ok(RepartitionDecoder {
            rows: RowCodec::new(node)?,
        })
    }

    /// The rows of `records`, in order. A record this version did not write is an internal
    /// error: only Eddy writes these topics.
    pub fn decode(&mut self, records: &[ConsumedRecord]) -> Result<RecordBatch> {
        let parser = self.rows.converter.parser();
        let mut rows = Vec::with_capacity(records.len());
        for consumed in records {
            match consumed.record.value.as_deref() {
                Some([ROW_VERSION, row @ ..]) => rows.push(parser.parse(row)),
                _ => {
                    return Err(ExecError::Internal(format!(
                        "record {} of partition {} of a repartition topic is not a row",
                        consumed.offset, consumed.partition
                    )));
                }
            }
        }
        let columns = self.rows.converter.convert_rows(rows)?;
        Ok(RecordBatch::try_new(
            Arc::clone(&self.rows.schema),
            columns,
        )?)
    }
}

/// What turns a stage's input records into rows: a source topic's decoder, or a repartition
/// topic's.
pub enum StageSourceOperator {
    Topic(Box<SourceOperator>),
    Repartition(RepartitionDecoder),
}

impl StageSourceOperator {
    pub fn decode(&mut self, records: &[ConsumedRecord]) -> Result<RecordBatch> {
        match self {
            StageSourceOperator::Topic(source) => source.decode(records),
            StageSourceOperator::Repartition(decoder) => decoder.decode(records),
        }
    }

    /// `decode`, with the index in `records` of each row's record
    /// (`SourceOperator::decode_tracked`).
    pub fn decode_tracked(
        &mut self,
        records: &[ConsumedRecord],
    ) -> Result<(RecordBatch, Vec<u32>)> {
        match self {
            StageSourceOperator::Topic(source) => source.decode_tracked(records),
            // One row per record.
            StageSourceOperator::Repartition(decoder) => Ok((
                decoder.decode(records)?,
                (0..records.len() as u32).collect(),
            )),
        }
    }

    /// The source's consumed records are counted when `publish_counts` is called.
    pub fn defer_counts(&mut self) {
        if let StageSourceOperator::Topic(source) = self {
            source.defer_counts();
        }
    }

    pub fn publish_counts(&mut self) {
        if let StageSourceOperator::Topic(source) = self {
            source.publish_counts();
        }
    }

    pub fn take_writes(&mut self, writes: &mut Vec<StateWrite>) {
        if let StageSourceOperator::Topic(source) = self {
            source.take_writes(writes);
        }
    }
}

#[cfg(test)]
mod tests;
