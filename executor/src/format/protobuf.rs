//! The PROTOBUF and PROTOBUF_NOSR formats: a protobuf message of the row's columns, behind
//! Confluent's wire prefix and message indexes (PROTOBUF) or bare (PROTOBUF_NOSR).
//!
//! The message is the one of the source's bound schema (`FormatOptions::schema`), or the
//! schema ksqlDB generates for the columns. Rows are always messages: protobuf cannot
//! unwrap a single column, keys included.

mod decode;
mod encode;
mod wire;

use arrow::array::ArrayRef;
use arrow::datatypes::Fields;
use planner::schema_registry::protobuf::{NullableRepresentation, ProtoSchema, proto_schema_for};

use self::decode::MessageReader;
use self::encode::MessageWriter;
use super::arrow_view::ArrowView;
use super::confluent::{split_message_indexes, split_prefix, write_message_indexes, write_prefix};
use super::writer::ColumnWriter;
use super::{FormatOptions, RowOutcome, sql_columns};
use crate::{ExecError, Result};

/// The message of a source and its schema id: the bound schema, or the generated one.
fn schema_of(options: &FormatOptions, fields: &Fields) -> Result<(ProtoSchema, u32)> {
    match &options.schema {
        Some(binding) => {
            let schema = ProtoSchema::parse(
                &binding.schema.text,
                &binding.imports,
                binding.message.as_deref(),
            )
            .map_err(ExecError::User)?;
            Ok((schema, binding.schema.id))
        }
        None => {
            let text = proto_schema_for(&sql_columns(fields)?, None, NullableRepresentation::None)
                .map_err(ExecError::User)?;
            let schema = ProtoSchema::parse(&text, &[], None).map_err(ExecError::User)?;
            Ok((schema, 0))
        }
    }
}

/// Decodes protobuf payloads into columns.
#[derive(Debug)]
pub(super) struct ProtobufDecoder {
    reader: MessageReader,
    /// Whether payloads carry Confluent's prefix (PROTOBUF) or not (PROTOBUF_NOSR).
    prefixed: bool,
}

impl ProtobufDecoder {
    pub(super) fn new(options: &FormatOptions, fields: &Fields, prefixed: bool) -> Result<Self> {
        let (schema, _) = schema_of(options, fields)?;
        Ok(Self {
            reader: MessageReader::new(&schema.message, fields),
            prefixed,
        })
    }

    pub(super) fn decode(
        &self,
        payloads: &[Option<&[u8]>],
        writers: &mut [ColumnWriter],
    ) -> RowOutcome {
        super::decode_rows(payloads, writers, |payload, writers| {
            let body = if self.prefixed {
                let (_, rest) = split_prefix(payload)?;
                split_message_indexes(rest)?.1
            } else {
                payload
            };
            self.reader.read(body, writers)
        })
    }
}

/// Encodes columns into protobuf payloads.
#[derive(Debug)]
pub(super) struct ProtobufEncoder {
    writer: MessageWriter,
    /// The schema id and message indexes to write first (PROTOBUF), or none (PROTOBUF_NOSR).
    prefix: Option<(u32, Vec<i32>)>,
}

impl ProtobufEncoder {
    pub(super) fn new(options: &FormatOptions, fields: &Fields, prefixed: bool) -> Result<Self> {
        let (schema, id) = schema_of(options, fields)?;
        Ok(Self {
            writer: MessageWriter::new(&schema.message, fields),
            prefix: prefixed.then_some((id, schema.indexes)),
        })
    }

