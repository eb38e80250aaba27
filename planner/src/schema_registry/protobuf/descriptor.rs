//! Resolved protobuf messages: every field with its number and a resolved type, ready for
//! the codecs and for schema inference.
//!
//! Type names resolve by protobuf's scope rules across the schema and its imports. The
//! well-known types ksqlDB uses (wrappers, `Timestamp`, `google.type.Date`/`TimeOfDay`,
//! `confluent.type.Decimal`) are built in, so their imports need not be registered.

use std::collections::HashMap;
use std::sync::Arc;

use super::parse::{EnumDefinition, Label, MessageDefinition, ProtoFile, TypeRef};

/// A protobuf scalar type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    Double,
    Float,
    Int32,
    Int64,
    UInt32,
    UInt64,
    SInt32,
    SInt64,
    Fixed32,
    Fixed64,
    SFixed32,
    SFixed64,
    Bool,
    String,
    Bytes,
}

impl Scalar {
    const ALL: [Scalar; 15] = [
        Self::Double,
        Self::Float,
        Self::Int32,
        Self::Int64,
        Self::UInt32,
        Self::UInt64,
        Self::SInt32,
        Self::SInt64,
        Self::Fixed32,
        Self::Fixed64,
        Self::SFixed32,
        Self::SFixed64,
        Self::Bool,
        Self::String,
        Self::Bytes,
    ];

    /// The type's name in `.proto` text.
    pub fn name(self) -> &'static str {
        match self {
            Self::Double => "double",
            Self::Float => "float",
            Self::Int32 => "int32",
            Self::Int64 => "int64",
            Self::UInt32 => "uint32",
            Self::UInt64 => "uint64",
            Self::SInt32 => "sint32",
            Self::SInt64 => "sint64",
            Self::Fixed32 => "fixed32",
            Self::Fixed64 => "fixed64",
            Self::SFixed32 => "sfixed32",
            Self::SFixed64 => "sfixed64",
            Self::Bool => "bool",
            Self::String => "string",
            Self::Bytes => "bytes",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scalar| scalar.name() == name)
    }

    /// The wire type: 0 varint, 1 64-bit, 2 length-delimited, 5 32-bit.
    pub fn wire_type(self) -> u8 {
        match self {
            Self::Double | Self::Fixed64 | Self::SFixed64 => 1,
            Self::Float | Self::Fixed32 | Self::SFixed32 => 5,
            Self::String | Self::Bytes => 2,
            _ => 0,
        }
    }
}

/// A resolved enum.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumDescriptor {
    pub name: String,
    pub values: Vec<(String, i32)>,
}

/// A resolved message.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageDescriptor {
    /// Full name (package and enclosing messages included).
    pub name: String,
    pub fields: Vec<FieldDescriptor>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldDescriptor {
    pub name: String,
    pub number: u32,
    /// `repeated` (maps included).
    pub repeated: bool,
    /// Whether absence is visible (`optional`, proto2, `oneof`): absent decodes to null.
    pub presence: bool,
    pub kind: FieldKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    Scalar(Scalar),
    Enum(Arc<EnumDescriptor>),
    Message(Arc<MessageDescriptor>),
    /// `map<key, value>`: repeated entries `{key = 1; value = 2}`.
    Map(Scalar, Box<FieldKind>),
    WellKnown(WellKnown),
}

/// Well-known message types with a ksqlDB meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WellKnown {
    /// `google.protobuf.<Type>Value`: a nullable scalar in field 1.
    Wrapper(Scalar),
    /// `google.protobuf.Timestamp`: `int64 seconds = 1; int32 nanos = 2;`.
    Timestamp,
    /// `google.type.Date`: `int32 year = 1; int32 month = 2; int32 day = 3;`.
    Date,
    /// `google.type.TimeOfDay`: `int32 hours = 1; minutes = 2; seconds = 3; nanos = 4;`.
    TimeOfDay,
    /// `confluent.type.Decimal`: `bytes value = 1; uint32 precision = 2; int32 scale = 3;`,
    /// with precision and scale from the field's `(confluent.field_meta)`.
    Decimal { precision: Option<u32>, scale: u32 },
}

