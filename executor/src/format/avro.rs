//! The AVRO format: Confluent's wire prefix (magic byte, schema id), then the Avro binary
//! encoding of the schema the source is bound to (`FormatOptions::schema`; without one, the
//! schema ksqlDB generates for the columns).
//!
//! A row is a record of its columns, or with `WRAP_SINGLE_VALUE=false` (and for single-column
//! keys) the bare value of its only column. Payloads are read with the bound schema as the
//! writer schema; the id in the payload is not looked up.

mod binary;
mod decode;
mod encode;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Fields};
use planner::schema_registry::avro::{
    AVRO_NAMESPACE, AvroSchema, VALUE_RECORD_NAME, avro_schema_for,
};

use self::binary::{Cursor, write_long};
use self::decode::{Reader, RecordReader};
use self::encode::{RecordWriter, Writer};
use super::arrow_view::ArrowView;
use super::confluent::{split_prefix, write_prefix};
use super::writer::ColumnWriter;
use super::{FormatOptions, RowOutcome, sql_columns};
use crate::{ExecError, Result};

/// The writer schema of a source and its id: the bound schema, or the generated one.
fn schema_of(
    options: &FormatOptions,
    fields: &Fields,
    unwrapped: bool,
) -> Result<(AvroSchema, u32)> {
    match &options.schema {
        Some(binding) => {
            let schema = AvroSchema::parse(&binding.schema.text).map_err(ExecError::User)?;
            Ok((schema, binding.schema.id))
        }
        None => {
            let columns = sql_columns(fields)?;
            let name = format!("{AVRO_NAMESPACE}.{VALUE_RECORD_NAME}");
            let schema = avro_schema_for(&columns, unwrapped, &name).map_err(ExecError::User)?;
            Ok((schema, 0))
        }
    }
}

/// Whether rows are the bare value of the single column: asked for, and possible (a record
/// schema over a non-STRUCT column means the record wraps it after all).
fn reads_unwrapped(schema: &AvroSchema, fields: &Fields, unwrapped: bool) -> bool {
    if fields.len() != 1 {
        return false;
    }
    let record = matches!(schema.non_null().0, AvroSchema::Record(_));
    let is_struct = matches!(fields[0].data_type(), DataType::Struct(_));
    if unwrapped {
        !record || is_struct
    } else {
        !record
    }
}

#[derive(Debug)]
enum DecoderRoot {
    Single(Reader),
    /// A record, or a union of a record and null, over the columns.
    Record(Vec<Option<RecordReader>>, bool),
}

/// Decodes AVRO payloads into columns.
#[derive(Debug)]
pub(super) struct AvroDecoder {
    root: DecoderRoot,
}

impl AvroDecoder {
    pub(super) fn new(options: &FormatOptions, fields: &Fields, unwrapped: bool) -> Result<Self> {
        let (schema, _) = schema_of(options, fields, unwrapped)?;
        let root = if reads_unwrapped(&schema, fields, unwrapped) {
            DecoderRoot::Single(Reader::new(&schema, fields[0].data_type()))
        } else {
            let record_reader = |member: &AvroSchema| match member {
                AvroSchema::Record(record) => Ok(Some(RecordReader::new(record, fields))),
                AvroSchema::Null => Ok(None),
                other => Err(ExecError::User(format!(
                    "the Avro schema {} is not a record of the columns",
                    other.to_json()
                ))),
            };
            match &schema {
                AvroSchema::Union(members) => DecoderRoot::Record(
                    members.iter().map(record_reader).collect::<Result<_>>()?,
                    true,
                ),
                other => DecoderRoot::Record(vec![record_reader(other)?], false),
            }
        };
        Ok(Self { root })
    }

    pub(super) fn decode(
        &self,
        payloads: &[Option<&[u8]>],
        writers: &mut [ColumnWriter],
    ) -> RowOutcome {
        super::decode_rows(payloads, writers, |payload, writers| {
            let (_, body) = split_prefix(payload)?;
            let mut cursor = Cursor::new(body);
            match &self.root {
                DecoderRoot::Single(reader) => reader.read(&mut cursor, &mut writers[0]),
                DecoderRoot::Record(members, union) => {
                    let index = if *union {
                        usize::try_from(cursor.read_long()?).unwrap_or(usize::MAX)
                    } else {
                        0
                    };
                    match members.get(index) {
                        Some(Some(record)) => record.read(&mut cursor, writers),
                        Some(None) => {
                            for writer in writers.iter_mut() {
                                writer.push_null();
                            }
                            Ok(())
                        }
                        None => Err(format!("invalid Avro union index {index}")),
                    }
                }
            }
        })
    }
}

#[derive(Debug)]
enum EncoderRoot {
    Single(Writer),
    /// A record over the columns, and the union index to write first, if any.
    Record(RecordWriter, Option<usize>),
}

