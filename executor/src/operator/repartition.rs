//! Repartition topics: the root of the stage below a `Repartition` writes its rows into the
//! internal topic (`RepartitionOperator`), the stage above reads them back
//! (`RepartitionDecoder`).
//!
//! A record's key is the new key in the node's key format, so the log's partitioner puts it
//! in the partition a producer of that format puts the same key in; its timestamp is the
//! row's time. Its value is either the whole row (hidden columns included) in Arrow's row
//! format after a version byte (`RepartitionEncoding::Rows`), or ksqlDB's: the value columns
//! in the node's value format, the key and time read back from the record's key and
//! timestamp (`RepartitionEncoding::Columns`). A row whose key is null (or fails to
//! evaluate) keeps its partition number and a null key, so that a join skips it as it would
//! have, or is left out (`drop_null_keys`: an aggregation skips it anyway).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Fields, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};
use datafusion::execution::context::ExecutionProps;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::physical_expr::{PhysicalExpr, create_physical_expr};
use planner::plan::{RepartitionEncoding, RepartitionNode};

use crate::commit::StateWrite;
use crate::format::{Decoded, Decoder, Encoder};
use crate::log::partitioner::partition_for_key;
use crate::log::{ConsumedRecord, Header, Record};
use crate::metrics::Counters;
use crate::operator::source::{SourceOperator, format_of, key_format_of};
use crate::operator::{Operator, OperatorContext};
use crate::{ExecError, Result};

/// The first byte of every `Rows` record's value: the layout of what follows.
const ROW_VERSION: u8 = 1;

/// The rows of one schema as record values, and back.
struct RowCodec {
    converter: RowConverter,
}

impl RowCodec {
    fn new(schema: &SchemaRef) -> Result<Self> {
        let converter = RowConverter::new(
            schema
                .fields()
                .iter()
                .map(|field| SortField::new(field.data_type().clone()))
                .collect(),
        )?;
        Ok(RowCodec { converter })
    }
}

/// ksqlDB's `Columns` layout: the first `keys` columns are the record key, the next ones up
/// to the time column the value, in the node's formats.
struct ColumnCodec {
    keys: usize,
    values: usize,
    value_encoder: Encoder,
    key_decoder: Decoder,
    value_decoder: Decoder,
}

impl ColumnCodec {
    fn new(
        node: &RepartitionNode,
        value_format: &planner::catalog::FormatDefinition,
        value_fields: &Fields,
    ) -> Result<Self> {
        let keys = node.key_fields.len();
        let values = value_fields.len();
        if node.time_column != keys + values || node.schema().fields().len() != keys + values + 1 {
            return Err(ExecError::Internal(
                "a repartition's columns are not its key, its value and its time (a planner bug)"
                    .into(),
            ));
        }
        let (key_kind, key_options) = key_format_of(&node.key_format, keys)?;
        let (value_kind, value_options) = format_of(value_format)?;
        Ok(ColumnCodec {
            keys,
            values,
            value_encoder: Encoder::new(value_kind, &value_options, value_fields.clone())?,
            key_decoder: Decoder::new(key_kind, &key_options, node.key_fields.clone())?,
            value_decoder: Decoder::new(value_kind, &value_options, value_fields.clone())?,
        })
    }
}

/// How one repartition's records carry its rows.
enum Codec {
    Rows(RowCodec),
    Columns(Box<ColumnCodec>),
}

impl Codec {
    fn new(node: &RepartitionNode) -> Result<Self> {
        Ok(match &node.encoding {
            RepartitionEncoding::Rows => Codec::Rows(RowCodec::new(&schema_of(node))?),
            RepartitionEncoding::Columns {
                value_format,
                value_fields,
            } => Codec::Columns(Box::new(ColumnCodec::new(
                node,
                value_format,
                value_fields,
            )?)),
        })
    }
}