impl WellKnown {
    fn parse(full_name: &str) -> Option<Self> {
        let wrapper = |scalar| Some(Self::Wrapper(scalar));
        match full_name {
            "google.protobuf.DoubleValue" => wrapper(Scalar::Double),
            "google.protobuf.FloatValue" => wrapper(Scalar::Float),
            "google.protobuf.Int64Value" => wrapper(Scalar::Int64),
            "google.protobuf.UInt64Value" => wrapper(Scalar::UInt64),
            "google.protobuf.Int32Value" => wrapper(Scalar::Int32),
            "google.protobuf.UInt32Value" => wrapper(Scalar::UInt32),
            "google.protobuf.BoolValue" => wrapper(Scalar::Bool),
            "google.protobuf.StringValue" => wrapper(Scalar::String),
            "google.protobuf.BytesValue" => wrapper(Scalar::Bytes),
            "google.protobuf.Timestamp" => Some(Self::Timestamp),
            "google.type.Date" => Some(Self::Date),
            "google.type.TimeOfDay" => Some(Self::TimeOfDay),
            "confluent.type.Decimal" => Some(Self::Decimal {
                precision: None,
                scale: 0,
            }),
            _ => None,
        }
    }

    /// The full message name.
    pub fn type_name(self) -> &'static str {
        match self {
            Self::Wrapper(scalar) => match scalar {
                Scalar::Double => "google.protobuf.DoubleValue",
                Scalar::Float => "google.protobuf.FloatValue",
                Scalar::Int64 => "google.protobuf.Int64Value",
                Scalar::UInt64 => "google.protobuf.UInt64Value",
                Scalar::UInt32 => "google.protobuf.UInt32Value",
                Scalar::Bool => "google.protobuf.BoolValue",
                Scalar::String => "google.protobuf.StringValue",
                Scalar::Bytes => "google.protobuf.BytesValue",
                _ => "google.protobuf.Int32Value",
            },
            Self::Timestamp => "google.protobuf.Timestamp",
            Self::Date => "google.type.Date",
            Self::TimeOfDay => "google.type.TimeOfDay",
            Self::Decimal { .. } => "confluent.type.Decimal",
        }
    }

    /// The file to import for the type.
    pub fn import(self) -> &'static str {
        match self {
            Self::Wrapper(_) => "google/protobuf/wrappers.proto",
            Self::Timestamp => "google/protobuf/timestamp.proto",
            Self::Date => "google/type/date.proto",
            Self::TimeOfDay => "google/type/timeofday.proto",
            Self::Decimal { .. } => "confluent/type/decimal.proto",
        }
    }
}

/// The message a key or value schema describes, and its position in the file (the
/// message indexes of Confluent's wire format).
#[derive(Debug, Clone, PartialEq)]
pub struct ProtoSchema {
    pub message: Arc<MessageDescriptor>,
    pub indexes: Vec<i32>,
    pub file: ProtoFile,
}

enum Definition<'a> {
    Message(&'a MessageDefinition),
    Enum(&'a EnumDefinition),
}

impl ProtoSchema {
    /// Resolves message `message` (full or simple name; the first message when `None`) of
    /// the schema `text`, whose imports are `(name, text)` pairs.
    pub fn parse(
        text: &str,
        imports: &[(String, String)],
        message: Option<&str>,
    ) -> Result<Self, String> {
        let file = ProtoFile::parse(text)?;
        let mut files = vec![file.clone()];
        for (name, import_text) in imports {
            files.push(
                ProtoFile::parse(import_text).map_err(|error| format!("import {name}: {error}"))?,
            );
        }
        let mut definitions: HashMap<String, Definition<'_>> = HashMap::new();
        for file in &files {
            let prefix = if file.package.is_empty() {
                String::new()
            } else {
                format!("{}.", file.package)
            };
            collect(&prefix, &file.messages, &file.enums, &mut definitions);
        }
        let (full_name, indexes) = select_message(&file, message)?;
        let mut resolver = Resolver {
            definitions,
            resolving: Vec::new(),
        };
        let message = resolver.message(&full_name)?;
        Ok(Self {
            message,
            indexes,
            file,
        })
    }
}

fn collect<'a>(
    prefix: &str,
    messages: &'a [MessageDefinition],
    enums: &'a [EnumDefinition],
    definitions: &mut HashMap<String, Definition<'a>>,
) {
    for enumeration in enums {
        definitions.insert(
            format!("{prefix}{}", enumeration.name),
            Definition::Enum(enumeration),
        );
    }
    for message in messages {
        let full = format!("{prefix}{}", message.name);
        collect(
            &format!("{full}."),
            &message.messages,
            &message.enums,
            definitions,
        );
        definitions.insert(full, Definition::Message(message));
    }
}

