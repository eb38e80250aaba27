//! The source operator: decodes topic records into Arrow batches of the source row schema.
//!
//! Stream input: one row per record. Records with a null value are dropped (and, from a
//! table, records with a null key); records whose
//! key or value cannot be decoded are counted, logged with topic/partition/offset and skipped.
//! Table input is a changelog (see `SourceOperator::decode`); windowed keys are split into
//! the key proper and `WINDOWSTART`/`WINDOWEND`.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryBuilder, BooleanArray, Int8Array, Int32Array, Int64Array, ListBuilder,
    StringArray, StringBuilder, StructBuilder,
};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use parser::ast::SourceKind;
use planner::catalog::{ColumnKind, OP_DELETE, OP_RETRACT, OP_UPSERT, WindowInfo};
use planner::functions::TimestampFormat;
use planner::plan::SourceNode;

use crate::format::{Decoded, Decoder, FormatKind, FormatOptions};
use crate::log::ConsumedRecord;
use crate::metrics::Counters;
use crate::operator::window::split_window;
use crate::state::StateTable;
use crate::{ExecError, Result};

/// Decodes records of one source.
pub struct SourceOperator {
    topic: String,
    key_decoder: Decoder,
    value_decoder: Decoder,
    header_columns: Vec<(String, ColumnKind)>,
    schema: SchemaRef,
    /// Index of the timestamp column among value columns (or keys), if the source has one.
    timestamp_column: Option<usize>,
    /// The TIMESTAMP_FORMAT a STRING timestamp column is read with.
    timestamp_format: Option<TimestampFormat>,
    /// A timestamp that cannot be read fails the query instead of skipping its record.
    throw_on_invalid_timestamp: bool,
    window: Option<WindowInfo>,
    changelog: bool,
    /// A table's records without a key are skipped (a Kafka Streams table source drops them).
    skip_null_keys: bool,
    /// The last value per key of a table whose rows are retracted (aggregations over it).
    previous: Option<StateTable>,
    counters: Arc<Counters>,
    /// Records decoded but not yet counted as consumed: with `defer_counts`, they are
    /// counted when their epoch has committed (`publish_counts`), so a source's count never
    /// runs ahead of what the query has made durable.
    uncounted: Option<u64>,
}

/// Options of a key format: a single key column is unwrapped unless the format says otherwise
/// (ksqlDB's `UNWRAP_SINGLES` key feature).
pub fn key_format_of(
    definition: &planner::catalog::FormatDefinition,
    key_columns: usize,
) -> Result<(FormatKind, FormatOptions)> {
    let (kind, mut options) = format_of(definition)?;
    if key_columns == 1 && options.wrap_single_value.is_none() {
        options.wrap_single_value = Some(false);
    }
    Ok((kind, options))
}

/// Options of a format definition for the format module.
pub fn format_of(
    definition: &planner::catalog::FormatDefinition,
) -> Result<(FormatKind, FormatOptions)> {
    let kind: FormatKind = definition
        .name
        .parse()
        .map_err(|_| ExecError::User(format!("unknown format: {}", definition.name)))?;
    Ok((
        kind,
        FormatOptions {
            wrap_single_value: definition.wrap_single_value,
            delimiter: definition.delimiter,
            schema: definition.schema.clone(),
        },
    ))
}

impl SourceOperator {
    /// A source; `previous` is the state table the plan names in `node.state`, needed when
    /// `node.retract`.
    pub fn new(
        node: &SourceNode,
        previous: Option<StateTable>,
        counters: Arc<Counters>,
    ) -> Result<Self> {
        if node.retract && previous.is_none() {
            return Err(ExecError::Internal(format!(
                "source \"{}\" retracts rows without a state table",
                node.name
            )));
        }
        let (key_kind, key_options) = key_format_of(&node.key_format, node.key_fields.len())?;
        let (value_kind, value_options) = format_of(&node.value_format)?;
        let schema: SchemaRef = Arc::new(node.schema.as_arrow().clone());
        let timestamp_column = node
            .timestamp
            .as_ref()
            .and_then(|timestamp| schema.index_of(&timestamp.column).ok());
        let timestamp_format = match node
            .timestamp
            .as_ref()
            .and_then(|timestamp| timestamp.format.as_deref())
        {
            Some(pattern) => Some(TimestampFormat::compile(pattern).ok_or_else(|| {
                ExecError::User(format!("Invalid TIMESTAMP_FORMAT: '{pattern}'"))
            })?),
            None => None,
        };
        Ok(SourceOperator {
            topic: node.topic.clone(),
            key_decoder: Decoder::new(key_kind, &key_options, node.key_fields.clone())?,
            value_decoder: Decoder::new(value_kind, &value_options, node.value_fields.clone())?,
            header_columns: node.header_columns.clone(),
            schema,
            timestamp_column,
            timestamp_format,
            throw_on_invalid_timestamp: node.throw_on_invalid_timestamp,
            window: node.window,
            changelog: node.changelog,
            skip_null_keys: node.kind == SourceKind::Table && !node.key_fields.is_empty(),
            previous: previous.filter(|_| node.retract),
            counters,
            uncounted: None,
        })
    }

