//! Record payloads as the corpus writes them: input keys and values serialized per the
//! formats and column types of the source over the topic, and payloads read back from output
//! topics turned into `Json` for comparison.
//!
//! This is the runner's own, independent serde (like the serdes of ksqlDB's harness), so that
//! a bug in Eddy's formats shows up as a difference instead of cancelling itself out. The
//! schema-registry formats (`avro`, `protobuf`, JSON_SR) write with the topic's registered
//! schema and read with the schema whose id the payload carries; only the schema parsers are
//! shared with the engine.

mod avro;
mod protobuf;

use std::sync::Arc;

use parser::ast::DataType;
use planner::catalog::{FormatDefinition, SourceDefinition};
use planner::schema_registry::avro::AvroSchema;
use planner::schema_registry::protobuf::{ProtoFile, ProtoSchema};
use planner::schema_registry::{RegisteredSchema, SchemaBinding, SchemaRegistry, SchemaType};

use crate::compare::Hint;
use crate::corpus::{Window, WindowKind};
use crate::json::Json;

/// How the key or the value of a topic's records is serialized.
#[derive(Debug, Clone, PartialEq)]
pub struct PayloadSchema {
    /// Upper-case format name (`JSON`, `KAFKA`, `DELIMITED`, `NONE`, `AVRO`, ...).
    pub format: String,
    /// The columns, when a source over the topic is known; empty otherwise.
    pub columns: Vec<(String, DataType)>,
    /// Whether the columns are known (a source over the topic exists).
    pub typed: bool,
    /// AVRO, PROTOBUF, JSON_SR and PROTOBUF_NOSR: where the schemas come from.
    pub registry: Option<RegistrySchemas>,
}

/// `(import name, schema text)` of the schemas a schema imports.
type Imports = Vec<(String, String)>;

/// The schemas of one subject of a topic, for the schema-registry formats.
#[derive(Debug, Clone)]
pub struct RegistrySchemas {
    /// The registry after the statements ran.
    pub registry: Arc<SchemaRegistry>,
    /// `<topic>-key` or `<topic>-value`.
    pub subject: String,
    /// The schema a source over the topic is bound to, if any.
    pub binding: Option<SchemaBinding>,
}

impl PartialEq for RegistrySchemas {
    fn eq(&self, other: &Self) -> bool {
        self.subject == other.subject && self.binding == other.binding
    }
}

impl RegistrySchemas {
    /// The schema inputs are written with: the source's, else the subject's latest.
    fn writer_schema(&self) -> Result<SchemaBinding, String> {
        if let Some(binding) = &self.binding {
            return Ok(binding.clone());
        }
        let schema = self
            .registry
            .latest(&self.subject)
            .ok_or_else(|| format!("no schema is registered under subject {}", self.subject))?;
        self.registry
            .bind(Some(self.subject.clone()), Arc::clone(schema), None)
    }

    /// The schema with id `id` and the `(name, text)` of the schemas it imports.
    fn schema(&self, id: u32) -> Result<(Arc<RegisteredSchema>, Imports), String> {
        let schema = self
            .registry
            .by_id(id)
            .or_else(|| {
                self.binding
                    .as_ref()
                    .map(|binding| &binding.schema)
                    .filter(|schema| schema.id == id)
            })
            .ok_or_else(|| format!("no schema has id {id}"))?;
        let binding = self.registry.bind(None, Arc::clone(schema), None)?;
        Ok((Arc::clone(schema), binding.imports))
    }
}

impl PayloadSchema {
    /// The key of `source`.
    pub fn key_of(source: &SourceDefinition) -> Self {
        Self::typed(&source.key_format, source.key_columns())
    }

    /// The value of `source`.
    pub fn value_of(source: &SourceDefinition) -> Self {
        Self::typed(&source.value_format, source.value_columns())
    }

