//! Column types and values as Postgres clients read them.
//!
//! BOOLEAN is `bool`, INT `int4`, BIGINT `int8`, DOUBLE `float8`, DECIMAL `numeric`,
//! STRING `text`, TIMESTAMP `timestamp` (UTC, no zone), DATE `date`, TIME `time`, BYTES
//! `bytea`, and ARRAY, MAP and STRUCT `json` (the REST API's JSON of the value). Values go
//! out as text, or in binary when the client asks for it (all types but `numeric`).

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Date32Type, Date64Type};
use bytes::{BufMut, BytesMut};
use pgwire::api::Type;
use pgwire::api::results::{FieldFormat, FieldInfo};

use super::execute::{RowSet, Rows};
use crate::http::json;
use crate::result::{Field, QueryDescription, SourceDescription, StatementResult};

/// Microseconds between the Unix epoch and Postgres's (2000-01-01).
const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Days between the Unix epoch and Postgres's.
const POSTGRES_EPOCH_DAYS: i64 = 10_957;

/// The Postgres type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PgKind {
    Bool,
    Int4,
    Int8,
    Float8,
    Numeric,
    Text,
    Timestamp,
    Date,
    Time,
    Bytea,
    Json,
}

impl PgKind {
    /// The type of a column of ksqlDB type `type_name` (`BIGINT`, `DECIMAL(4, 2)`, ...).
    pub(crate) fn of(type_name: &str) -> PgKind {
        let upper = type_name.trim().to_ascii_uppercase();
        let base = upper.split(['(', '<', ' ']).next().unwrap_or_default();
        match base {
            "BOOLEAN" | "BOOL" => PgKind::Bool,
            "INT" | "INTEGER" | "SMALLINT" | "TINYINT" => PgKind::Int4,
            "BIGINT" => PgKind::Int8,
            "DOUBLE" | "FLOAT" | "REAL" => PgKind::Float8,
            "DECIMAL" | "NUMERIC" => PgKind::Numeric,
            "TIMESTAMP" => PgKind::Timestamp,
            "DATE" => PgKind::Date,
            "TIME" => PgKind::Time,
            "BYTES" | "BYTEA" | "BINARY" | "VARBINARY" => PgKind::Bytea,
            "ARRAY" | "MAP" | "STRUCT" => PgKind::Json,
            _ => PgKind::Text,
        }
    }

    pub(crate) fn pg_type(self) -> Type {
        match self {
            PgKind::Bool => Type::BOOL,
            PgKind::Int4 => Type::INT4,
            PgKind::Int8 => Type::INT8,
            PgKind::Float8 => Type::FLOAT8,
            PgKind::Numeric => Type::NUMERIC,
            PgKind::Text => Type::TEXT,
            PgKind::Timestamp => Type::TIMESTAMP,
            PgKind::Date => Type::DATE,
            PgKind::Time => Type::TIME,
            PgKind::Bytea => Type::BYTEA,
            PgKind::Json => Type::JSON,
        }
    }
}

/// A result column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) kind: PgKind,
}

impl Column {
    pub(crate) fn new(name: String, kind: PgKind) -> Self {
        Self { name, kind }
    }
}

/// The row description of `columns`, each in the format the client asked for.
pub(crate) fn fields(columns: &[Column], format: impl Fn(usize) -> FieldFormat) -> Vec<FieldInfo> {
    columns
        .iter()
        .enumerate()
        .map(|(index, column)| {
            FieldInfo::new(
                column.name.clone(),
                None,
                None,
                column.kind.pg_type(),
                format(index),
            )
        })
        .collect()
}

/// Appends the value at `row` of `array` as a DataRow field (length, then bytes).
pub(crate) fn encode_value(
    kind: PgKind,
    format: FieldFormat,
    array: &dyn Array,
    row: usize,
    out: &mut BytesMut,
) -> Result<(), String> {
    if array.is_null(row) {
        out.put_i32(-1);
        return Ok(());
    }
    let mut value = Vec::with_capacity(16);
    match format {
        FieldFormat::Text => text_value(kind, array, row, &mut value),
        FieldFormat::Binary => binary_value(kind, array, row, &mut value)?,
    }
    put_field(out, Some(&value));
    Ok(())
}