fn schema_of(node: &RepartitionNode) -> SchemaRef {
    Arc::new(node.schema().as_arrow().clone())
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
    drop_null_keys: bool,
    codec: Codec,
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
            drop_null_keys: node.drop_null_keys,
            codec: Codec::new(node)?,
        })
    }

    /// The records of `batch`, rows of partition `source_partition`: `(partition, record)`.
    pub fn encode(&self, batch: &RecordBatch, source_partition: u32) -> Result<Vec<(u32, Record)>> {
        self.encode_with_headers(batch, source_partition, None)
    }

    /// `encode`, each record carrying the headers `headers` gives its row (none without).
    pub fn encode_with_headers(
        &self,
        batch: &RecordBatch,
        source_partition: u32,
        headers: Option<&[Vec<Header>]>,
    ) -> Result<Vec<(u32, Record)>> {
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
        let mut values = self.encode_values(batch)?;
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
                None if self.drop_null_keys => continue,
                None => source_partition % self.partitions,
            };
            records.push((
                partition,
                Record {
                    key,
                    value: std::mem::take(&mut values[row]),
                    timestamp: if times.is_null(row) {
                        0
                    } else {
                        times.value(row)
                    },
                    headers: headers
                        .and_then(|headers| headers.get(row).cloned())
                        .unwrap_or_default(),
                },
            ));
        }
        Ok(records)
    }

    /// The record value of each row.
    fn encode_values(&self, batch: &RecordBatch) -> Result<Vec<Option<Vec<u8>>>> {
        match &self.codec {
            Codec::Rows(rows) => {
                let converted = rows.converter.convert_columns(batch.columns())?;
                Ok(converted
                    .iter()
                    .map(|row| {
                        let mut value = Vec::with_capacity(row.as_ref().len() + 1);
                        value.push(ROW_VERSION);
                        value.extend_from_slice(row.as_ref());
                        Some(value)
                    })
                    .collect())
            }
            Codec::Columns(columns) => columns.value_encoder.encode(
                &batch.columns()[columns.keys..columns.keys + columns.values],
                batch.num_rows(),
            ),
        }
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
        let records =
            self.encode_with_headers(&batch, context.partition, context.headers.as_deref())?;
        context.produce(&self.topic, records);
        Ok(RecordBatch::new_empty(batch.schema()))
    }
}

/// Reads a repartition topic's records back into the rows that were written.
pub struct RepartitionDecoder {
    topic: String,
    schema: SchemaRef,
    codec: Codec,
    counters: Arc<Counters>,
}

impl RepartitionDecoder {
    /// A decoder of `node`'s records; records it cannot read (of the `Columns` layout) are
    /// counted in `counters`.
    pub fn new(node: &RepartitionNode, counters: Arc<Counters>) -> Result<Self> {
        Ok(RepartitionDecoder {
            topic: node.topic.clone(),
            schema: schema_of(node),
            codec: Codec::new(node)?,
            counters,
        })
    }

    /// The rows of `records`, in order. A `Rows` record this version did not write is an
    /// internal error: only Eddy writes these topics.
    pub fn decode(&mut self, records: &[ConsumedRecord]) -> Result<RecordBatch> {
        Ok(self.decode_tracked(records)?.0)
    }

    /// `decode`, with the index in `records` of each row's record.
    pub fn decode_tracked(
        &mut self,
        records: &[ConsumedRecord],
    ) -> Result<(RecordBatch, Vec<u32>)> {
        match &self.codec {
            Codec::Rows(rows) => {
                let parser = rows.converter.parser();
                let mut parsed = Vec::with_capacity(records.len());
                for consumed in records {
                    match consumed.record.value.as_deref() {
                        Some([ROW_VERSION, row @ ..]) => parsed.push(parser.parse(row)),
                        _ => {
                            return Err(ExecError::Internal(format!(
                                "record {} of partition {} of a repartition topic is not a row",
                                consumed.offset, consumed.partition
                            )));
                        }
                    }
                }
                let columns = rows.converter.convert_rows(parsed)?;
                Ok((
                    RecordBatch::try_new(Arc::clone(&self.schema), columns)?,
                    (0..records.len() as u32).collect(),
                ))
            }
            Codec::Columns(codec) => {
                let keys: Vec<Option<&[u8]>> = records
                    .iter()
                    .map(|consumed| consumed.record.key.as_deref())
                    .collect();
                let values: Vec<Option<&[u8]>> = records
                    .iter()
                    .map(|consumed| consumed.record.value.as_deref())
                    .collect();
                let keys = codec.key_decoder.decode(&keys);
                let values = codec.value_decoder.decode(&values);
                let errors = (keys.errors.iter().map(|error| ("key", error)))
                    .chain(values.errors.iter().map(|error| ("value", error)));
                for (target, (index, error)) in errors {
                    let consumed = &records[*index];
                    let message = format!(
                        "failed to read record {} of partition {} of {}: {error}",
                        consumed.offset, consumed.partition, self.topic
                    );
                    tracing::warn!("{message}");
                    let bytes = if target == "key" {
                        consumed.record.key.as_deref()
                    } else {
                        consumed.record.value.as_deref()
                    };
                    self.counters.record_deserialization_failure(
                        message,
                        target,
                        &self.topic,
                        bytes,
                    );
                }
                let (mut columns, kept) = Decoded::kept_in_both(&keys, &values)?;
                columns.push(Arc::new(Int64Array::from_iter_values(
                    kept.iter().map(|index| records[*index].record.timestamp),
                )));
                Ok((
                    RecordBatch::try_new(Arc::clone(&self.schema), columns)?,
                    kept.into_iter().map(|index| index as u32).collect(),
                ))
            }
        }
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
            StageSourceOperator::Repartition(decoder) => decoder.decode_tracked(records),
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