    /// Moves the pending writes of the last values per key into `writes`.
    pub fn take_writes(&mut self, writes: &mut Vec<crate::commit::StateWrite>) {
        if let Some(previous) = &mut self.previous {
            writes.extend(previous.take_writes());
        }
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Counts consumed records only when `publish_counts` is called (after their epoch
    /// commits) instead of as they are decoded.
    pub fn defer_counts(&mut self) {
        self.uncounted.get_or_insert(0);
    }

    /// Counts the records decoded since the last call (see `defer_counts`).
    pub fn publish_counts(&mut self) {
        if let Some(uncounted) = self.uncounted.as_mut().filter(|count| **count > 0) {
            self.counters.add_consumed(std::mem::take(uncounted));
        }
    }

    /// Tells the source that only the value columns named in `read` (and its timestamp
    /// column) are read above it, so the others need not be copied out of the records. A
    /// table's rows are kept whole (its last values per key are state).
    pub fn read_only(&mut self, read: &HashSet<String>) {
        if self.changelog || self.previous.is_some() {
            return;
        }
        let timestamp = self
            .timestamp_column
            .map(|index| self.schema.field(index).name().as_str());
        let unused: Vec<bool> = self
            .value_decoder
            .fields()
            .iter()
            .map(|field| !read.contains(field.name()) && Some(field.name().as_str()) != timestamp)
            .collect();
        self.value_decoder.set_unused(&unused);
    }

    /// Decodes records into a batch; bad records are counted, logged and left out.
    ///
    /// A stream drops records with a null value; a changelog keeps them as deletes. With
    /// `previous` (the last value per key of a table), each update or delete is preceded by
    /// a retract row holding the key's previous value, and deletes themselves are left out.
    pub fn decode(&mut self, records: &[ConsumedRecord]) -> Result<RecordBatch> {
        Ok(self.decode_tracked(records)?.0)
    }

    /// `decode`, also returning for each row the index in `records` of the record it comes
    /// from (non-decreasing: a retract row and the update after it share their record).
    pub fn decode_tracked(
        &mut self,
        records: &[ConsumedRecord],
    ) -> Result<(RecordBatch, Vec<u32>)> {
        let previous = self.previous.as_mut();
        match &mut self.uncounted {
            Some(uncounted) => *uncounted += records.len() as u64,
            None => self.counters.add_consumed(records.len() as u64),
        }
        let mut retracts: Vec<ConsumedRecord> = Vec::new();
        let mut ops: Vec<i8> = Vec::new();
        let mut order: Vec<(bool, usize)> = Vec::new();
        // The record index of each entry of `order`.
        let mut origin: Vec<u32> = Vec::new();
        let skip_null_keys = self.skip_null_keys;
        let skipped = |record: &ConsumedRecord| skip_null_keys && record.record.key.is_none();
        match previous {
            Some(state) => {
                for (index, record) in records.iter().enumerate() {
                    if skipped(record) {
                        continue;
                    }
                    let key = record.record.key.clone().unwrap_or_default();
                    if let Some(old) = state.get(&key)? {
                        let mut retract = record.clone();
                        retract.record.value = Some(old.to_vec());
                        order.push((true, retracts.len()));
                        origin.push(index as u32);
                        retracts.push(retract);
                        ops.push(OP_RETRACT);
                    }
                    match &record.record.value {
                        Some(value) => {
                            state.put(&key, value.clone());
                            order.push((false, index));
                            origin.push(index as u32);
                            ops.push(OP_UPSERT);
                        }
                        None => state.delete(&key),
                    }
                }
            }
            None => {
                for (index, record) in records.iter().enumerate() {
                    if skipped(record) {
                        continue;
                    }
                    match record.record.value {
                        Some(_) => ops.push(OP_UPSERT),
                        None if self.changelog => ops.push(OP_DELETE),
                        None => continue,
                    }
                    order.push((false, index));
                    origin.push(index as u32);
                }
            }
        }
        let records: Vec<&ConsumedRecord> = order
            .iter()
            .map(|(retract, index)| {
                if *retract {
                    &retracts[*index]
                } else {
                    &records[*index]
                }
            })
            .collect();
        let windows: Vec<Option<(&[u8], i64, i64)>> = match self.window {
            Some(window) => records
                .iter()
                .map(|r| {
                    r.record
                        .key
                        .as_deref()
                        .and_then(|key| split_window(key, window.kind, window.size_ms))
                })
                .collect(),
            None => Vec::new(),
        };
        let keys: Vec<Option<&[u8]>> = match self.window {
            Some(_) => windows.iter().map(|w| w.map(|(key, _, _)| key)).collect(),
            None => records.iter().map(|r| r.record.key.as_deref()).collect(),
        };
        let values: Vec<Option<&[u8]>> =
            records.iter().map(|r| r.record.value.as_deref()).collect();
        let decoded_keys = self.key_decoder.decode(&keys);
        let decoded_values = self.value_decoder.decode(&values);
        let errors = (decoded_keys.errors.iter().map(|error| ("key", error)))
            .chain(decoded_values.errors.iter().map(|error| ("value", error)));
        for (target, (index, error)) in errors {
            let record = records[*index];
            let message = format!(
                "failed to deserialize record from topic \"{}\" partition {} offset {}: {error}",
                self.topic, record.partition, record.offset
            );
            tracing::warn!("{message}");
            let bytes = if target == "key" {
                keys[*index]
            } else {
                values[*index]
            };
            self.counters
                .record_deserialization_failure(message, target, &self.topic, bytes);
        }
        // Rows kept = decoded in both key and value.
        let (mut columns, kept) = Decoded::kept_in_both(&decoded_keys, &decoded_values)?;
        let kept_records: Vec<&ConsumedRecord> = kept.iter().map(|i| records[*i]).collect();
        for (_, kind) in &self.header_columns {
            columns.push(header_column(kind, &kept_records)?);
        }
        // Rows whose TIMESTAMP column gives no valid timestamp are left out at the end.
        let mut invalid = Vec::new();
        let rowtime: ArrayRef = match self.timestamp_column {
            Some(index) => {
                let is_delete = |row: usize| ops.get(kept[row]) == Some(&OP_DELETE);
                let (rowtime, bad) =
                    self.timestamp_from_column(&columns[index], &kept_records, is_delete)?;
                invalid = bad;
                rowtime
            }
            None => Arc::new(Int64Array::from_iter_values(
                kept_records.iter().map(|r| r.record.timestamp),
            )),
        };
        columns.push(rowtime);
        columns.push(Arc::new(Int32Array::from_iter_values(
            kept_records.iter().map(|r| r.partition as i32),
        )));
        columns.push(Arc::new(Int64Array::from_iter_values(
            kept_records.iter().map(|r| r.offset as i64),
        )));
        if self.window.is_some() {
            let bound = |pick: fn(&(&[u8], i64, i64)) -> i64| -> ArrayRef {
                Arc::new(Int64Array::from_iter(
                    kept.iter().map(|i| windows[*i].as_ref().map(pick)),
                ))
            };
            columns.push(bound(|w| w.1));
            columns.push(bound(|w| w.2));
        }
        if self.changelog {
            columns.push(Arc::new(Int8Array::from_iter_values(
                kept.iter().map(|i| ops[*i]),
            )));
        }
        let origins: Vec<u32> = kept.iter().map(|entry| origin[*entry]).collect();
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns)?;
        if invalid.is_empty() {
            return Ok((batch, origins));
        }
        let keep = BooleanArray::from_iter(
            (0..batch.num_rows()).map(|row| Some(invalid.binary_search(&row).is_err())),
        );
        let origins = origins
            .into_iter()
            .enumerate()
            .filter(|(row, _)| invalid.binary_search(row).is_err())
            .map(|(_, origin)| origin)
            .collect();
        Ok((arrow::compute::filter_record_batch(&batch, &keep)?, origins))
    }

    /// `ROWTIME` from the TIMESTAMP column (BIGINT or TIMESTAMP millis, or STRING read with
    /// the TIMESTAMP_FORMAT), and the rows (ascending) whose timestamp is null, negative or
    /// does not parse: as in ksqlDB they are counted, logged and skipped, or fail the query
    /// with `ksql.timestamp.throw.on.invalid`. A delete (tombstone) keeps its record time.
    fn timestamp_from_column(
        &self,
        column: &ArrayRef,
        records: &[&ConsumedRecord],
        is_delete: impl Fn(usize) -> bool,
    ) -> Result<(ArrayRef, Vec<usize>)> {
        let millis: Vec<Option<i64>> = match &self.timestamp_format {
            Some(format) => {
                let text = arrow::compute::cast(column, &DataType::Utf8)?;
                let text = text
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .ok_or_else(|| ExecError::Internal("cast to Utf8 gave another type".into()))?;
                text.iter()
                    .map(|value| value.and_then(|value| format.parse(value)))
                    .collect()
            }
            None => {
                let as_int = arrow::compute::cast(column, &DataType::Int64)?;
                let values = as_int
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .ok_or_else(|| ExecError::Internal("cast to Int64 gave another type".into()))?;
                values.iter().collect()
            }
        };
        let mut invalid = Vec::new();
        let mut rowtime = Vec::with_capacity(millis.len());
        for (row, value) in millis.into_iter().enumerate() {
            match value {
                Some(value) if value >= 0 => rowtime.push(value),
                _ if is_delete(row) => rowtime.push(records[row].record.timestamp),
                _ => {
                    let record = records[row];
                    let shown = arrow::util::display::array_value_to_string(column, row)
                        .unwrap_or_default();
                    let message = format!(
                        "Unable to extract timestamp from record in topic \"{}\" partition {} offset {}: TIMESTAMP column value '{shown}' is not a valid timestamp",
                        self.topic, record.partition, record.offset
                    );
                    if self.throw_on_invalid_timestamp {
                        return Err(ExecError::Format(format!(
                            "Fatal user code error in TimestampExtractor callback for record: {message}"
                        )));
                    }
                    tracing::warn!("{message}");
                    self.counters.record_failure(message);
                    invalid.push(row);
                    rowtime.push(0);
                }
            }
        }
        Ok((Arc::new(Int64Array::from(rowtime)), invalid))
    }
}

fn header_column(kind: &ColumnKind, records: &[&ConsumedRecord]) -> Result<ArrayRef> {
    match kind {
        ColumnKind::Header(name) => {
            let mut builder = BinaryBuilder::new();
            for record in records {
                match record.record.headers.iter().rev().find(|h| &h.key == name) {
                    Some(header) => match &header.value {
                        Some(value) => builder.append_value(value),
                        None => builder.append_null(),
                    },
                    None => builder.append_null(),
                }
            }
            Ok(Arc::new(builder.finish()))
        }
        _ => {
            let DataType::List(item) = planner::catalog::headers_type() else {
                return Err(ExecError::Internal("headers type is not a list".into()));
            };
            let DataType::Struct(fields) = item.data_type().clone() else {
                return Err(ExecError::Internal("headers item is not a struct".into()));
            };
            let mut builder = ListBuilder::new(StructBuilder::new(
                fields,
                vec![
                    Box::new(StringBuilder::new()),
                    Box::new(BinaryBuilder::new()),
                ],
            ))
            .with_field(item);
            for record in records {
                let entries = builder.values();
                for header in &record.record.headers {
                    entries
                        .field_builder::<StringBuilder>(0)
                        .expect("field 0 is a string")
                        .append_value(&header.key);
                    let value_builder = entries
                        .field_builder::<BinaryBuilder>(1)
                        .expect("field 1 is binary");
                    match &header.value {
                        Some(value) => value_builder.append_value(value),
                        None => value_builder.append_null(),
                    }
                    entries.append(true);
                }
                builder.append(true);
            }
            Ok(Arc::new(builder.finish()))
        }
    }
}