    pub(super) fn encode(
        &self,
        columns: &[ArrayRef],
        num_rows: usize,
    ) -> Result<Vec<Option<Vec<u8>>>> {
        let views = columns
            .iter()
            .map(|column| ArrowView::new(column.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        let view_refs: Vec<&ArrowView<'_>> = views.iter().collect();
        let mut payloads = Vec::with_capacity(num_rows);
        for row in 0..num_rows {
            let mut out = Vec::with_capacity(64);
            if let Some((id, indexes)) = &self.prefix {
                write_prefix(*id, &mut out);
                write_message_indexes(indexes, &mut out);
            }
            self.writer
                .write(&view_refs, row, &mut out)
                .map_err(|message| {
                    ExecError::User(format!("Error serializing PROTOBUF message: {message}"))
                })?;
            payloads.push(Some(out));
        }
        Ok(payloads)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::{DataType, TimeUnit};
    use planner::schema_registry::{SchemaBinding, SchemaType};
    use serde_json::json;

    use crate::format::testing::{columns, columns_from_json, decode_values, list, map, structure};
    use crate::format::{Encoder, FormatKind, FormatOptions};

    fn bound(text: &str, message: Option<&str>) -> FormatOptions {
        let mut binding = SchemaBinding::unregistered(SchemaType::Protobuf, text.to_string());
        Arc::make_mut(&mut binding.schema).id = 3;
        binding.message = message.map(str::to_string);
        FormatOptions {
            schema: Some(Arc::new(binding)),
            ..FormatOptions::default()
        }
    }

    fn round_trip(
        kind: FormatKind,
        options: &FormatOptions,
        fields: &arrow::datatypes::Fields,
        rows: &[Option<&str>],
    ) -> Vec<Result<Vec<serde_json::Value>, String>> {
        let input = columns_from_json(fields, rows);
        let encoder = Encoder::new(kind, options, fields.clone()).expect("encoder");
        let payloads = encoder.encode(&input, rows.len()).expect("encodes");
        let refs: Vec<Option<&[u8]>> = payloads.iter().map(|p| p.as_deref()).collect();
        decode_values(kind, options, fields, &refs)
    }

    #[test]
    fn generated_schemas_round_trip_with_protobuf_defaults() {
        let fields = columns(&[
            ("B", DataType::Boolean),
            ("I", DataType::Int32),
            ("L", DataType::Int64),
            ("D", DataType::Float64),
            ("DEC", DataType::Decimal128(4, 2)),
            ("S", DataType::Utf8),
            ("BY", DataType::Binary),
            ("DT", DataType::Date32),
            ("T", DataType::Time32(TimeUnit::Millisecond)),
            ("TS", DataType::Timestamp(TimeUnit::Millisecond, None)),
            ("A", list(DataType::Int64)),
            ("M", map(DataType::Utf8, DataType::Float64)),
            (
                "ST",
                structure(&[("X", DataType::Int32), ("Y", list(DataType::Utf8))]),
            ),
        ]);
        let rows = [
            Some(
                r#"{"B":true,"I":-3,"L":10000000000,"D":1.5,"DEC":-10.01,"S":"héllo","BY":"AAE=","DT":19000,"T":3723004,"TS":1600000000123,"A":[1,2,3],"M":{"a":1.1,"b":0.0},"ST":{"X":1,"Y":["p","q"]}}"#,
            ),
            Some(r#"{}"#),
            Some(r#"{"ST":{}}"#),
        ];
        for kind in [FormatKind::Protobuf, FormatKind::ProtobufNosr] {
            let decoded = round_trip(kind, &FormatOptions::default(), &fields, &rows);
            let first = json!([true, -3, 10000000000i64, 1.5, -10.01, "héllo", "AAE=", 19000, 3723004, 1600000000123i64, [1, 2, 3], {"a": 1.1, "b": 0.0}, {"X": 1, "Y": ["p", "q"]}]);
            let empty = json!([
                false,
                0,
                0,
                0.0,
                null,
                "",
                null,
                null,
                null,
                null,
                [],
                {},
                null
            ]);
            let empty_struct = json!([false, 0, 0, 0.0, null, "", null, null, null, null, [], {}, {"X": 0, "Y": []}]);
            let expected: Vec<Result<Vec<serde_json::Value>, String>> =
                [first, empty, empty_struct]
                    .into_iter()
                    .map(|row| Ok(row.as_array().expect("array").clone()))
                    .collect();
            assert_eq!(decoded, expected, "{kind}");
        }
    }

    #[test]
    fn registered_schemas_pick_messages_and_well_known_types() {
        let text = r#"syntax = "proto3"; import 'google/protobuf/wrappers.proto';
            message First { int32 x = 1; }
            message Second { google.protobuf.Int32Value w = 1; optional string o = 2; uint32 u = 3; enum E { A = 0; B = 1; } E e = 4; }"#;
        let options = bound(text, Some("Second"));
        let fields = columns(&[
            ("W", DataType::Int32),
            ("O", DataType::Utf8),
            ("U", DataType::Int64),
            ("E", DataType::Utf8),
        ]);
        let input = columns_from_json(
            &fields,
            &[
                Some(r#"{"W":0,"O":null,"U":7,"E":"B"}"#),
                Some(r#"{"E":"A"}"#),
            ],
        );
        let encoder =
            Encoder::new(FormatKind::Protobuf, &options, fields.clone()).expect("encoder");
        let payloads = encoder.encode(&input, 2).expect("encodes");
        // Prefix, message index [1] (count 1, index 1, zigzag), then W present but empty.
        let first = payloads[0].as_ref().expect("payload");
        assert_eq!(&first[..9], &[0, 0, 0, 0, 3, 2, 2, 0x0a, 0]);
        let refs: Vec<Option<&[u8]>> = payloads.iter().map(|p| p.as_deref()).collect();
        let decoded = decode_values(FormatKind::Protobuf, &options, &fields, &refs);
        assert_eq!(
            decoded,
            [
                Ok(vec![json!(0), json!(null), json!(7), json!("B")]),
                Ok(vec![json!(null), json!(null), json!(0), json!("A")]),
            ]
        );
    }
}
