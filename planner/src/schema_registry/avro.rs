//! Avro schemas: parsed from their JSON text, written back, and translated to and from
//! ksqlDB column types (`translate`).
//!
//! Named types are resolved while parsing (a name used before or inside its own definition,
//! a recursive schema, is refused). Logical types become their own variants; unknown logical
//! types fall back to the underlying type, as the Avro spec says.

mod translate;

use std::collections::HashMap;
use std::sync::Arc;

use super::json_tree::JsonTree;

pub use self::translate::{
    AVRO_NAMESPACE, KEY_SUFFIX, VALUE_RECORD_NAME, avro_schema_for, check_avro_name, sql_type_of,
};

/// An Avro schema.
#[derive(Debug, Clone, PartialEq)]
pub enum AvroSchema {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Record(Arc<AvroRecord>),
    Enum(Arc<AvroEnum>),
    Array(Box<AvroSchema>),
    Map(Box<AvroSchema>),
    Union(Vec<AvroSchema>),
    Fixed {
        name: String,
        size: usize,
    },
    /// `decimal` over `bytes` (`fixed: None`) or a `fixed` of that size.
    Decimal {
        precision: u32,
        scale: u32,
        fixed: Option<usize>,
    },
    /// `date`: days since the epoch (int).
    Date,
    /// `time-millis` (int).
    TimeMillis,
    /// `time-micros` (long).
    TimeMicros,
    /// `timestamp-millis` and `local-timestamp-millis` (long).
    TimestampMillis,
    /// `timestamp-micros` and `local-timestamp-micros` (long).
    TimestampMicros,
}