/// Encodes columns into AVRO payloads.
#[derive(Debug)]
pub(super) struct AvroEncoder {
    id: u32,
    root: EncoderRoot,
}

impl AvroEncoder {
    pub(super) fn new(options: &FormatOptions, fields: &Fields, unwrapped: bool) -> Result<Self> {
        let (schema, id) = schema_of(options, fields, unwrapped)?;
        let root = if reads_unwrapped(&schema, fields, unwrapped) {
            EncoderRoot::Single(Writer::new(&schema, fields[0].data_type()))
        } else {
            let (index, record) = match &schema {
                AvroSchema::Union(members) => members
                    .iter()
                    .enumerate()
                    .find_map(|(index, member)| match member {
                        AvroSchema::Record(record) => Some((Some(index), record)),
                        _ => None,
                    })
                    .ok_or_else(|| ExecError::User("the Avro schema has no record".into()))?,
                AvroSchema::Record(record) => (None, record),
                other => {
                    return Err(ExecError::User(format!(
                        "the Avro schema {} is not a record of the columns",
                        other.to_json()
                    )));
                }
            };
            EncoderRoot::Record(RecordWriter::new(record, fields), index)
        };
        Ok(Self { id, root })
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
            write_prefix(self.id, &mut out);
            let written = match &self.root {
                EncoderRoot::Single(writer) => {
                    if views[0].is_null(row) {
                        payloads.push(None);
                        continue;
                    }
                    writer.write(&views[0], row, &mut out)
                }
                EncoderRoot::Record(record, index) => {
                    if let Some(index) = index {
                        write_long(*index as i64, &mut out);
                    }
                    record.write(&view_refs, row, &mut out)
                }
            };
            written.map_err(|message| {
                ExecError::User(format!("Error serializing AVRO message: {message}"))
            })?;
            payloads.push(Some(out));
        }
        Ok(payloads)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::TimeUnit;
    use planner::schema_registry::{SchemaBinding, SchemaType};
    use serde_json::json;

    use crate::format::testing::{columns, columns_from_json, decode_values, list, map, structure};
    use crate::format::{Decoder, Encoder, FormatKind, FormatOptions};

    fn bound(text: &str, unwrapped: bool) -> FormatOptions {
        let mut binding = SchemaBinding::unregistered(SchemaType::Avro, text.to_string());
        Arc::make_mut(&mut binding.schema).id = 7;
        FormatOptions {
            wrap_single_value: unwrapped.then_some(false),
            schema: Some(Arc::new(binding)),
            ..FormatOptions::default()
        }
    }