    fn typed<'a>(
        format: &FormatDefinition,
        columns: impl Iterator<Item = &'a planner::catalog::ColumnDefinition>,
    ) -> Self {
        Self {
            format: format.name.to_ascii_uppercase(),
            columns: columns
                .map(|column| (column.name.clone(), column.data_type.clone()))
                .collect(),
            typed: true,
            registry: format
                .schema
                .as_deref()
                .cloned()
                .map(|binding| RegistrySchemas {
                    registry: Arc::new(SchemaRegistry::default()),
                    subject: binding.subject.clone().unwrap_or_default(),
                    binding: Some(binding),
                }),
        }
    }

    /// Looks schemas up in `registry` under `subject` (formats that use schemas only).
    pub fn with_registry(mut self, registry: &Arc<SchemaRegistry>, subject: String) -> Self {
        if matches!(
            self.format.as_str(),
            "AVRO" | "PROTOBUF" | "JSON_SR" | "PROTOBUF_NOSR"
        ) {
            let binding = self.registry.take().and_then(|schemas| schemas.binding);
            self.registry = Some(RegistrySchemas {
                registry: Arc::clone(registry),
                subject,
                binding,
            });
        }
        self
    }

    /// A payload of a topic no source describes: the format only.
    pub fn untyped(format: &str) -> Self {
        Self {
            format: format.to_ascii_uppercase(),
            columns: Vec::new(),
            typed: false,
            registry: None,
        }
    }

    /// NONE payloads are not compared.
    pub fn ignored(&self) -> bool {
        self.format == "NONE"
    }

    /// The type information for comparing decoded payloads.
    pub fn hint(&self) -> Hint<'_> {
        match (self.typed, self.format.as_str()) {
            (false, _) => Hint::Unknown,
            (true, "KAFKA") => match self.columns.first() {
                Some((_, data_type)) => Hint::Type(data_type),
                None => Hint::Unknown,
            },
            (true, "DELIMITED") => Hint::Unknown,
            (true, _) => Hint::Row(&self.columns),
        }
    }

    /// The single column's type, for KAFKA.
    fn kafka_type(&self) -> Option<&DataType> {
        if self.typed {
            self.columns.first().map(|(_, data_type)| data_type)
        } else {
            None
        }
    }

    /// Serializes a corpus key or value. JSON `null` is no payload.
    pub fn encode(&self, value: &Json) -> Result<Option<Vec<u8>>, String> {
        if value.is_null() {
            return Ok(None);
        }
        match self.format.as_str() {
            "JSON" => Ok(Some(value.to_string().into_bytes())),
            "DELIMITED" => Ok(Some(
                value
                    .scalar_text()
                    .unwrap_or_else(|| value.to_string())
                    .into_bytes(),
            )),
            "KAFKA" => encode_kafka(self.kafka_type(), value).map(Some),
            "NONE" => Ok(None),
            "AVRO" | "PROTOBUF" | "JSON_SR" | "PROTOBUF_NOSR" => {
                self.encode_registered(value).map(Some)
            }
            other => Err(format!("unsupported format {other}")),
        }
    }

    fn schemas(&self) -> Result<&RegistrySchemas, String> {
        self.registry
            .as_ref()
            .ok_or_else(|| format!("no schema for the {} payload", self.format))
    }

    /// Serializes with the registered schema: the wire prefix (not for PROTOBUF_NOSR), then
    /// the body.
    fn encode_registered(&self, value: &Json) -> Result<Vec<u8>, String> {
        let binding = self.schemas()?.writer_schema()?;
        let mut out = Vec::new();
        if self.format != "PROTOBUF_NOSR" {
            out.push(0);
            out.extend_from_slice(&binding.schema.id.to_be_bytes());
        }
        match binding.schema.schema_type {
            SchemaType::Avro => {
                let schema = AvroSchema::parse(&binding.schema.text)?;
                out.extend(avro::encode(&schema, value)?);
            }
            SchemaType::Json => out.extend_from_slice(value.to_string().as_bytes()),
            SchemaType::Protobuf => {
                let schema = ProtoSchema::parse(
                    &binding.schema.text,
                    &binding.imports,
                    binding.message.as_deref(),
                )?;
                if self.format != "PROTOBUF_NOSR" {
                    write_message_indexes(&schema.indexes, &mut out);
                }
                out.extend(protobuf::encode(&schema.message, value)?);
            }
        }
        Ok(out)
    }

    /// Deserializes with the schema whose id the payload carries (PROTOBUF_NOSR: the
    /// source's schema).
    fn decode_registered(&self, bytes: &[u8]) -> Result<Json, String> {
        let schemas = self.schemas()?;
        if self.format == "PROTOBUF_NOSR" {
            let binding = schemas.writer_schema()?;
            let schema = ProtoSchema::parse(&binding.schema.text, &binding.imports, None)?;
            return protobuf::decode(&schema.message, bytes);
        }
        let (id, body) = match bytes {
            [0, a, b, c, d, body @ ..] => (u32::from_be_bytes([*a, *b, *c, *d]), body),
            _ => {
                return Err(format!(
                    "{} payload without the wire prefix: {}",
                    self.format,
                    crate::base64::encode(bytes)
                ));
            }
        };
        let (schema, imports) = schemas.schema(id)?;
        match schema.schema_type {
            SchemaType::Avro => avro::decode(&AvroSchema::parse(&schema.text)?, body),
            SchemaType::Json => {
                let text = std::str::from_utf8(body)
                    .map_err(|_| format!("JSON_SR payload is not UTF-8: {}", lossy(body)))?;
                Json::parse(text).map_err(|error| format!("invalid JSON payload {text:?}: {error}"))
            }
            SchemaType::Protobuf => {
                let (indexes, body) = read_message_indexes(body)?;
                let file = ProtoFile::parse(&schema.text)?;
                let name = message_name(&file, &indexes)?;
                let proto = ProtoSchema::parse(&schema.text, &imports, Some(&name))?;
                protobuf::decode(&proto.message, body)
            }
        }
    }

    /// Reads a payload back as JSON. No payload is `null`.
    pub fn decode(&self, payload: Option<&[u8]>) -> Result<Json, String> {
        let Some(bytes) = payload else {
            return Ok(Json::Null);
        };
        match self.format.as_str() {
            "JSON" => {
                let text = std::str::from_utf8(bytes)
                    .map_err(|_| format!("JSON payload is not UTF-8: {}", lossy(bytes)))?;
                Json::parse(text).map_err(|error| format!("invalid JSON payload {text:?}: {error}"))
            }
            "DELIMITED" => Ok(Json::String(lossy(bytes))),
            "KAFKA" => decode_kafka(self.kafka_type(), bytes),
            "NONE" => Ok(Json::Null),
            "AVRO" | "PROTOBUF" | "JSON_SR" | "PROTOBUF_NOSR" => self.decode_registered(bytes),
            other => Err(format!("unsupported format {other}")),
        }
    }
}

