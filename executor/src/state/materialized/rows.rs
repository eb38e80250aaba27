//! Decoding the stored entries of a materialized table into Arrow batches.
//!
//! A row is the key columns, the value columns, `ROWTIME` and, for windowed tables,
//! `WINDOWSTART` and `WINDOWEND`. Entries that do not decode are logged and skipped.

use std::sync::Arc;

use arrow::array::Int64Array;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use planner::SourceDefinition;
use planner::catalog::WindowInfo;

use super::decode_value;
use crate::format::{Decoded, Decoder};
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
        // Rows kept: decoded in both key and value.
        let (mut columns, kept) = Decoded::kept_in_both(&decoded_keys, &decoded_values)?;
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