/// The full name and message indexes of the selected message.
fn select_message(file: &ProtoFile, wanted: Option<&str>) -> Result<(String, Vec<i32>), String> {
    let prefix = if file.package.is_empty() {
        String::new()
    } else {
        format!("{}.", file.package)
    };
    let Some(wanted) = wanted else {
        let first = file
            .messages
            .first()
            .ok_or("the protobuf schema has no message")?;
        return Ok((format!("{prefix}{}", first.name), vec![0]));
    };
    let wanted = wanted.trim_start_matches('.');
    fn search(
        messages: &[MessageDefinition],
        prefix: &str,
        wanted: &str,
        path: &mut Vec<i32>,
    ) -> Option<String> {
        for (index, message) in messages.iter().enumerate() {
            let full = format!("{prefix}{}", message.name);
            path.push(index as i32);
            if full == wanted || message.name == wanted {
                return Some(full);
            }
            if let Some(found) = search(&message.messages, &format!("{full}."), wanted, path) {
                return Some(found);
            }
            path.pop();
        }
        None
    }
    let mut path = Vec::new();
    search(&file.messages, &prefix, wanted, &mut path)
        .map(|full| (full, path))
        .ok_or_else(|| format!("message {wanted} is not in the protobuf schema"))
}

struct Resolver<'a> {
    definitions: HashMap<String, Definition<'a>>,
    resolving: Vec<String>,
}

impl<'a> Resolver<'a> {
    fn message(&mut self, full_name: &str) -> Result<Arc<MessageDescriptor>, String> {
        let definition: &'a MessageDefinition = match self.definitions.get(full_name) {
            Some(Definition::Message(definition)) => definition,
            _ => return Err(format!("message {full_name} is not defined")),
        };
        if self.resolving.iter().any(|name| name == full_name) {
            return Err(format!(
                "recursive protobuf messages are not supported: {full_name}"
            ));
        }
        self.resolving.push(full_name.to_string());
        let scope = full_name.to_string();
        let fields = definition
            .fields
            .iter()
            .map(|field| {
                let kind = match &field.type_ref {
                    TypeRef::Named(name) => self.kind(name, &scope, &field.params)?,
                    TypeRef::Map(key, value) => {
                        let key = Scalar::parse(key)
                            .ok_or_else(|| format!("map key type {key} is not a scalar"))?;
                        let value = match value.as_ref() {
                            TypeRef::Named(name) => self.kind(name, &scope, &[])?,
                            TypeRef::Map(..) => return Err("nested maps are invalid".into()),
                        };
                        FieldKind::Map(key, Box::new(value))
                    }
                };
                let presence = field.label == Label::Optional;
                Ok(FieldDescriptor {
                    name: field.name.clone(),
                    number: field.number,
                    repeated: field.label == Label::Repeated,
                    presence,
                    kind,
                })
            })
            .collect::<Result<Vec<_>, String>>();
        self.resolving.pop();
        Ok(Arc::new(MessageDescriptor {
            name: full_name.to_string(),
            fields: fields?,
        }))
    }

    fn kind(
        &mut self,
        name: &str,
        scope: &str,
        params: &[(String, String)],
    ) -> Result<FieldKind, String> {
        if let Some(scalar) = Scalar::parse(name) {
            return Ok(FieldKind::Scalar(scalar));
        }
        let candidates: Vec<String> = match name.strip_prefix('.') {
            Some(absolute) => vec![absolute.to_string()],
            None => {
                let mut candidates = Vec::new();
                let mut scope = scope;
                loop {
                    candidates.push(if scope.is_empty() {
                        name.to_string()
                    } else {
                        format!("{scope}.{name}")
                    });
                    if scope.is_empty() {
                        break;
                    }
                    scope = scope.rfind('.').map_or("", |dot| &scope[..dot]);
                }
                candidates
            }
        };
        for candidate in &candidates {
            match self.definitions.get(candidate) {
                Some(Definition::Enum(enumeration)) => {
                    return Ok(FieldKind::Enum(Arc::new(EnumDescriptor {
                        name: candidate.clone(),
                        values: enumeration.values.clone(),
                    })));
                }
                Some(Definition::Message(_)) => {
                    if let Some(well_known) = WellKnown::parse(candidate) {
                        return Ok(FieldKind::WellKnown(with_params(well_known, params)));
                    }
                    return Ok(FieldKind::Message(self.message(candidate)?));
                }
                None => {}
            }
        }
        let absolute = name.trim_start_matches('.');
        WellKnown::parse(absolute)
            .map(|well_known| FieldKind::WellKnown(with_params(well_known, params)))
            .ok_or_else(|| format!("protobuf type {name} is not defined"))
    }
}