/// Confluent's protobuf message indexes (zigzag varints; `[0]` is the single byte 0).
fn write_message_indexes(indexes: &[i32], out: &mut Vec<u8>) {
    let zigzag = |value: i64, out: &mut Vec<u8>| {
        let mut encoded = ((value << 1) ^ (value >> 63)) as u64;
        while encoded >= 0x80 {
            out.push((encoded as u8) | 0x80);
            encoded >>= 7;
        }
        out.push(encoded as u8);
    };
    if indexes == [0] {
        out.push(0);
        return;
    }
    zigzag(indexes.len() as i64, out);
    for index in indexes {
        zigzag(i64::from(*index), out);
    }
}

fn read_message_indexes(bytes: &[u8]) -> Result<(Vec<i32>, &[u8]), String> {
    let mut position = 0;
    let mut zigzag = || -> Result<i64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *bytes.get(position).ok_or("truncated message indexes")?;
            position += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
            }
        }
        Err("invalid message index varint".to_string())
    };
    let count = zigzag()?;
    let indexes = if count == 0 {
        vec![0]
    } else {
        (0..count)
            .map(|_| zigzag().map(|index| index as i32))
            .collect::<Result<_, _>>()?
    };
    Ok((indexes, &bytes[position..]))
}

/// The full name of the message at `indexes` in a schema file.
fn message_name(file: &ProtoFile, indexes: &[i32]) -> Result<String, String> {
    let mut name = file.package.clone();
    let mut messages = &file.messages;
    for index in indexes {
        let message = usize::try_from(*index)
            .ok()
            .and_then(|index| messages.get(index))
            .ok_or_else(|| format!("no message at indexes {indexes:?}"))?;
        if !name.is_empty() {
            name.push('.');
        }
        name.push_str(&message.name);
        messages = &message.messages;
    }
    Ok(name)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Kafka's serializers: INT 4 bytes and BIGINT 8 bytes big-endian, DOUBLE 8-byte IEEE 754
/// big-endian, STRING and BYTES as their UTF-8 text.
fn encode_kafka(data_type: Option<&DataType>, value: &Json) -> Result<Vec<u8>, String> {
    let not_a = |what: &str| format!("cannot write {value} as a KAFKA {what}");
    match data_type {
        Some(DataType::Int) => value
            .as_i64()
            .and_then(|number| i32::try_from(number).ok())
            .map(|number| number.to_be_bytes().to_vec())
            .ok_or_else(|| not_a("INT")),
        Some(DataType::Bigint) => value
            .as_i64()
            .map(|number| number.to_be_bytes().to_vec())
            .ok_or_else(|| not_a("BIGINT")),
        Some(DataType::Double) => value
            .as_f64()
            .map(|number| number.to_be_bytes().to_vec())
            .ok_or_else(|| not_a("DOUBLE")),
        Some(DataType::String | DataType::Bytes) => value
            .scalar_text()
            .map(String::into_bytes)
            .ok_or_else(|| not_a("STRING")),
        Some(other) => Err(format!(
            "the KAFKA format cannot hold {}",
            planner::types::sql_type_name(other)
        )),
        // No source tells the type: strings as text, integers as BIGINT, others as DOUBLE.
        None => match value {
            Json::String(text) => Ok(text.clone().into_bytes()),
            Json::Number(_) => match value.as_i64() {
                Some(number) => Ok(number.to_be_bytes().to_vec()),
                None => value
                    .as_f64()
                    .map(|number| number.to_be_bytes().to_vec())
                    .ok_or_else(|| not_a("number")),
            },
            other => Ok(other.to_string().into_bytes()),
        },
    }
}

fn decode_kafka(data_type: Option<&DataType>, bytes: &[u8]) -> Result<Json, String> {
    let sized = |size: usize, what: &str| -> Result<(), String> {
        if bytes.len() == size {
            Ok(())
        } else {
            Err(format!(
                "KAFKA {what} payload must have {size} bytes, got {} ({})",
                bytes.len(),
                crate::base64::encode(bytes)
            ))
        }
    };
    match data_type {
        Some(DataType::Int) => {
            sized(4, "INT")?;
            let array: [u8; 4] = bytes.try_into().map_err(|_| "INT size checked")?;
            Ok(Json::Number(i32::from_be_bytes(array).to_string()))
        }
        Some(DataType::Bigint) => {
            sized(8, "BIGINT")?;
            let array: [u8; 8] = bytes.try_into().map_err(|_| "BIGINT size checked")?;
            Ok(Json::Number(i64::from_be_bytes(array).to_string()))
        }
        Some(DataType::Double) => {
            sized(8, "DOUBLE")?;
            let array: [u8; 8] = bytes.try_into().map_err(|_| "DOUBLE size checked")?;
            Ok(double_json(f64::from_be_bytes(array)))
        }
        Some(DataType::String) => std::str::from_utf8(bytes)
            .map(|text| Json::String(text.to_string()))
            .map_err(|_| format!("KAFKA STRING payload is not UTF-8: {}", lossy(bytes))),
        _ => Ok(Json::String(lossy(bytes))),
    }
}

/// A double as JSON; NaN and infinities as the strings Java prints.
pub fn double_json(value: f64) -> Json {
    if value.is_nan() {
        Json::String("NaN".into())
    } else if value.is_infinite() {
        Json::String(if value > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else {
        Json::Number(format!("{value:?}"))
    }
}

/// Appends the window to serialized key bytes as Kafka Streams does: the 8-byte start for
/// time windows; the 8-byte end then the 8-byte start for session windows.
pub fn windowed_key(key: Option<Vec<u8>>, window: &Window) -> Vec<u8> {
    let mut bytes = key.unwrap_or_default();
    if window.kind == WindowKind::Session {
        bytes.extend_from_slice(&window.end.to_be_bytes());
    }
    bytes.extend_from_slice(&window.start.to_be_bytes());
    bytes
}

/// Splits a windowed key into the key bytes, the window start and (session windows) end.
pub fn split_windowed_key(bytes: &[u8], kind: WindowKind) -> Option<(&[u8], i64, Option<i64>)> {
    let read = |slice: &[u8]| -> Option<i64> { Some(i64::from_be_bytes(slice.try_into().ok()?)) };
    match kind {
        WindowKind::Time => {
            let split = bytes.len().checked_sub(8)?;
            Some((&bytes[..split], read(&bytes[split..])?, None))
        }
        WindowKind::Session => {
            let split = bytes.len().checked_sub(16)?;
            let end = read(&bytes[split..split + 8])?;
            let start = read(&bytes[split + 8..])?;
            Some((&bytes[..split], start, Some(end)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kafka(data_type: DataType) -> PayloadSchema {
        PayloadSchema {
            format: "KAFKA".into(),
            columns: vec![("K".into(), data_type)],
            typed: true,
            registry: None,
        }
    }

    #[test]
    fn kafka_payloads_round_trip() {
        let cases = [
            (kafka(DataType::Int), "1", vec![0, 0, 0, 1]),
            (kafka(DataType::Bigint), "-1", vec![0xff; 8]),
            (
                kafka(DataType::Double),
                "1.5",
                1.5f64.to_be_bytes().to_vec(),
            ),
            (kafka(DataType::String), "\"ab\"", b"ab".to_vec()),
        ];
        for (schema, text, bytes) in cases {
            let value = Json::parse(text).expect("valid");
            assert_eq!(schema.encode(&value), Ok(Some(bytes.clone())), "{text}");
            assert_eq!(schema.decode(Some(&bytes)), Ok(value), "{text}");
        }
    }

    #[test]
    fn payload_errors_are_reported() {
        assert!(kafka(DataType::Int).decode(Some(&[1, 2])).is_err());
        assert!(
            kafka(DataType::Int)
                .encode(&Json::String("x".into()))
                .is_err()
        );
        let avro = PayloadSchema::untyped("avro");
        assert_eq!(
            avro.encode(&Json::Number("1".into())),
            Err("no schema for the AVRO payload".to_string())
        );
        assert_eq!(avro.encode(&Json::Null), Ok(None));
        let other = PayloadSchema::untyped("xml");
        assert_eq!(
            other.encode(&Json::Number("1".into())),
            Err("unsupported format XML".to_string())
        );
    }

    #[test]
    fn json_and_delimited_payloads_keep_their_text() {
        let json = PayloadSchema::untyped("JSON");
        let value = Json::parse("{\"A\":1.10}").expect("valid");
        assert_eq!(json.encode(&value), Ok(Some(b"{\"A\":1.10}".to_vec())));
        assert_eq!(json.decode(Some(b"{\"A\":1.10}")), Ok(value));
        let delimited = PayloadSchema::untyped("DELIMITED");
        assert_eq!(
            delimited.encode(&Json::String("a,1".into())),
            Ok(Some(b"a,1".to_vec()))
        );
        assert_eq!(
            delimited.decode(Some(b"a,1")),
            Ok(Json::String("a,1".into()))
        );
    }

    #[test]
    fn windowed_keys_round_trip() {
        for kind in [WindowKind::Time, WindowKind::Session] {
            let window = Window {
                start: 10,
                end: 20,
                kind,
            };
            let bytes = windowed_key(Some(b"k".to_vec()), &window);
            let (key, start, end) = split_windowed_key(&bytes, kind).expect("long enough");
            assert_eq!((key, start), (&b"k"[..], 10));
            assert_eq!(end, (kind == WindowKind::Session).then_some(20));
        }
        assert!(split_windowed_key(b"short", WindowKind::Time).is_none());
    }
}
