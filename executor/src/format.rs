//! Record formats: Kafka record payloads (key or value bytes) decoded into Arrow columns and
//! Arrow columns encoded back into payloads, with ksqlDB's semantics.
//!
//! One module per format (`json`, `delimited`, `kafka`, `avro`, `protobuf`); JSON_SR is JSON
//! behind Confluent's wire prefix (`confluent`) and NONE has no payload: both live here.
//! The planner fixes the column types (BOOLEAN = Boolean, INT = Int32, BIGINT = Int64,
//! DOUBLE = Float64, DECIMAL = Decimal128, STRING = Utf8, BYTES = Binary, DATE = Date32,
//! TIME = Time32(ms), TIMESTAMP = Timestamp(ms), ARRAY = List, MAP = Map, STRUCT = Struct).

mod arrow_view;
mod avro;
mod confluent;
mod delimited;
mod json;
mod kafka;
mod number;
mod protobuf;
mod scalar;
#[cfg(test)]
mod testing;
mod type_name;
mod validate;
mod writer;

use std::fmt;
use std::str::FromStr;

use arrow::array::ArrayRef;
use arrow::datatypes::Fields;
use planner::schema_registry::SchemaBinding;

use self::avro::{AvroDecoder, AvroEncoder};
use self::delimited::{DelimitedDecoder, DelimitedEncoder};
use self::json::{JsonDecoder, JsonEncoder};
use self::kafka::KafkaDecoder;
use self::protobuf::{ProtobufDecoder, ProtobufEncoder};
use self::validate::validate;
use self::writer::ColumnWriter;
use crate::{ExecError, Result};

pub use self::json::arrow_value_to_json;

/// The serialization format of a record key or value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormatKind {
    /// A JSON object of the columns, or the bare value of a single unwrapped column.
    Json,
    /// One line of delimiter-separated text.
    Delimited,
    /// Kafka's serializers for a single primitive column.
    Kafka,
    /// No payload: no columns.
    None,
    /// Avro binary behind Confluent's wire prefix, with a registered schema.
    Avro,
    /// Protobuf behind Confluent's wire prefix and message indexes, with a registered schema.
    Protobuf,
    /// JSON behind Confluent's wire prefix, with a registered JSON schema.
    JsonSr,
    /// Protobuf without prefix or registry; the schema follows from the columns.
    ProtobufNosr,
}

/// Every format, for lookups by name.
const ALL_FORMATS: [FormatKind; 8] = [
    FormatKind::Json,
    FormatKind::Delimited,
    FormatKind::Kafka,
    FormatKind::None,
    FormatKind::Avro,
    FormatKind::Protobuf,
    FormatKind::JsonSr,
    FormatKind::ProtobufNosr,
];

impl FormatKind {
    /// The format's name in SQL (`JSON`, `DELIMITED`, `KAFKA`, `NONE`, `AVRO`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "JSON",
            Self::Delimited => "DELIMITED",
            Self::Kafka => "KAFKA",
            Self::None => "NONE",
            Self::Avro => "AVRO",
            Self::Protobuf => "PROTOBUF",
            Self::JsonSr => "JSON_SR",
            Self::ProtobufNosr => "PROTOBUF_NOSR",
        }
    }
}

impl fmt::Display for FormatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FormatKind {
    type Err = ExecError;

    /// Reads a format name, ignoring case.
    fn from_str(text: &str) -> Result<Self> {
        ALL_FORMATS
            .into_iter()
            .find(|kind| kind.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| ExecError::User(format!("unknown format: {text}")))
    }
}

/// The `WITH` properties that shape a format.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormatOptions {
    /// `WRAP_SINGLE_VALUE`; `None` is the default (wrapped). Only JSON can unwrap, and only
    /// a single column; KAFKA and DELIMITED refuse `Some(true)`.
    pub wrap_single_value: Option<bool>,
    /// The DELIMITED delimiter; `None` is `,`. See [`parse_delimiter`].
    pub delimiter: Option<char>,
    /// AVRO, PROTOBUF, JSON_SR, PROTOBUF_NOSR: the schema payloads are written with and
    /// read as; `None` uses the schema ksqlDB generates for the columns.
    pub schema: Option<std::sync::Arc<SchemaBinding>>,
}