fn with_params(well_known: WellKnown, params: &[(String, String)]) -> WellKnown {
    match well_known {
        WellKnown::Decimal { .. } => {
            let param = |name: &str| {
                params
                    .iter()
                    .find(|(key, _)| key == name)
                    .and_then(|(_, value)| value.parse::<u32>().ok())
            };
            WellKnown::Decimal {
                precision: param("precision"),
                scale: param("scale").unwrap_or(0),
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_resolve_nested_imported_and_well_known_types() {
        let text = r#"syntax = "proto3"; package p;
            import "event.proto";
            import "confluent/type/decimal.proto";
            message First { int32 a = 1; }
            message Logistics {
              message Inner { Kind k = 1; enum Kind { A = 0; B = 1; } }
              Event event = 1;
              Inner inner = 2;
              map<string, Inner> m = 3;
              google.protobuf.Int32Value w = 4;
              confluent.type.Decimal d = 5 [(confluent.field_meta) = { params: [{ value: "4", key: "precision" }, { value: "2", key: "scale" }]}];
              repeated .p.First firsts = 6;
            }"#;
        let imports = vec![(
            "event.proto".to_string(),
            "syntax = \"proto3\"; message Event { int64 timestamp = 1; }".to_string(),
        )];
        let schema = ProtoSchema::parse(text, &imports, Some("Logistics")).expect("resolves");
        assert_eq!(schema.indexes, [1]);
        let message = &schema.message;
        assert_eq!(message.name, "p.Logistics");
        let kinds: Vec<String> = message
            .fields
            .iter()
            .map(|field| match &field.kind {
                FieldKind::Scalar(scalar) => scalar.name().to_string(),
                FieldKind::Enum(e) => format!("enum {}", e.name),
                FieldKind::Message(m) => format!("message {}", m.name),
                FieldKind::Map(key, _) => format!("map {}", key.name()),
                FieldKind::WellKnown(known) => format!("{known:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "message Event",
                "message p.Logistics.Inner",
                "map string",
                "Wrapper(Int32)",
                "Decimal { precision: Some(4), scale: 2 }",
                "message p.First",
            ]
        );
        let FieldKind::Message(inner) = &message.fields[1].kind else {
            panic!("inner is a message");
        };
        assert!(matches!(&inner.fields[0].kind, FieldKind::Enum(e) if e.values.len() == 2));
        assert!(message.fields[5].repeated);

        let first = ProtoSchema::parse(text, &imports, None).expect("resolves");
        assert_eq!(first.message.name, "p.First");
        assert_eq!(first.indexes, [0]);
        let nested = ProtoSchema::parse(text, &imports, Some("p.Logistics.Inner")).expect("ok");
        assert_eq!(nested.indexes, [1, 0]);
    }

    #[test]
    fn unresolvable_schemas_fail() {
        let cases = [
            (
                "message A { B b = 1; }",
                None,
                "protobuf type B is not defined",
            ),
            ("message A { A a = 1; }", None, "recursive"),
            (
                "message A { int32 a = 1; }",
                Some("Z"),
                "message Z is not in",
            ),
            ("syntax = \"proto3\";", None, "has no message"),
        ];
        for (text, message, expected) in cases {
            let error = ProtoSchema::parse(text, &[], message).expect_err(text);
            assert!(error.contains(expected), "{error}");
        }
    }
}