/// Appends a field of `value` (None = NULL).
pub(crate) fn put_field(out: &mut BytesMut, value: Option<&[u8]>) {
    match value {
        Some(value) => {
            out.put_i32(i32::try_from(value.len()).unwrap_or(i32::MAX));
            out.put_slice(value);
        }
        None => out.put_i32(-1),
    }
}

/// Appends a text-only field (SHOW and DESCRIBE results) in `format`.
pub(crate) fn encode_text_field(
    kind: PgKind,
    format: FieldFormat,
    value: Option<&str>,
    out: &mut BytesMut,
) -> Result<(), String> {
    let Some(value) = value else {
        put_field(out, None);
        return Ok(());
    };
    match (format, kind) {
        (FieldFormat::Text, _) | (FieldFormat::Binary, PgKind::Text | PgKind::Json) => {
            put_field(out, Some(value.as_bytes()));
        }
        (FieldFormat::Binary, PgKind::Int4) => {
            let number: i32 = value.parse().map_err(|_| format!("not an int4: {value}"))?;
            put_field(out, Some(&number.to_be_bytes()));
        }
        (FieldFormat::Binary, PgKind::Bool) => {
            put_field(out, Some(&[u8::from(value == "t")]));
        }
        (FieldFormat::Binary, other) => {
            return Err(format!("no binary format for {other:?}"));
        }
    }
    Ok(())
}

/// Postgres's text form of a value.
fn text_value(kind: PgKind, array: &dyn Array, row: usize, out: &mut Vec<u8>) {
    match kind {
        PgKind::Bool => match array.as_boolean_opt() {
            Some(values) => out.push(if values.value(row) { b't' } else { b'f' }),
            None => out.extend_from_slice(json_text(array, row).as_bytes()),
        },
        PgKind::Text => match string_value(array, row) {
            Some(value) => out.extend_from_slice(value.as_bytes()),
            None => out.extend_from_slice(json_text(array, row).as_bytes()),
        },
        PgKind::Bytea => match binary(array, row) {
            Some(value) => {
                out.extend_from_slice(b"\\x");
                for byte in value {
                    out.extend_from_slice(format!("{byte:02x}").as_bytes());
                }
            }
            None => out.extend_from_slice(json_text(array, row).as_bytes()),
        },
        // `1999-11-30 11:00:00.000`: the REST API's ISO text with a space for the `T`.
        PgKind::Timestamp => {
            out.extend_from_slice(json_text(array, row).replacen('T', " ", 1).as_bytes());
        }
        PgKind::Int4
        | PgKind::Int8
        | PgKind::Float8
        | PgKind::Numeric
        | PgKind::Date
        | PgKind::Time => out.extend_from_slice(json_text(array, row).as_bytes()),
        PgKind::Json => json::write_value(array, row, out),
    }
}

/// Postgres's binary form of a value.
fn binary_value(
    kind: PgKind,
    array: &dyn Array,
    row: usize,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let number_error = |text: &str| format!("cannot send {text} as {kind:?}");
    match kind {
        PgKind::Bool => {
            let value = array
                .as_boolean_opt()
                .ok_or_else(|| number_error("a non-boolean"))?
                .value(row);
            out.push(u8::from(value));
        }
        PgKind::Int4 => {
            let text = json_text(array, row);
            let value: i32 = text.parse().map_err(|_| number_error(&text))?;
            out.extend_from_slice(&value.to_be_bytes());
        }
        PgKind::Int8 => {
            let text = json_text(array, row);
            let value: i64 = text.parse().map_err(|_| number_error(&text))?;
            out.extend_from_slice(&value.to_be_bytes());
        }
        PgKind::Float8 => {
            let text = json_text(array, row);
            let value: f64 = text.parse().map_err(|_| number_error(&text))?;
            out.extend_from_slice(&value.to_be_bytes());
        }
        PgKind::Text | PgKind::Json => text_value(kind, array, row, out),
        PgKind::Bytea => match binary(array, row) {
            Some(value) => out.extend_from_slice(value),
            None => return Err(number_error("a non-binary value")),
        },
        PgKind::Timestamp => {
            let DataType::Timestamp(unit, _) = array.data_type() else {
                return Err(number_error("a non-timestamp"));
            };
            let millis = json::timestamp_millis(array, row, *unit);
            let micros = millis.saturating_mul(1000) - POSTGRES_EPOCH_MICROS;
            out.extend_from_slice(&micros.to_be_bytes());
        }
        PgKind::Date => {
            let days = match array.data_type() {
                DataType::Date32 => i64::from(array.as_primitive::<Date32Type>().value(row)),
                DataType::Date64 => array.as_primitive::<Date64Type>().value(row) / 86_400_000,
                _ => return Err(number_error("a non-date")),
            };
            let days = i32::try_from(days - POSTGRES_EPOCH_DAYS)
                .map_err(|_| number_error("a date out of range"))?;
            out.extend_from_slice(&days.to_be_bytes());
        }
        PgKind::Time => {
            let (DataType::Time32(unit) | DataType::Time64(unit)) = array.data_type() else {
                return Err(number_error("a non-time"));
            };
            let micros = json::time_millis(array, row, *unit) * 1000;
            out.extend_from_slice(&micros.to_be_bytes());
        }
        PgKind::Numeric => {
            return Err(
                "DECIMAL columns are sent as text only: ask for the text format".to_string(),
            );
        }
    }
    Ok(())
}