    /// Encodes JSON rows with the generated schema and decodes them back.
    #[test]
    fn generated_schemas_round_trip_every_type() {
        let fields = columns(&[
            ("B", arrow::datatypes::DataType::Boolean),
            ("I", arrow::datatypes::DataType::Int32),
            ("L", arrow::datatypes::DataType::Int64),
            ("D", arrow::datatypes::DataType::Float64),
            ("DEC", arrow::datatypes::DataType::Decimal128(4, 2)),
            ("S", arrow::datatypes::DataType::Utf8),
            ("BY", arrow::datatypes::DataType::Binary),
            ("DT", arrow::datatypes::DataType::Date32),
            (
                "T",
                arrow::datatypes::DataType::Time32(TimeUnit::Millisecond),
            ),
            (
                "TS",
                arrow::datatypes::DataType::Timestamp(TimeUnit::Millisecond, None),
            ),
            ("A", list(arrow::datatypes::DataType::Int64)),
            (
                "M",
                map(
                    arrow::datatypes::DataType::Utf8,
                    arrow::datatypes::DataType::Float64,
                ),
            ),
            (
                "ST",
                structure(&[
                    ("X", arrow::datatypes::DataType::Int32),
                    ("Y", list(arrow::datatypes::DataType::Utf8)),
                ]),
            ),
        ]);
        let rows = [
            Some(
                r#"{"B":true,"I":-3,"L":10000000000,"D":1.5,"DEC":10.01,"S":"héllo","BY":"AAE=","DT":19000,"T":1000,"TS":1600000000000,"A":[1,null,3],"M":{"a":1.1,"b":null},"ST":{"X":1,"Y":["p",null]}}"#,
            ),
            Some(
                r#"{"B":null,"I":null,"L":null,"D":null,"DEC":null,"S":null,"BY":null,"DT":null,"T":null,"TS":null,"A":null,"M":null,"ST":null}"#,
            ),
            Some(r#"{"A":[],"M":{},"ST":{"X":null,"Y":null}}"#),
        ];
        let input = columns_from_json(&fields, &rows);
        let options = FormatOptions::default();
        let encoder = Encoder::new(FormatKind::Avro, &options, fields.clone()).expect("encoder");
        let payloads = encoder.encode(&input, rows.len()).expect("encodes");
        assert!(
            payloads
                .iter()
                .all(|payload| payload.as_ref().is_some_and(|p| p[0] == 0))
        );
        let payload_refs: Vec<Option<&[u8]>> = payloads.iter().map(|p| p.as_deref()).collect();
        let decoded = decode_values(FormatKind::Avro, &options, &fields, &payload_refs);
        let expected = decode_values(
            FormatKind::Json,
            &options,
            &fields,
            &rows.map(|row| row.map(str::as_bytes)),
        );
        assert_eq!(decoded, expected);
    }

    /// Writer schema, unwrapped, columns, Avro body, and the decoded values.
    type DecodeCase<'a> = (
        &'a str,
        bool,
        Vec<(&'a str, arrow::datatypes::DataType)>,
        Vec<u8>,
        serde_json::Value,
    );

    #[test]
    fn writer_schemas_coerce_into_columns() {
        // Payloads written by hand: magic 0, id 7, then the Avro body.
        let cases: Vec<DecodeCase<'_>> = vec![
            // int 10 into a STRING column (unwrapped).
            (
                r#""int""#,
                true,
                vec![("FOO", arrow::datatypes::DataType::Utf8)],
                vec![20],
                json!(["10"]),
            ),
            // A record with fields in another order and case, one extra, one missing.
            (
                r#"{"type":"record","name":"r","fields":[{"name":"b","type":"string"},{"name":"x","type":"long"},{"name":"a","type":["null","int"]}]}"#,
                false,
                vec![
                    ("A", arrow::datatypes::DataType::Int32),
                    ("B", arrow::datatypes::DataType::Utf8),
                    ("C", arrow::datatypes::DataType::Int32),
                ],
                vec![4, b'h', b'i', 4, 2, 6],
                json!([3, "hi", null]),
            ),
            // An enum into STRING, a float into DOUBLE.
            (
                r#"{"type":"record","name":"r","fields":[{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"]}},{"name":"f","type":"float"}]}"#,
                false,
                vec![
                    ("E", arrow::datatypes::DataType::Utf8),
                    ("F", arrow::datatypes::DataType::Float64),
                ],
                [vec![2], 4.0f32.to_le_bytes().to_vec()].concat(),
                json!(["Y", 4.0]),
            ),
            // A map of [null, int] read as MAP<STRING, STRING>.
            (
                r#"{"type":"map","values":["null","int"]}"#,
                true,
                vec![(
                    "M",
                    map(
                        arrow::datatypes::DataType::Utf8,
                        arrow::datatypes::DataType::Utf8,
                    ),
                )],
                vec![2, 2, b'a', 2, 2, 0],
                json!([{"a": "1"}]),
            ),
        ];
        for (schema, unwrapped, column_list, body, expected) in cases {
            let fields = columns(&column_list);
            let payload = [vec![0, 0, 0, 0, 7], body].concat();
            let values = decode_values(
                FormatKind::Avro,
                &bound(schema, unwrapped),
                &fields,
                &[Some(&payload)],
            );
            assert_eq!(
                values,
                [Ok(expected.as_array().expect("array").clone())],
                "{schema}"
            );
        }
    }

    #[test]
    fn encoding_fills_defaults_and_fails_on_missing_values() {
        let schema = r#"{"type":"record","name":"r","fields":[{"name":"n","type":"int","default":0},{"name":"opt","type":"string","default":"foo"},{"name":"s","type":"string"}]}"#;
        let fields = columns(&[
            ("n", arrow::datatypes::DataType::Int32),
            ("s", arrow::datatypes::DataType::Utf8),
        ]);
        let input = columns_from_json(&fields, &[Some(r#"{"n":null,"s":"x"}"#)]);
        let encoder =
            Encoder::new(FormatKind::Avro, &bound(schema, false), fields.clone()).expect("encoder");
        let payloads = encoder.encode(&input, 1).expect("encodes");
        assert_eq!(
            payloads,
            [Some(vec![0, 0, 0, 0, 7, 0, 6, b'f', b'o', b'o', 2, b'x'])]
        );
        let missing = columns_from_json(&fields, &[Some(r#"{"n":1,"s":null}"#)]);
        let error = encoder.encode(&missing, 1).expect_err("s is required");
        assert!(error.to_string().contains("field s"), "{error}");
        // Garbage does not decode.
        let decoder = Decoder::new(FormatKind::Avro, &bound(schema, false), fields).expect("ok");
        let decoded = decoder.decode(&[Some(&[1, 2, 3]), Some(&[0, 0, 0, 0, 7, 0])]);
        assert_eq!(decoded.errors.len(), 2);
        assert_eq!(decoded.errors[0].1, "Unknown magic byte!");
    }
}
