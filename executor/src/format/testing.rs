//! Helpers for the format tests: building column types, and decoding or encoding rows
//! through the public API.

use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Field, Fields};
use serde_json::Value;

use super::{Decoder, Encoder, FormatKind, FormatOptions, arrow_value_to_json};

/// `ARRAY<item>`.
pub(super) fn list(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, true)))
}

/// `MAP<key, value>`.
pub(super) fn map(key: DataType, value: DataType) -> DataType {
    let entries = Fields::from(vec![
        Field::new("key", key, false),
        Field::new("value", value, true),
    ]);
    DataType::Map(
        Arc::new(Field::new("entries", DataType::Struct(entries), false)),
        false,
    )
}

/// `STRUCT<name type, ...>`.
pub(super) fn structure(fields: &[(&str, DataType)]) -> DataType {
    DataType::Struct(columns(fields))
}

/// Nullable columns.
pub(super) fn columns(fields: &[(&str, DataType)]) -> Fields {
    fields
        .iter()
        .map(|(name, data_type)| Field::new(*name, data_type.clone(), true))
        .collect()
}

/// Decodes `payloads`; for each input row, its column values as JSON or its error.
pub(super) fn decode_values(
    kind: FormatKind,
    options: &FormatOptions,
    fields: &Fields,
    payloads: &[Option<&[u8]>],
) -> Vec<Result<Vec<Value>, String>> {
    let decoder = Decoder::new(kind, options, fields.clone()).expect("decoder");
    let decoded = decoder.decode(payloads);
    assert_eq!(decoded.kept.len() + decoded.errors.len(), payloads.len());
    assert!(decoded.kept.is_sorted());
    for column in &decoded.columns {
        assert_eq!(column.len(), decoded.kept.len());
    }
    (0..payloads.len())
        .map(|index| {
            if let Some((_, message)) = decoded.errors.iter().find(|(row, _)| *row == index) {
                return Err(message.clone());
            }
            let row = decoded
                .kept
                .iter()
                .position(|kept| *kept == index)
                .expect("a row is kept or failed");
            Ok(decoded
                .columns
                .iter()
                .map(|column| arrow_value_to_json(column.as_ref(), row))
                .collect())
        })
        .collect()
}

/// Decodes one payload; its column values as JSON or its error.
pub(super) fn decode_one(
    kind: FormatKind,
    options: &FormatOptions,
    fields: &Fields,
    payload: &str,
) -> Result<Vec<Value>, String> {
    decode_values(kind, options, fields, &[Some(payload.as_bytes())])
        .pop()
        .expect("one row")
}

/// The columns of wrapped JSON rows, which must all decode.
pub(super) fn columns_from_json(fields: &Fields, rows: &[Option<&str>]) -> Vec<ArrayRef> {
    let decoder =
        Decoder::new(FormatKind::Json, &FormatOptions::default(), fields.clone()).expect("decoder");
    let payloads: Vec<Option<&[u8]>> = rows.iter().map(|row| row.map(str::as_bytes)).collect();
    let decoded = decoder.decode(&payloads);
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    decoded.columns
}

/// Encodes columns; the payloads as (lossy) text.
pub(super) fn encode_texts(
    kind: FormatKind,
    options: &FormatOptions,
    fields: &Fields,
    columns: &[ArrayRef],
) -> Vec<Option<String>> {
    let encoder = Encoder::new(kind, options, fields.clone()).expect("encoder");
    let rows = columns.first().map_or(0, |column| column.len());
    encoder
        .encode(columns, rows)
        .expect("encodes")
        .into_iter()
        .map(|payload| payload.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
        .collect()
}