/// Reads a `KEY_DELIMITER`/`VALUE_DELIMITER` value: one character, or `TAB` or `SPACE`.
pub fn parse_delimiter(text: &str) -> Result<char> {
    if text.trim_matches(|c: char| c <= ' ').is_empty() {
        return Err(ExecError::User(
            "Delimiter cannot be empty, if you meant to have a tab or space for delimiter, \
             please use the special values 'TAB' or 'SPACE'\nExample valid value: ';'"
                .to_string(),
        ));
    }
    let mut chars = text.chars();
    if let (Some(delimiter), None) = (chars.next(), chars.next()) {
        return Ok(delimiter);
    }
    if text.eq_ignore_ascii_case("TAB") {
        Ok('\t')
    } else if text.eq_ignore_ascii_case("SPACE") {
        Ok(' ')
    } else {
        Err(ExecError::User(format!(
            "Invalid delimiter value: '{text}'. Delimiter must be a single character or TAB or \
             SPACE\nExample valid value: ';'"
        )))
    }
}

/// Decodes payloads of one format and schema into Arrow columns.
#[derive(Debug)]
pub struct Decoder {
    fields: Fields,
    inner: DecoderKind,
}

#[derive(Debug)]
enum DecoderKind {
    Json(JsonDecoder),
    Delimited(DelimitedDecoder),
    Kafka(KafkaDecoder),
    Avro(AvroDecoder),
    Protobuf(ProtobufDecoder),
    /// JSON behind the wire prefix.
    JsonSr(JsonDecoder),
    /// No columns (NONE, or any format with no columns): every payload decodes.
    Empty,
}

/// The result of decoding a batch of payloads.
#[derive(Debug)]
pub struct Decoded {
    /// One array per field, holding the rows that decoded, in input order.
    pub columns: Vec<ArrayRef>,
    /// Input indices of the rows in `columns`, ascending.
    pub kept: Vec<usize>,
    /// Input indices of the rows that failed, with the reason.
    pub errors: Vec<(usize, String)>,
}

impl Decoded {
    /// The rows that decoded both as `keys` and as `values` (the same input rows, decoded
    /// separately): the key columns then the value columns of just those rows, and their
    /// input indices, ascending. A side where every kept row is kept is not copied.
    pub fn kept_in_both(keys: &Decoded, values: &Decoded) -> Result<(Vec<ArrayRef>, Vec<usize>)> {
        let mut key_positions = Vec::new();
        let mut value_positions = Vec::new();
        let mut kept = Vec::new();
        let (mut k, mut v) = (0, 0);
        while k < keys.kept.len() && v < values.kept.len() {
            let (key_row, value_row) = (keys.kept[k], values.kept[v]);
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
        let mut columns = Vec::with_capacity(keys.columns.len() + values.columns.len());
        for (side, positions) in [(keys, key_positions), (values, value_positions)] {
            if positions.len() == side.kept.len() {
                columns.extend(side.columns.iter().cloned());
            } else {
                let index = arrow::array::UInt32Array::from(positions);
                for column in &side.columns {
                    columns.push(arrow::compute::take(column, &index, None)?);
                }
            }
        }
        Ok((columns, kept))
    }
}

impl Decoder {
    /// A decoder for `fields` in format `kind`; fails when the format cannot hold them.
    pub fn new(kind: FormatKind, options: &FormatOptions, fields: Fields) -> Result<Self> {
        validate(kind, options, &fields)?;
        let inner = if fields.is_empty() {
            DecoderKind::Empty
        } else {
            match kind {
                FormatKind::Json => {
                    DecoderKind::Json(JsonDecoder::new(&fields, unwrapped(options, &fields)))
                }
                FormatKind::Delimited => DecoderKind::Delimited(DelimitedDecoder::new(
                    &fields,
                    options.delimiter.unwrap_or(','),
                )),
                FormatKind::Kafka => DecoderKind::Kafka(KafkaDecoder::new(fields[0].data_type())),
                FormatKind::None => DecoderKind::Empty,
                FormatKind::Avro => DecoderKind::Avro(AvroDecoder::new(
                    options,
                    &fields,
                    unwrapped(options, &fields),
                )?),
                FormatKind::Protobuf | FormatKind::ProtobufNosr => DecoderKind::Protobuf(
                    ProtobufDecoder::new(options, &fields, kind == FormatKind::Protobuf)?,
                ),
                FormatKind::JsonSr => {
                    DecoderKind::JsonSr(JsonDecoder::new(&fields, unwrapped(options, &fields)))
                }
            }
        };
        Ok(Self { fields, inner })
    }