/// The REST API's JSON of a value, without the quotes of a JSON string.
fn json_text(array: &dyn Array, row: usize) -> String {
    let mut out = Vec::new();
    json::write_value(array, row, &mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    match text
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        Some(inner) => inner.to_string(),
        None => text,
    }
}

fn string_value(array: &dyn Array, row: usize) -> Option<&str> {
    match array.data_type() {
        DataType::Utf8 => Some(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => Some(array.as_string::<i64>().value(row)),
        DataType::Utf8View => Some(array.as_string_view().value(row)),
        _ => None,
    }
}

fn binary(array: &dyn Array, row: usize) -> Option<&[u8]> {
    match array.data_type() {
        DataType::Binary => Some(array.as_binary::<i32>().value(row)),
        DataType::LargeBinary => Some(array.as_binary::<i64>().value(row)),
        DataType::BinaryView => Some(array.as_binary_view().value(row)),
        _ => None,
    }
}

/// What SHOW, LIST, DESCRIBE and EXPLAIN found, as a result set.
pub(crate) fn result_rows(result: StatementResult) -> RowSet {
    let text = |names: &[&str]| -> Vec<Column> {
        names
            .iter()
            .map(|name| Column::new((*name).to_string(), PgKind::Text))
            .collect()
    };
    let with_kinds = |names: &[(&str, PgKind)]| -> Vec<Column> {
        names
            .iter()
            .map(|(name, kind)| Column::new((*name).to_string(), *kind))
            .collect()
    };
    let bool_text = |value: bool| Some(if value { "t" } else { "f" }.to_string());
    let (columns, rows): (Vec<Column>, Vec<Vec<Option<String>>>) = match result {
        StatementResult::Sources { sources, .. } => (
            with_kinds(&[
                ("name", PgKind::Text),
                ("topic", PgKind::Text),
                ("key_format", PgKind::Text),
                ("value_format", PgKind::Text),
                ("windowed", PgKind::Bool),
            ]),
            sources
                .into_iter()
                .map(|source| {
                    vec![
                        Some(source.name),
                        Some(source.topic),
                        Some(source.key_format),
                        Some(source.value_format),
                        bool_text(source.windowed),
                    ]
                })
                .collect(),
        ),
        StatementResult::SourceDescription(description) => (
            text(&["field", "type", "key"]),
            field_rows(&description.fields),
        ),
        StatementResult::SourceDescriptions(descriptions) => (
            with_kinds(&[
                ("name", PgKind::Text),
                ("type", PgKind::Text),
                ("topic", PgKind::Text),
                ("key_format", PgKind::Text),
                ("value_format", PgKind::Text),
                ("partitions", PgKind::Int4),
            ]),
            descriptions.iter().map(description_row).collect(),
        ),
        StatementResult::Queries(queries) => (
            text(&["id", "query_type", "status", "sinks", "sink_topics", "sql"]),
            queries
                .into_iter()
                .map(|query| {
                    vec![
                        Some(query.id),
                        Some(query.kind.name().to_string()),
                        Some(query.status.name().to_string()),
                        Some(query.sinks.join(", ")),
                        Some(query.sink_topics.join(", ")),
                        Some(query.sql),
                    ]
                })
                .collect(),
        ),
        StatementResult::QueryDescriptions(queries) => (
            text(&["id", "query_type", "status", "sources", "sinks", "sql"]),
            queries.iter().map(query_row).collect(),
        ),
        StatementResult::QueryDescription(query) => (
            text(&[
                "id",
                "query_type",
                "status",
                "sources",
                "sinks",
                "sql",
                "execution_plan",
            ]),
            vec![{
                let mut row = query_row(&query);
                row.push(Some(query.execution_plan.clone()));
                row
            }],
        ),
        StatementResult::Topics { topics, .. } => (
            with_kinds(&[
                ("name", PgKind::Text),
                ("partitions", PgKind::Int4),
                ("replicas", PgKind::Int4),
            ]),
            topics
                .into_iter()
                .map(|topic| {
                    vec![
                        Some(topic.name),
                        Some(topic.partitions.to_string()),
                        Some(topic.replicas.to_string()),
                    ]
                })
                .collect(),
        ),
        StatementResult::Properties { properties, .. } => (
            text(&["name", "scope", "value"]),
            properties
                .into_iter()
                .map(|property| {
                    vec![
                        Some(property.name),
                        Some(property.scope),
                        Some(property.value),
                    ]
                })
                .collect(),
        ),
        StatementResult::Functions(functions) => (
            text(&["name", "type", "category"]),
            functions
                .into_iter()
                .map(|function| {
                    vec![
                        Some(function.name),
                        Some(function.kind),
                        Some(function.category),
                    ]
                })
                .collect(),
        ),
        StatementResult::FunctionDescription(function) => (
            text(&["name", "arguments", "return_type", "description"]),
            function
                .variations
                .iter()
                .map(|variation| {
                    let arguments: Vec<String> = variation
                        .arguments
                        .iter()
                        .map(crate::result::FunctionArgument::signature)
                        .collect();
                    vec![
                        Some(function.name.clone()),
                        Some(arguments.join(", ")),
                        Some(variation.return_type.clone()),
                        Some(variation.description.clone()),
                    ]
                })
                .collect(),
        ),
        StatementResult::Types(types) => (
            text(&["name", "schema"]),
            types
                .into_iter()
                .map(|(name, data_type)| {
                    vec![Some(name), Some(planner::types::sql_type_name(&data_type))]
                })
                .collect(),
        ),
        StatementResult::Variables(variables) => (
            text(&["name", "value"]),
            variables
                .into_iter()
                .map(|(name, value)| vec![Some(name), Some(value)])
                .collect(),
        ),
        // Statements without rows answer a command tag; these never reach here.
        StatementResult::Status(message) | StatementResult::Warning(message) => {
            (text(&["message"]), vec![vec![Some(message)]])
        }
        StatementResult::QueryCreated { query_id, .. } => (
            text(&["message"]),
            vec![vec![Some(StatementResult::query_created_message(
                &query_id,
            ))]],
        ),
        StatementResult::RowInserted
        | StatementResult::PropertySet { .. }
        | StatementResult::PropertyUnset { .. }
        | StatementResult::VariableDefined { .. }
        | StatementResult::VariableUndefined { .. } => (text(&["message"]), Vec::new()),
    };
    RowSet {
        columns,
        rows: Rows::Table(rows),
        notice: None,
    }
}

fn field_rows(fields: &[Field]) -> Vec<Vec<Option<String>>> {
    fields
        .iter()
        .map(|field| {
            let key = match &field.kind {
                planner::catalog::ColumnKind::Key => "KEY".to_string(),
                planner::catalog::ColumnKind::Headers => "HEADERS".to_string(),
                planner::catalog::ColumnKind::Header(name) => format!("HEADER('{name}')"),
                planner::catalog::ColumnKind::Value => String::new(),
            };
            vec![
                Some(field.name.clone()),
                Some(planner::types::sql_type_name(&field.data_type)),
                Some(key),
            ]
        })
        .collect()
}

fn description_row(description: &SourceDescription) -> Vec<Option<String>> {
    let kind = match description.kind {
        parser::ast::SourceKind::Stream => "STREAM",
        parser::ast::SourceKind::Table => "TABLE",
    };
    vec![
        Some(description.name.clone()),
        Some(kind.to_string()),
        Some(description.topic.clone()),
        Some(description.key_format.clone()),
        Some(description.value_format.clone()),
        Some(description.partitions.to_string()),
    ]
}

fn query_row(query: &QueryDescription) -> Vec<Option<String>> {
    vec![
        Some(query.id.clone()),
        Some(query.kind.name().to_string()),
        query
            .status
            .as_ref()
            .map(|status| status.name().to_string()),
        Some(query.sources.join(", ")),
        Some(query.sinks.join(", ")),
        Some(query.sql.clone()),
    ]
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, BinaryArray, BooleanArray, Date32Array, Float64Array, Int32Array, StringArray,
        TimestampMillisecondArray,
    };

    use super::*;

    #[test]
    fn ksqldb_types_map_to_postgres_types() {
        let cases = [
            ("BOOLEAN", Type::BOOL),
            ("INTEGER", Type::INT4),
            ("BIGINT", Type::INT8),
            ("DOUBLE", Type::FLOAT8),
            ("DECIMAL(4, 2)", Type::NUMERIC),
            ("STRING", Type::TEXT),
            ("TIMESTAMP", Type::TIMESTAMP),
            ("DATE", Type::DATE),
            ("TIME", Type::TIME),
            ("BYTES", Type::BYTEA),
            ("ARRAY<STRING>", Type::JSON),
            ("MAP<STRING, INTEGER>", Type::JSON),
            ("STRUCT<`A` INTEGER>", Type::JSON),
        ];
        for (name, expected) in cases {
            assert_eq!(PgKind::of(name).pg_type(), expected, "{name}");
        }
    }

    fn encoded(kind: PgKind, format: FieldFormat, array: ArrayRef) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode_value(kind, format, array.as_ref(), 0, &mut out).expect("encodes");
        out[4..].to_vec()
    }

    #[test]
    fn values_have_postgres_text_and_binary_forms() {
        let cases: Vec<(PgKind, ArrayRef, &[u8], Vec<u8>)> = vec![
            (
                PgKind::Bool,
                Arc::new(BooleanArray::from(vec![true])),
                b"t",
                vec![1],
            ),
            (
                PgKind::Int4,
                Arc::new(Int32Array::from(vec![-7])),
                b"-7",
                (-7i32).to_be_bytes().to_vec(),
            ),
            (
                PgKind::Float8,
                Arc::new(Float64Array::from(vec![1.5])),
                b"1.5",
                1.5f64.to_be_bytes().to_vec(),
            ),
            (
                PgKind::Text,
                Arc::new(StringArray::from(vec!["it's \"x\""])),
                b"it's \"x\"",
                b"it's \"x\"".to_vec(),
            ),
            (
                PgKind::Bytea,
                Arc::new(BinaryArray::from(vec![&[0u8, 255][..]])),
                b"\\x00ff",
                vec![0, 255],
            ),
            (
                PgKind::Date,
                Arc::new(Date32Array::from(vec![10_958])),
                b"2000-01-02",
                1i32.to_be_bytes().to_vec(),
            ),
            (
                PgKind::Timestamp,
                Arc::new(TimestampMillisecondArray::from(vec![946_684_800_001])),
                b"2000-01-01 00:00:00.001",
                1000i64.to_be_bytes().to_vec(),
            ),
        ];
        for (kind, array, text, binary) in cases {
            assert_eq!(
                encoded(kind, FieldFormat::Text, Arc::clone(&array)),
                text,
                "{kind:?}"
            );
            assert_eq!(
                encoded(kind, FieldFormat::Binary, array),
                binary,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn nulls_have_length_minus_one() {
        let mut out = BytesMut::new();
        let array = Int32Array::from(vec![None]);
        encode_value(PgKind::Int4, FieldFormat::Text, &array, 0, &mut out).expect("encodes");
        assert_eq!(&out[..], &(-1i32).to_be_bytes());
    }
}