/// A record: full name and fields.
#[derive(Debug, Clone, PartialEq)]
pub struct AvroRecord {
    pub name: String,
    pub fields: Vec<AvroField>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AvroField {
    pub name: String,
    pub schema: AvroSchema,
    /// The `default` value, as written.
    pub default: Option<JsonTree>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AvroEnum {
    pub name: String,
    pub symbols: Vec<String>,
}

impl AvroSchema {
    /// Parses a schema's JSON text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let tree =
            JsonTree::parse(text).map_err(|error| format!("invalid Avro schema: {error}"))?;
        let mut parser = Parser::default();
        parser.parse(&tree, "")
    }

    /// The non-null member of a `[null, T]` union (or `T` itself), and whether null is allowed.
    pub fn non_null(&self) -> (&AvroSchema, bool) {
        match self {
            Self::Union(members) => {
                let nullable = members.contains(&Self::Null);
                let others: Vec<&AvroSchema> = members
                    .iter()
                    .filter(|member| **member != Self::Null)
                    .collect();
                match others.as_slice() {
                    [single] => (single, nullable),
                    _ => (self, nullable),
                }
            }
            other => (other, false),
        }
    }

    /// The schema as JSON (the text to register).
    pub fn to_json(&self) -> JsonTree {
        self.to_json_in("")
    }

    fn to_json_in(&self, namespace: &str) -> JsonTree {
        let primitive = |name: &str| JsonTree::string(name);
        let connect = |avro_type: &str, logical: &str, connect_name: &str| {
            JsonTree::object([
                ("type", JsonTree::string(avro_type)),
                ("connect.version", JsonTree::integer(1)),
                ("connect.name", JsonTree::string(connect_name)),
                ("logicalType", JsonTree::string(logical)),
            ])
        };
        match self {
            Self::Null => primitive("null"),
            Self::Boolean => primitive("boolean"),
            Self::Int => primitive("int"),
            Self::Long => primitive("long"),
            Self::Float => primitive("float"),
            Self::Double => primitive("double"),
            Self::Bytes => primitive("bytes"),
            Self::String => primitive("string"),
            Self::Record(record) => {
                let (record_namespace, name) = split_name(&record.name);
                let mut members = vec![
                    ("type".to_string(), JsonTree::string("record")),
                    ("name".to_string(), JsonTree::string(name)),
                ];
                if record_namespace != namespace {
                    members.push(("namespace".to_string(), JsonTree::string(record_namespace)));
                }
                let fields = record
                    .fields
                    .iter()
                    .map(|field| {
                        let mut members = vec![
                            ("name".to_string(), JsonTree::string(&field.name)),
                            (
                                "type".to_string(),
                                field.schema.to_json_in(record_namespace),
                            ),
                        ];
                        if let Some(default) = &field.default {
                            members.push(("default".to_string(), default.clone()));
                        }
                        JsonTree::Object(members)
                    })
                    .collect();
                members.push(("fields".to_string(), JsonTree::Array(fields)));
                members.push(("connect.name".to_string(), JsonTree::string(&record.name)));
                JsonTree::Object(members)
            }
            Self::Enum(enumeration) => {
                let (_, name) = split_name(&enumeration.name);
                JsonTree::object([
                    ("type", JsonTree::string("enum")),
                    ("name", JsonTree::string(name)),
                    (
                        "symbols",
                        JsonTree::Array(enumeration.symbols.iter().map(JsonTree::string).collect()),
                    ),
                ])
            }
            Self::Array(items) => JsonTree::object([
                ("type", JsonTree::string("array")),
                ("items", items.to_json_in(namespace)),
            ]),
            Self::Map(values) => JsonTree::object([
                ("type", JsonTree::string("map")),
                ("values", values.to_json_in(namespace)),
            ]),
            Self::Union(members) => JsonTree::Array(
                members
                    .iter()
                    .map(|member| member.to_json_in(namespace))
                    .collect(),
            ),
            Self::Fixed { name, size } => JsonTree::object([
                ("type", JsonTree::string("fixed")),
                ("name", JsonTree::string(split_name(name).1)),
                ("size", JsonTree::integer(*size as i64)),
            ]),
            Self::Decimal {
                precision,
                scale,
                fixed,
            } => {
                let mut members = match fixed {
                    Some(size) => vec![
                        ("type".to_string(), JsonTree::string("fixed")),
                        ("name".to_string(), JsonTree::string("Decimal")),
                        ("size".to_string(), JsonTree::integer(*size as i64)),
                    ],
                    None => vec![("type".to_string(), JsonTree::string("bytes"))],
                };
                members.extend([
                    ("scale".to_string(), JsonTree::integer(i64::from(*scale))),
                    (
                        "precision".to_string(),
                        JsonTree::integer(i64::from(*precision)),
                    ),
                    ("connect.version".to_string(), JsonTree::integer(1)),
                    (
                        "connect.parameters".to_string(),
                        JsonTree::object([
                            ("scale", JsonTree::string(scale.to_string())),
                            (
                                "connect.decimal.precision",
                                JsonTree::string(precision.to_string()),
                            ),
                        ]),
                    ),
                    (
                        "connect.name".to_string(),
                        JsonTree::string("org.apache.kafka.connect.data.Decimal"),
                    ),
                    ("logicalType".to_string(), JsonTree::string("decimal")),
                ]);
                JsonTree::Object(members)
            }
            Self::Date => connect("int", "date", "org.apache.kafka.connect.data.Date"),
            Self::TimeMillis => connect("int", "time-millis", "org.apache.kafka.connect.data.Time"),
            Self::TimeMicros => JsonTree::object([
                ("type", JsonTree::string("long")),
                ("logicalType", JsonTree::string("time-micros")),
            ]),
            Self::TimestampMillis => connect(
                "long",
                "timestamp-millis",
                "org.apache.kafka.connect.data.Timestamp",
            ),
            Self::TimestampMicros => JsonTree::object([
                ("type", JsonTree::string("long")),
                ("logicalType", JsonTree::string("timestamp-micros")),
            ]),
        }
    }
}

/// `(namespace, name)` of a full name.
fn split_name(full: &str) -> (&str, &str) {
    match full.rfind('.') {
        Some(dot) => (&full[..dot], &full[dot + 1..]),
        None => ("", full),
    }
}

/// Parses schema JSON, resolving named types.
#[derive(Default)]
struct Parser {
    named: HashMap<String, AvroSchema>,
    /// Names being defined (to refuse recursion).
    defining: Vec<String>,
}

impl Parser {
    fn parse(&mut self, tree: &JsonTree, namespace: &str) -> Result<AvroSchema, String> {
        match tree {
            JsonTree::String(name) => self.named_or_primitive(name, namespace),
            JsonTree::Array(members) => {
                let members = members
                    .iter()
                    .map(|member| self.parse(member, namespace))
                    .collect::<Result<Vec<_>, _>>()?;
                if members
                    .iter()
                    .any(|member| matches!(member, AvroSchema::Union(_)))
                {
                    return Err("a union cannot directly contain another union".to_string());
                }
                Ok(AvroSchema::Union(members))
            }
            JsonTree::Object(_) => self.parse_object(tree, namespace),
            other => Err(format!("invalid Avro schema: {other}")),
        }
    }

    fn named_or_primitive(&self, name: &str, namespace: &str) -> Result<AvroSchema, String> {
        Ok(match name {
            "null" => AvroSchema::Null,
            "boolean" => AvroSchema::Boolean,
            "int" => AvroSchema::Int,
            "long" => AvroSchema::Long,
            "float" => AvroSchema::Float,
            "double" => AvroSchema::Double,
            "bytes" => AvroSchema::Bytes,
            "string" => AvroSchema::String,
            _ => {
                let full = full_name(name, namespace);
                if self.defining.contains(&full) || self.defining.iter().any(|n| n == name) {
                    return Err(format!("recursive Avro schemas are not supported: {name}"));
                }
                return self
                    .named
                    .get(&full)
                    .or_else(|| self.named.get(name))
                    .cloned()
                    .ok_or_else(|| format!("unknown Avro type: {name}"));
            }
        })
    }

