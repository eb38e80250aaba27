//! How query results are written: ksqlDB's `/query` stream of `StreamedRow` elements, and
//! `/query-stream`'s delimited and JSON-array formats.
//!
//! Table changelog batches may carry the hidden `$op` column: deletes are written as
//! tombstones, retractions (aggregates' old values) are not written.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::Int8Type;
use arrow::record_batch::RecordBatch;
use base64::Engine as _;
use executor::format::{Encoder, FormatKind, FormatOptions};
use planner::catalog::{OP_COLUMN, OP_DELETE, OP_RETRACT};
use planner::schema_registry::protobuf::proto_schema_for_rows;
use serde_json::{Value, json};

use super::rows::Ending;
use crate::OutputColumn;
use crate::http::error::{self, ApiError};
use crate::http::json::{write_row, write_string};

/// The shape of a query response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowFormat {
    /// `/query`: one JSON array, one element per line: `{"header":..}`, `{"row":..}`, and
    /// `{"finalMessage":..}` or `{"errorMessage":..}` last. As in ksqlDB, a push query
    /// writes each element with the `,\n` that follows it, so that a line-reading client
    /// gets the header at once, and always ends with a final or error message.
    Streamed,
    /// `/query` with `Accept: application/vnd.ksql.v1+protobuf` (pull queries): as
    /// `Streamed`, the header also giving the rows' `protoSchema` and each row its message
    /// as `{"row":{"protobufBytes":"<base64>"}}`.
    StreamedProtobuf,
    /// `/query-stream` delimited: the metadata object, then one JSON array per row, each
    /// followed by a newline.
    Delimited,
    /// `/query-stream` JSON: one array of the metadata object and the rows.
    JsonArray,
}

/// The last message of a push query's `/query` response that ends without one of its own.
const QUERY_COMPLETED: &str = "Query Completed";

/// What a response says about its query before the rows.
pub(crate) struct QueryMetadata<'a> {
    pub(crate) query_id: &'a str,
    pub(crate) columns: &'a [OutputColumn],
    /// Pull query headers mark key columns `KEY`.
    pub(crate) is_pull: bool,
}