    /// The columns this decoder produces.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// Marks the columns (`unused[i]` for field `i`) that no one reads, so a decoder may
    /// leave them null instead of copying their values. A payload still fails to decode
    /// exactly when it would with every column read.
    pub fn set_unused(&mut self, unused: &[bool]) {
        if let DecoderKind::Json(decoder) | DecoderKind::JsonSr(decoder) = &mut self.inner {
            decoder.set_unused(unused);
        }
    }

    /// Decodes payloads; a `None` payload decodes to a row of nulls. Returns the columns of
    /// the rows that decoded and the error of each row that did not.
    pub fn decode(&self, payloads: &[Option<&[u8]>]) -> Decoded {
        let mut writers: Vec<ColumnWriter> = self
            .fields
            .iter()
            .map(|field| {
                ColumnWriter::new(field.data_type()).expect("Decoder::new checked the types")
            })
            .collect();
        let outcome = match &self.inner {
            DecoderKind::Json(decoder) => decoder.decode(payloads, &mut writers),
            DecoderKind::Delimited(decoder) => decoder.decode(payloads, &mut writers),
            DecoderKind::Kafka(decoder) => decoder.decode(payloads, &mut writers),
            DecoderKind::Avro(decoder) => decoder.decode(payloads, &mut writers),
            DecoderKind::Protobuf(decoder) => decoder.decode(payloads, &mut writers),
            DecoderKind::JsonSr(decoder) => {
                decode_prefixed(payloads, &mut writers, |payloads, writers| {
                    decoder.decode(payloads, writers)
                })
            }
            DecoderKind::Empty => RowOutcome {
                kept: (0..payloads.len()).collect(),
                errors: Vec::new(),
            },
        };
        Decoded {
            columns: writers.into_iter().map(ColumnWriter::finish).collect(),
            kept: outcome.kept,
            errors: outcome.errors,
        }
    }
}

/// Encodes Arrow columns of one format and schema into payloads.
#[derive(Debug)]
pub struct Encoder {
    fields: Fields,
    inner: EncoderKind,
}

#[derive(Debug)]
enum EncoderKind {
    Json(JsonEncoder),
    Delimited(DelimitedEncoder),
    Kafka,
    Avro(AvroEncoder),
    Protobuf(ProtobufEncoder),
    /// JSON behind the wire prefix with this schema id; then the members the schema has
    /// and the columns do not (`"NAME":null,...`), appended to each object.
    JsonSr(JsonEncoder, u32, Vec<u8>),
    /// No columns: no payload.
    Empty,
}

impl Encoder {
    /// An encoder for `fields` in format `kind`; fails when the format cannot hold them.
    pub fn new(kind: FormatKind, options: &FormatOptions, fields: Fields) -> Result<Self> {
        validate(kind, options, &fields)?;
        let inner = if fields.is_empty() {
            EncoderKind::Empty
        } else {
            match kind {
                FormatKind::Json => {
                    EncoderKind::Json(JsonEncoder::new(&fields, unwrapped(options, &fields)))
                }
                FormatKind::Delimited => {
                    EncoderKind::Delimited(DelimitedEncoder::new(options.delimiter.unwrap_or(',')))
                }
                FormatKind::Kafka => EncoderKind::Kafka,
                FormatKind::None => EncoderKind::Empty,
                FormatKind::Avro => EncoderKind::Avro(AvroEncoder::new(
                    options,
                    &fields,
                    unwrapped(options, &fields),
                )?),
                FormatKind::Protobuf | FormatKind::ProtobufNosr => EncoderKind::Protobuf(
                    ProtobufEncoder::new(options, &fields, kind == FormatKind::Protobuf)?,
                ),
                FormatKind::JsonSr => EncoderKind::JsonSr(
                    JsonEncoder::new(&fields, unwrapped(options, &fields)),
                    options
                        .schema
                        .as_ref()
                        .map_or(0, |binding| binding.schema.id),
                    json_sr_missing_properties(options, &fields),
                ),
            }
        };
        Ok(Self { fields, inner })
    }