    fn parse_object(&mut self, tree: &JsonTree, namespace: &str) -> Result<AvroSchema, String> {
        let type_tree = tree
            .get("type")
            .ok_or_else(|| format!("Avro schema without a type: {tree}"))?;
        let Some(type_name) = type_tree.as_str() else {
            // `{"type": {...}}` or `{"type": [...]}`: the type is nested.
            return self.parse(type_tree, namespace);
        };
        let logical = tree.text("logicalType");
        let schema = match type_name {
            "record" | "error" => {
                let full = self.definition_name(tree, namespace)?;
                let record_namespace = split_name(&full).0.to_string();
                self.defining.push(full.clone());
                let fields = tree
                    .get("fields")
                    .and_then(JsonTree::as_array)
                    .ok_or_else(|| format!("record {full} has no fields"))?
                    .iter()
                    .map(|field| {
                        let name = field
                            .text("name")
                            .ok_or_else(|| format!("a field of record {full} has no name"))?;
                        let field_type = field
                            .get("type")
                            .ok_or_else(|| format!("field {name} has no type"))?;
                        Ok(AvroField {
                            name: name.to_string(),
                            schema: self.parse(field_type, &record_namespace)?,
                            default: field.get("default").cloned(),
                        })
                    })
                    .collect::<Result<Vec<_>, String>>();
                self.defining.pop();
                let schema = AvroSchema::Record(Arc::new(AvroRecord {
                    name: full.clone(),
                    fields: fields?,
                }));
                self.named.insert(full, schema.clone());
                schema
            }
            "enum" => {
                let full = self.definition_name(tree, namespace)?;
                let symbols = tree
                    .get("symbols")
                    .and_then(JsonTree::as_array)
                    .ok_or_else(|| format!("enum {full} has no symbols"))?
                    .iter()
                    .map(|symbol| symbol.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| format!("enum {full} has a symbol that is not a string"))?;
                let schema = AvroSchema::Enum(Arc::new(AvroEnum {
                    name: full.clone(),
                    symbols,
                }));
                self.named.insert(full, schema.clone());
                schema
            }
            "array" => {
                let items = tree.get("items").ok_or("array schema without items")?;
                AvroSchema::Array(Box::new(self.parse(items, namespace)?))
            }
            "map" => {
                let values = tree.get("values").ok_or("map schema without values")?;
                AvroSchema::Map(Box::new(self.parse(values, namespace)?))
            }
            "fixed" => {
                let full = self.definition_name(tree, namespace)?;
                let size = tree
                    .get("size")
                    .and_then(JsonTree::as_i64)
                    .and_then(|size| usize::try_from(size).ok())
                    .ok_or_else(|| format!("fixed {full} has no size"))?;
                let schema = match logical {
                    Some("decimal") => decimal(tree, Some(size))?,
                    _ => AvroSchema::Fixed {
                        name: full.clone(),
                        size,
                    },
                };
                self.named.insert(full, schema.clone());
                schema
            }
            primitive => {
                let base = self.named_or_primitive(primitive, namespace)?;
                match (&base, logical) {
                    (AvroSchema::Bytes, Some("decimal")) => decimal(tree, None)?,
                    (AvroSchema::Int, Some("date")) => AvroSchema::Date,
                    (AvroSchema::Int, Some("time-millis")) => AvroSchema::TimeMillis,
                    (AvroSchema::Long, Some("time-micros")) => AvroSchema::TimeMicros,
                    (AvroSchema::Long, Some("timestamp-millis" | "local-timestamp-millis")) => {
                        AvroSchema::TimestampMillis
                    }
                    (AvroSchema::Long, Some("timestamp-micros" | "local-timestamp-micros")) => {
                        AvroSchema::TimestampMicros
                    }
                    _ => base,
                }
            }
        };
        Ok(schema)
    }

    /// The full name a named type defines.
    fn definition_name(&self, tree: &JsonTree, namespace: &str) -> Result<String, String> {
        let name = tree
            .text("name")
            .ok_or_else(|| format!("named Avro type without a name: {tree}"))?;
        let namespace = tree.text("namespace").unwrap_or(namespace);
        Ok(full_name(name, namespace))
    }
}

fn full_name(name: &str, namespace: &str) -> String {
    if name.contains('.') || namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}.{name}")
    }
}

