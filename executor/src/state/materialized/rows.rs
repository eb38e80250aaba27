//! Decoding the stored entries of a materialized table into Arrow batches.
//!
//! A row is the key columns, the value columns, `ROWTIME` and, for windowed tables,
//! `WINDOWSTART` and `WINDOWEND`. Entries that do not decode are logged and skipped.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, UInt32Array};
use arrow::compute::take;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use planner::SourceDefinition;
use planner::catalog::WindowInfo;

use super::decode_value;
use crate::format::Decoder;
use crate::operator::source::{format_of, key_format_of};
use crate::operator::window::split_window;
use crate::{ExecError, Result};

/// Decodes the state entries of one materialized table into rows of its `schema`.
#[derive(Debug)]
pub struct MaterializedRowDecoder {
    name: String,
    schema: SchemaRef,
    key_decoder: Decoder,
    value_decoder: Decoder,
    window: Option<WindowInfo>,
}

impl MaterializedRowDecoder {
    /// A decoder of the rows of table `source`, in `planner::pull::sql_table_schema`.
    pub fn new(source: &SourceDefinition) -> Result<Self> {
        let key_fields = source
            .key_fields()
            .map_err(|error| ExecError::User(error.to_string()))?;
        let value_fields = source
            .value_fields()
            .map_err(|error| ExecError::User(error.to_string()))?;
        let (key_kind, key_options) = key_format_of(&source.key_format, key_fields.len())?;
        let (value_kind, value_options) = format_of(&source.value_format)?;
        let schema = planner::pull::sql_table_schema(source)
            .map_err(|error| ExecError::User(error.to_string()))?;
        Ok(MaterializedRowDecoder {
            name: source.name.clone(),
            schema,
            key_decoder: Decoder::new(key_kind, &key_options, key_fields)?,
            value_decoder: Decoder::new(value_kind, &value_options, value_fields)?,
            window: source.window,
        })
    }

    /// Key columns, value columns, `ROWTIME` (+ `WINDOWSTART`, `WINDOWEND`).
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The rows of `entries` that decode, in entry order.
    pub fn decode(&self, entries: &[(Vec<u8>, Vec<u8>)]) -> Result<RecordBatch> {
        let mut keys: Vec<Option<&[u8]>> = Vec::with_capacity(entries.len());
        let mut values: Vec<Option<&[u8]>> = Vec::with_capacity(entries.len());
        let mut timestamps: Vec<i64> = Vec::with_capacity(entries.len());
        let mut windows: Vec<(i64, i64)> = Vec::new();
        for (key, value) in entries {
            let Some((timestamp, payload)) = decode_value(value) else {
                self.skip(key, "the stored value has no timestamp");
                continue;
            };
            let key = match self.window {
                Some(window) => match split_window(key, window.kind, window.size_ms) {
                    Some((key, start, end)) => {
                        windows.push((start, end));
                        key
                    }
                    None => {
                        self.skip(key, "the stored key has no window");
                        continue;
                    }
                },
                None => key.as_slice(),
            };
            keys.push(Some(key));
            values.push(Some(payload));
            timestamps.push(timestamp);
        }
        let decoded_keys = self.key_decoder.decode(&keys);
        let decoded_values = self.value_decoder.decode(&values);
        for (index, error) in decoded_keys.errors.iter().chain(&decoded_values.errors) {
            self.skip(keys[*index].unwrap_or_default(), error);
        }
        // Rows kept: decoded in both key and value; positions into each decoded column set.
        let mut key_positions: Vec<u32> = Vec::new();
        let mut value_positions: Vec<u32> = Vec::new();
        let mut kept: Vec<usize> = Vec::new();
        let (mut k, mut v) = (0, 0);
        while k < decoded_keys.kept.len() && v < decoded_values.kept.len() {
            let (key_row, value_row) = (decoded_keys.kept[k], decoded_values.kept[v]);
            if key_row == value_row {
                key_positions.push(k as u32);
                value_positions.push(v as u32);
                kept.push(key_row);
                k += 1;
                v += 1;
            } else if key_row < value_row {
                k += 1;
            } else {
                v += 1;
            }
        }
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        // Only rows that failed to decode on one side need gathering on the other.
        let gather =
            |decoded: &[ArrayRef], positions: Vec<u32>, all: bool| -> Result<Vec<ArrayRef>> {
                if all {
                    return Ok(decoded.to_vec());
                }
                let index = UInt32Array::from(positions);
                Ok(decoded
                    .iter()
                    .map(|column| take(column, &index, None))
                    .collect::<Result<_, _>>()?)
            };
        let all_keys = key_positions.len() == decoded_keys.kept.len();
        let all_values = value_positions.len() == decoded_values.kept.len();
        columns.extend(gather(&decoded_keys.columns, key_positions, all_keys)?);
        columns.extend(gather(
            &decoded_values.columns,
            value_positions,
            all_values,
        )?);
        columns.push(Arc::new(Int64Array::from_iter_values(
            kept.iter().map(|row| timestamps[*row]),
        )));
        if self.window.is_some() {
            columns.push(Arc::new(Int64Array::from_iter_values(
                kept.iter().map(|row| windows[*row].0),
            )));
            columns.push(Arc::new(Int64Array::from_iter_values(
                kept.iter().map(|row| windows[*row].1),
            )));
        }
        let options =
            arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(kept.len()));
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &options,
        )?)
    }

    fn skip(&self, key: &[u8], reason: &str) {
        tracing::warn!(
            "skipping a row of table \"{}\" (key {key:02x?}) in a pull query: {reason}",
            self.name
        );
    }
}