    /// The columns this encoder takes.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// One payload per row. `None` (no payload) for every row when there are no columns,
    /// and for a null single column in KAFKA or unwrapped JSON; a wrapped JSON row is always
    /// an object and a DELIMITED row always a line, even when all its columns are null.
    pub fn encode(&self, columns: &[ArrayRef], num_rows: usize) -> Result<Vec<Option<Vec<u8>>>> {
        if columns.len() != self.fields.len() {
            return Err(ExecError::Internal(format!(
                "encoder for {} columns got {}",
                self.fields.len(),
                columns.len()
            )));
        }
        if let Some(short) = columns.iter().find(|column| column.len() < num_rows) {
            return Err(ExecError::Internal(format!(
                "encoder asked for {num_rows} rows of a column of {}",
                short.len()
            )));
        }
        match &self.inner {
            EncoderKind::Json(encoder) => encoder.encode(columns, num_rows),
            EncoderKind::Delimited(encoder) => encoder.encode(columns, num_rows),
            EncoderKind::Kafka => kafka::encode(&columns[0], num_rows),
            EncoderKind::Avro(encoder) => encoder.encode(columns, num_rows),
            EncoderKind::Protobuf(encoder) => encoder.encode(columns, num_rows),
            EncoderKind::JsonSr(encoder, id, missing) => {
                let mut payloads = encoder.encode(columns, num_rows)?;
                for payload in payloads.iter_mut().flatten() {
                    let mut prefixed = Vec::with_capacity(payload.len() + missing.len() + 6);
                    confluent::write_prefix(*id, &mut prefixed);
                    prefixed.extend_from_slice(payload);
                    if !missing.is_empty() && prefixed.last() == Some(&b'}') {
                        prefixed.pop();
                        if prefixed.last() != Some(&b'{') {
                            prefixed.push(b',');
                        }
                        prefixed.extend_from_slice(missing);
                        prefixed.push(b'}');
                    }
                    *payload = prefixed;
                }
                Ok(payloads)
            }
            EncoderKind::Empty => Ok(vec![None; num_rows]),
        }
    }
}

/// JSON_SR rows bound to a registered schema carry the schema's other top-level properties
/// as nulls, as Connect's JSON schema converter writes them: `"NAME":null,...`.
fn json_sr_missing_properties(options: &FormatOptions, fields: &Fields) -> Vec<u8> {
    use planner::schema_registry::json_schema::non_null;
    use planner::schema_registry::json_tree::JsonTree;
    let mut missing = Vec::new();
    let Some(binding) = &options.schema else {
        return missing;
    };
    if unwrapped(options, fields) {
        return missing;
    }
    let Ok(schema) = JsonTree::parse(&binding.schema.text) else {
        return missing;
    };
    let Some(properties) = non_null(&schema)
        .get("properties")
        .and_then(JsonTree::members)
    else {
        return missing;
    };
    for (name, _) in properties {
        if fields
            .iter()
            .any(|field| field.name().eq_ignore_ascii_case(name))
        {
            continue;
        }
        if !missing.is_empty() {
            missing.push(b',');
        }
        let quoted = serde_json::to_string(name).unwrap_or_else(|_| format!("\"{name}\""));
        missing.extend_from_slice(quoted.as_bytes());
        missing.extend_from_slice(b":null");
    }
    missing
}

/// Whether JSON payloads hold the bare value of the only column.
fn unwrapped(options: &FormatOptions, fields: &Fields) -> bool {
    options.wrap_single_value == Some(false) && fields.len() == 1
}

/// The ksqlDB types of columns (the schema-driven formats generate schemas from them).
fn sql_columns(fields: &Fields) -> Result<Vec<(String, parser::ast::DataType)>> {
    fields
        .iter()
        .map(|field| {
            planner::types::from_arrow(field.data_type())
                .map(|data_type| (field.name().clone(), data_type))
                .ok_or_else(|| {
                    ExecError::Internal(format!(
                        "column `{}` has Arrow type {}, which no ksqlDB type maps to",
                        field.name(),
                        field.data_type()
                    ))
                })
        })
        .collect()
}

/// Index of the name in `names` equal to `name` and not `taken`: exact match first, then
/// ignoring case (how the schema-driven formats match fields to columns).
fn match_field<'a>(
    names: impl Iterator<Item = &'a str> + Clone,
    name: &str,
    taken: &[bool],
) -> Option<usize> {
    names
        .clone()
        .enumerate()
        .find(|(index, candidate)| !taken[*index] && *candidate == name)
        .or_else(|| {
            names
                .enumerate()
                .find(|(index, candidate)| !taken[*index] && candidate.eq_ignore_ascii_case(name))
        })
        .map(|(index, _)| index)
}