fn decimal(tree: &JsonTree, fixed: Option<usize>) -> Result<AvroSchema, String> {
    let precision = tree
        .get("precision")
        .and_then(JsonTree::as_i64)
        .and_then(|precision| u32::try_from(precision).ok())
        .filter(|precision| *precision > 0)
        .ok_or("decimal schema without a valid precision")?;
    let scale = match tree.get("scale") {
        Some(scale) => scale
            .as_i64()
            .and_then(|scale| u32::try_from(scale).ok())
            .filter(|scale| *scale <= precision)
            .ok_or("decimal schema with an invalid scale")?,
        None => 0,
    };
    Ok(AvroSchema::Decimal {
        precision,
        scale,
        fixed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, fields: Vec<(&str, AvroSchema)>) -> AvroSchema {
        AvroSchema::Record(Arc::new(AvroRecord {
            name: name.to_string(),
            fields: fields
                .into_iter()
                .map(|(name, schema)| AvroField {
                    name: name.to_string(),
                    schema,
                    default: None,
                })
                .collect(),
        }))
    }

    #[test]
    fn schemas_parse_with_logical_and_named_types() {
        let cases: Vec<(&str, Result<AvroSchema, &str>)> = vec![
            ("\"int\"", Ok(AvroSchema::Int)),
            ("{\"type\": \"long\"}", Ok(AvroSchema::Long)),
            (
                "{\"type\": \"array\", \"items\": [\"null\", \"string\"]}",
                Ok(AvroSchema::Array(Box::new(AvroSchema::Union(vec![
                    AvroSchema::Null,
                    AvroSchema::String,
                ])))),
            ),
            (
                "{\"type\":\"int\",\"logicalType\":\"date\"}",
                Ok(AvroSchema::Date),
            ),
            (
                "{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}",
                Ok(AvroSchema::TimestampMillis),
            ),
            (
                "{\"type\":\"string\",\"logicalType\":\"uuid\"}",
                Ok(AvroSchema::String),
            ),
            (
                "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":4,\"scale\":2}",
                Ok(AvroSchema::Decimal {
                    precision: 4,
                    scale: 2,
                    fixed: None,
                }),
            ),
            (
                r#"{"type":"record","name":"r","namespace":"n","fields":[
                    {"name":"a","type":{"type":"record","name":"s","fields":[{"name":"x","type":"int"}]}},
                    {"name":"b","type":"s"},
                    {"name":"c","type":"n.s"}]}"#,
                Ok(record(
                    "n.r",
                    vec![
                        ("a", record("n.s", vec![("x", AvroSchema::Int)])),
                        ("b", record("n.s", vec![("x", AvroSchema::Int)])),
                        ("c", record("n.s", vec![("x", AvroSchema::Int)])),
                    ],
                )),
            ),
            (
                r#"{"type":"record","name":"node","fields":[{"name":"next","type":["null","node"]}]}"#,
                Err("recursive"),
            ),
            ("\"what\"", Err("unknown Avro type: what")),
            (
                "{\"type\":\"bytes\",\"logicalType\":\"decimal\"}",
                Err("precision"),
            ),
            ("[\"int\", [\"long\"]]", Err("union")),
            ("{", Err("invalid Avro schema")),
        ];
        for (text, expected) in cases {
            match (AvroSchema::parse(text), expected) {
                (Ok(actual), Ok(expected)) => assert_eq!(actual, expected, "{text}"),
                (Err(error), Err(expected)) => assert!(error.contains(expected), "{error}"),
                (actual, expected) => panic!("{text}: {actual:?} vs {expected:?}"),
            }
        }
    }

    #[test]
    fn written_schemas_parse_back_to_themselves() {
        let schemas = [
            AvroSchema::Union(vec![AvroSchema::Null, AvroSchema::Long]),
            AvroSchema::Decimal {
                precision: 10,
                scale: 3,
                fixed: None,
            },
            AvroSchema::Date,
            AvroSchema::TimeMillis,
            AvroSchema::TimestampMillis,
            AvroSchema::Map(Box::new(AvroSchema::Array(Box::new(AvroSchema::Double)))),
            record(
                "io.confluent.ksql.avro_schemas.KsqlDataSourceSchema",
                vec![
                    (
                        "S",
                        record(
                            "io.confluent.ksql.avro_schemas.KsqlDataSourceSchema_S",
                            vec![("A", AvroSchema::Bytes)],
                        ),
                    ),
                    ("B", AvroSchema::Boolean),
                ],
            ),
        ];
        for schema in schemas {
            let text = schema.to_json().to_string();
            assert_eq!(AvroSchema::parse(&text), Ok(schema), "{text}");
        }
    }
}