impl RowFormat {
    /// The start of the response, up to and including the header or metadata.
    pub(crate) fn write_start(self, metadata: &QueryMetadata<'_>, out: &mut Vec<u8>) {
        match self {
            RowFormat::Streamed | RowFormat::StreamedProtobuf => {
                // ksqlDB's schema text lists key columns, then header columns, then values.
                let rank = |column: &OutputColumn| match (
                    metadata.is_pull && column.key,
                    &column.header,
                ) {
                    (true, _) => 0,
                    (false, Some(_)) => 1,
                    (false, None) => 2,
                };
                let mut columns: Vec<&OutputColumn> = metadata.columns.iter().collect();
                if columns.iter().any(|column| column.header.is_some()) {
                    columns.sort_by_key(|column| rank(column));
                }
                let schema = columns
                    .iter()
                    .map(|column| {
                        let suffix = match (&column.header, metadata.is_pull && column.key) {
                            (Some(header), _) => format!(" {header}"),
                            (None, true) => " KEY".to_string(),
                            (None, false) => String::new(),
                        };
                        format!("`{}` {}{suffix}", column.name, column.type_name)
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                out.extend_from_slice(b"[{\"header\":{\"queryId\":");
                write_string(metadata.query_id, out);
                out.extend_from_slice(b",\"schema\":");
                write_string(&schema, out);
                if self == RowFormat::StreamedProtobuf {
                    out.extend_from_slice(b",\"protoSchema\":");
                    write_string(&proto_schema(metadata.columns), out);
                }
                out.extend_from_slice(b"}}");
                if !metadata.is_pull {
                    out.extend_from_slice(b",\n");
                }
            }
            RowFormat::Delimited => {
                write_metadata(metadata, out);
                out.push(b'\n');
            }
            RowFormat::JsonArray => {
                out.push(b'[');
                write_metadata(metadata, out);
            }
        }
    }

    /// The rows of a batch (`is_pull` as given to `write_start`). `row_ends` gets the
    /// length of `out` after each row written, so that each can be sent as its own write.
    pub(crate) fn write_batch(
        self,
        batch: &RecordBatch,
        is_pull: bool,
        out: &mut Vec<u8>,
        row_ends: &mut Vec<usize>,
    ) {
        let op_index = batch.schema().index_of(OP_COLUMN).ok();
        let ops = op_index.and_then(|index| batch.column(index).as_primitive_opt::<Int8Type>());
        let columns: Vec<_> = batch
            .columns()
            .iter()
            .enumerate()
            .filter(|(index, _)| Some(*index) != op_index)
            .map(|(_, column)| std::sync::Arc::clone(column))
            .collect();
        let messages = match self {
            RowFormat::StreamedProtobuf => protobuf_rows(batch, &columns),
            _ => Vec::new(),
        };
        for row in 0..batch.num_rows() {
            let op = ops
                .filter(|ops| ops.is_valid(row))
                .map(|ops| ops.value(row));
            if op == Some(OP_RETRACT) {
                continue;
            }
            let tombstone = op == Some(OP_DELETE);
            match self {
                RowFormat::Streamed => {
                    if is_pull {
                        out.extend_from_slice(b",\n");
                    }
                    out.extend_from_slice(b"{\"row\":{\"columns\":");
                    write_row(&columns, row, out);
                    if tombstone {
                        out.extend_from_slice(b",\"tombstone\":true");
                    }
                    out.extend_from_slice(b"}}");
                    if !is_pull {
                        out.extend_from_slice(b",\n");
                    }
                }
                RowFormat::StreamedProtobuf => {
                    out.extend_from_slice(b",\n{\"row\":{\"protobufBytes\":");
                    let bytes = messages.get(row).cloned().flatten().unwrap_or_default();
                    write_string(
                        &base64::engine::general_purpose::STANDARD.encode(bytes),
                        out,
                    );
                    out.extend_from_slice(b"}}");
                }
                RowFormat::Delimited => {
                    write_row(&columns, row, out);
                    out.push(b'\n');
                }
                RowFormat::JsonArray => {
                    out.push(b',');
                    write_row(&columns, row, out);
                }
            }
            row_ends.push(out.len());
        }
    }

    /// The end of the response: the final or error message, and the closing bracket. A
    /// push query's `/query` response always has a last message: `Query Completed` when the
    /// query has none of its own.
    pub(crate) fn write_end(
        self,
        ending: &Ending,
        final_message: Option<&str>,
        is_pull: bool,
        out: &mut Vec<u8>,
    ) {
        let error = match ending {
            Ending::Failed(message) => {
                Some(ApiError::generic(error::SERVER_ERROR, message.clone()))
            }
            Ending::Completed | Ending::Closed => None,
        };
        match self {
            RowFormat::Streamed | RowFormat::StreamedProtobuf => {
                let message = match ending {
                    Ending::Completed => final_message,
                    Ending::Closed | Ending::Failed(_) => None,
                };
                let message = if is_pull {
                    message
                } else {
                    Some(message.unwrap_or(QUERY_COMPLETED))
                };
                if let Some(error) = &error {
                    if is_pull {
                        out.extend_from_slice(b",\n");
                    }
                    push_json(out, &json!({ "errorMessage": error.body() }));
                } else if let Some(message) = message {
                    if is_pull {
                        out.extend_from_slice(b",\n");
                    }
                    out.extend_from_slice(b"{\"finalMessage\":");
                    write_string(message, out);
                    out.push(b'}');
                }
                out.push(b']');
            }
            RowFormat::Delimited => {
                if let Some(error) = &error {
                    push_json(out, error.body());
                    out.push(b'\n');
                }
            }
            RowFormat::JsonArray => {
                if let Some(error) = &error {
                    out.push(b',');
                    push_json(out, error.body());
                }
                out.push(b']');
            }
        }
    }
}

/// The `.proto` text of a row of `columns`, as ksqlDB generates it.
fn proto_schema(columns: &[OutputColumn]) -> String {
    let columns: Vec<(String, parser::ast::DataType)> = columns
        .iter()
        .map(|column| (column.name.clone(), column.data_type.clone()))
        .collect();
    proto_schema_for_rows(&columns).unwrap_or_default()
}

/// Each row of `columns` (a batch's) as a protobuf message of its columns (empty when the
/// columns cannot be encoded).
fn protobuf_rows(batch: &RecordBatch, columns: &[ArrayRef]) -> Vec<Option<Vec<u8>>> {
    let fields: arrow::datatypes::Fields = batch
        .schema()
        .fields()
        .iter()
        .filter(|field| field.name() != OP_COLUMN)
        .cloned()
        .collect();
    Encoder::new(FormatKind::ProtobufNosr, &FormatOptions::default(), fields)
        .and_then(|encoder| encoder.encode(columns, batch.num_rows()))
        .unwrap_or_default()
}

/// `{"queryId":..,"columnNames":[..],"columnTypes":[..]}`
fn write_metadata(metadata: &QueryMetadata<'_>, out: &mut Vec<u8>) {
    let names: Vec<&str> = metadata.columns.iter().map(|c| c.name.as_str()).collect();
    let types: Vec<&str> = metadata
        .columns
        .iter()
        .map(|c| c.type_name.as_str())
        .collect();
    push_json(
        out,
        &json!({
            "queryId": metadata.query_id,
            "columnNames": names,
            "columnTypes": types,
        }),
    );
}

fn push_json(out: &mut Vec<u8>, value: &Value) {
    // Serializing a `Value` into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int8Array, Int32Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn columns() -> Vec<OutputColumn> {
        vec![
            OutputColumn {
                name: "ID".into(),
                type_name: "STRING".into(),
                data_type: parser::ast::DataType::String,
                key: true,
                header: None,
            },
            OutputColumn {
                name: "N".into(),
                type_name: "INTEGER".into(),
                data_type: parser::ast::DataType::Int,
                key: false,
                header: None,
            },
        ]
    }

    fn batch() -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("ID", DataType::Utf8, true),
            Field::new("N", DataType::Int32, true),
            Field::new(OP_COLUMN, DataType::Int8, true),
        ]);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["a", "b", "b"])),
            Arc::new(Int32Array::from(vec![Some(1), Some(2), None])),
            Arc::new(Int8Array::from(vec![0, OP_RETRACT, OP_DELETE])),
        ];
        RecordBatch::try_new(Arc::new(schema), columns).expect("batch")
    }

    fn render(format: RowFormat, is_pull: bool, ending: Ending) -> String {
        let columns = columns();
        let metadata = QueryMetadata {
            query_id: "q1",
            columns: &columns,
            is_pull,
        };
        let mut out = Vec::new();
        format.write_start(&metadata, &mut out);
        format.write_batch(&batch(), is_pull, &mut out, &mut Vec::new());
        format.write_end(&ending, Some("Limit Reached"), is_pull, &mut out);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn formats_write_ksqldb_shapes() {
        let cases = [
            (
                RowFormat::Streamed,
                true,
                Ending::Completed,
                "[{\"header\":{\"queryId\":\"q1\",\"schema\":\"`ID` STRING KEY, `N` INTEGER\"}},\n\
                 {\"row\":{\"columns\":[\"a\",1]}},\n\
                 {\"row\":{\"columns\":[\"b\",null],\"tombstone\":true}},\n\
                 {\"finalMessage\":\"Limit Reached\"}]",
            ),
            (
                RowFormat::Streamed,
                false,
                Ending::Closed,
                "[{\"header\":{\"queryId\":\"q1\",\"schema\":\"`ID` STRING, `N` INTEGER\"}},\n\
                 {\"row\":{\"columns\":[\"a\",1]}},\n\
                 {\"row\":{\"columns\":[\"b\",null],\"tombstone\":true}},\n\
                 {\"finalMessage\":\"Query Completed\"}]",
            ),
            (
                RowFormat::Streamed,
                false,
                Ending::Completed,
                "[{\"header\":{\"queryId\":\"q1\",\"schema\":\"`ID` STRING, `N` INTEGER\"}},\n\
                 {\"row\":{\"columns\":[\"a\",1]}},\n\
                 {\"row\":{\"columns\":[\"b\",null],\"tombstone\":true}},\n\
                 {\"finalMessage\":\"Limit Reached\"}]",
            ),
            (
                RowFormat::Streamed,
                false,
                Ending::Failed("boom".into()),
                "[{\"header\":{\"queryId\":\"q1\",\"schema\":\"`ID` STRING, `N` INTEGER\"}},\n\
                 {\"row\":{\"columns\":[\"a\",1]}},\n\
                 {\"row\":{\"columns\":[\"b\",null],\"tombstone\":true}},\n\
                 {\"errorMessage\":{\"@type\":\"generic_error\",\"error_code\":50000,\"message\":\"boom\"}}]",
            ),
            (
                RowFormat::Streamed,
                true,
                Ending::Failed("boom".into()),
                "[{\"header\":{\"queryId\":\"q1\",\"schema\":\"`ID` STRING KEY, `N` INTEGER\"}},\n\
                 {\"row\":{\"columns\":[\"a\",1]}},\n\
                 {\"row\":{\"columns\":[\"b\",null],\"tombstone\":true}},\n\
                 {\"errorMessage\":{\"@type\":\"generic_error\",\"error_code\":50000,\"message\":\"boom\"}}]",
            ),
            (
                RowFormat::Delimited,
                false,
                Ending::Completed,
                "{\"columnNames\":[\"ID\",\"N\"],\"columnTypes\":[\"STRING\",\"INTEGER\"],\"queryId\":\"q1\"}\n\
                 [\"a\",1]\n[\"b\",null]\n",
            ),
            (
                RowFormat::JsonArray,
                false,
                Ending::Completed,
                "[{\"columnNames\":[\"ID\",\"N\"],\"columnTypes\":[\"STRING\",\"INTEGER\"],\"queryId\":\"q1\"},\
                 [\"a\",1],[\"b\",null]]",
            ),
        ];
        for (format, is_pull, ending, expected) in cases {
            assert_eq!(render(format, is_pull, ending), expected, "{format:?}");
        }
    }
}