/// Strips Confluent's wire prefix and decodes the rest with `decode`; rows without a valid
/// prefix fail.
fn decode_prefixed(
    payloads: &[Option<&[u8]>],
    writers: &mut [ColumnWriter],
    decode: impl FnOnce(&[Option<&[u8]>], &mut [ColumnWriter]) -> RowOutcome,
) -> RowOutcome {
    let mut inner: Vec<Option<&[u8]>> = Vec::with_capacity(payloads.len());
    let mut positions = Vec::with_capacity(payloads.len());
    let mut errors = Vec::new();
    for (index, payload) in payloads.iter().enumerate() {
        match payload.map(confluent::split_prefix).transpose() {
            Ok(body) => {
                inner.push(body.map(|(_, body)| body));
                positions.push(index);
            }
            Err(message) => errors.push((index, message)),
        }
    }
    let outcome = decode(&inner, writers);
    errors.extend(
        outcome
            .errors
            .into_iter()
            .map(|(index, message)| (positions[index], message)),
    );
    errors.sort_by_key(|(index, _)| *index);
    RowOutcome {
        kept: outcome
            .kept
            .into_iter()
            .map(|index| positions[index])
            .collect(),
        errors,
    }
}

/// Which rows of a batch decoded.
struct RowOutcome {
    kept: Vec<usize>,
    errors: Vec<(usize, String)>,
}

/// Runs `decode_row` over the present payloads, writes nulls for absent ones, and rolls
/// back the columns of rows that fail.
fn decode_rows<'a>(
    payloads: &[Option<&'a [u8]>],
    writers: &mut [ColumnWriter],
    mut decode_row: impl FnMut(&'a [u8], &mut [ColumnWriter]) -> Result<(), String>,
) -> RowOutcome {
    let mut kept = Vec::with_capacity(payloads.len());
    let mut errors = Vec::new();
    for (index, payload) in payloads.iter().enumerate() {
        match payload {
            None => {
                for writer in writers.iter_mut() {
                    writer.push_null();
                }
                kept.push(index);
            }
            Some(payload) => match decode_row(payload, writers) {
                Ok(()) => kept.push(index),
                Err(message) => {
                    for writer in writers.iter_mut() {
                        writer.truncate(kept.len());
                    }
                    errors.push((index, message));
                }
            },
        }
    }
    RowOutcome { kept, errors }
}

#[cfg(test)]
mod tests;
