//! Schema compatibility levels and checks, as Confluent Schema Registry applies them when a
//! new version is registered or `POST /compatibility/...` asks.
//!
//! AVRO schemas are checked with Avro's schema resolution rules (the reader's fields missing
//! from the writer need defaults, types change only by promotion). PROTOBUF and JSON schemas
//! are only checked to be of the same type: their structural rules are not implemented.

use serde::{Deserialize, Serialize};

use super::avro::{AvroRecord, AvroSchema};
use super::{RegisteredSchema, SchemaType};

/// A compatibility level (`BACKWARD` by default, as Confluent's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Compatibility {
    None,
    #[default]
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

impl Compatibility {
    /// Confluent's name (`BACKWARD_TRANSITIVE`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Backward => "BACKWARD",
            Self::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Self::Forward => "FORWARD",
            Self::ForwardTransitive => "FORWARD_TRANSITIVE",
            Self::Full => "FULL",
            Self::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// Reads a level name, ignoring case.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::None,
            Self::Backward,
            Self::BackwardTransitive,
            Self::Forward,
            Self::ForwardTransitive,
            Self::Full,
            Self::FullTransitive,
        ]
        .into_iter()
        .find(|level| level.name().eq_ignore_ascii_case(name.trim()))
    }

    fn transitive(self) -> bool {
        matches!(
            self,
            Self::BackwardTransitive | Self::ForwardTransitive | Self::FullTransitive
        )
    }

    /// The old schema reads what the new one writes.
    fn forward(self) -> bool {
        matches!(
            self,
            Self::Forward | Self::ForwardTransitive | Self::Full | Self::FullTransitive
        )
    }

    /// The new schema reads what the old one wrote.
    fn backward(self) -> bool {
        matches!(
            self,
            Self::Backward | Self::BackwardTransitive | Self::Full | Self::FullTransitive
        )
    }
}

/// Checks a new schema against a subject's versions (oldest first) at `level`: the latest
/// one, or all of them for the transitive levels. Returns why it is incompatible.
pub fn check_compatibility(
    level: Compatibility,
    schema_type: SchemaType,
    text: &str,
    versions: &[&RegisteredSchema],
) -> Result<(), Vec<String>> {
    let checked: &[&RegisteredSchema] = match (level, versions.split_last()) {
        (Compatibility::None, _) | (_, None) => return Ok(()),
        (level, Some((latest, _))) if !level.transitive() => std::slice::from_ref(latest),
        _ => versions,
    };
    let mut problems = Vec::new();
    for previous in checked {
        if previous.schema_type != schema_type {
            problems.push(format!(
                "the schema type {} differs from {} of the registered version (id {})",
                schema_type.name(),
                previous.schema_type.name(),
                previous.id
            ));
            continue;
        }
        if schema_type != SchemaType::Avro {
            continue;
        }
        let (new, old) = match (AvroSchema::parse(text), AvroSchema::parse(&previous.text)) {
            (Ok(new), Ok(old)) => (new, old),
            (Err(error), _) | (_, Err(error)) => {
                problems.push(error);
                continue;
            }
        };
        if level.backward() {
            can_read(&new, &old, "", &mut problems);
        }
        if level.forward() {
            can_read(&old, &new, "", &mut problems);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Whether data written with `writer` can be read with `reader` (Avro schema resolution);
/// the reasons it cannot go to `problems`, at `path`.
pub fn can_read(reader: &AvroSchema, writer: &AvroSchema, path: &str, problems: &mut Vec<String>) {
    let before = problems.len();
    if let AvroSchema::Union(members) = writer {
        // Every branch the writer may have chosen must be readable.
        for member in members {
            can_read(reader, member, path, problems);
        }
        return;
    }
    if let AvroSchema::Union(members) = reader {
        let readable = members.iter().any(|member| {
            let mut scratch = Vec::new();
            can_read(member, writer, path, &mut scratch);
            scratch.is_empty()
        });
        if !readable {
            problems.push(format!(
                "{}: no branch of the reader's union {} reads the writer's {}",
                at(path),
                reader.to_json(),
                writer.to_json()
            ));
        }
        return;
    }
    match (underlying(reader), underlying(writer)) {
        (AvroSchema::Record(reader), AvroSchema::Record(writer)) => {
            records_compatible(&reader, &writer, path, problems);
        }
        (AvroSchema::Enum(reader), AvroSchema::Enum(writer)) => {
            if short_name(&reader.name) != short_name(&writer.name) {
                problems.push(format!(
                    "{}: enum name {} differs from {}",
                    at(path),
                    reader.name,
                    writer.name
                ));
            }
            for symbol in &writer.symbols {
                if !reader.symbols.contains(symbol) {
                    problems.push(format!(
                        "{}: the reader's enum {} lacks the symbol {symbol}",
                        at(path),
                        reader.name
                    ));
                }
            }
        }
        (AvroSchema::Array(reader), AvroSchema::Array(writer)) => {
            can_read(&reader, &writer, &format!("{path}[]"), problems);
        }
        (AvroSchema::Map(reader), AvroSchema::Map(writer)) => {
            can_read(&reader, &writer, &format!("{path}{{}}"), problems);
        }
        (
            AvroSchema::Fixed {
                name: reader_name,
                size: reader_size,
            },
            AvroSchema::Fixed {
                name: writer_name,
                size: writer_size,
            },
        ) => {
            if short_name(&reader_name) != short_name(&writer_name) || reader_size != writer_size {
                problems.push(format!(
                    "{}: fixed {reader_name}({reader_size}) cannot read fixed {writer_name}({writer_size})",
                    at(path)
                ));
            }
        }
        (reader_base, writer_base) => {
            if !primitive_reads(&reader_base, &writer_base) {
                problems.push(format!(
                    "{}: the reader's type {} cannot read the writer's {}",
                    at(path),
                    reader.to_json(),
                    writer.to_json()
                ));
            }
        }
    }
    if problems.len() == before
        && let (
            AvroSchema::Decimal {
                precision: reader_precision,
                scale: reader_scale,
                ..
            },
            AvroSchema::Decimal {
                precision: writer_precision,
                scale: writer_scale,
                ..
            },
        ) = (reader, writer)
        && (reader_precision, reader_scale) != (writer_precision, writer_scale)
    {
        problems.push(format!(
            "{}: decimal({reader_precision}, {reader_scale}) cannot read decimal({writer_precision}, {writer_scale})",
            at(path)
        ));
    }
}

fn records_compatible(
    reader: &AvroRecord,
    writer: &AvroRecord,
    path: &str,
    problems: &mut Vec<String>,
) {
    if short_name(&reader.name) != short_name(&writer.name) {
        problems.push(format!(
            "{}: record name {} differs from {}",
            at(path),
            reader.name,
            writer.name
        ));
        return;
    }
    for field in &reader.fields {
        let field_path = if path.is_empty() {
            field.name.clone()
        } else {
            format!("{path}.{}", field.name)
        };
        match writer.fields.iter().find(|other| other.name == field.name) {
            Some(written) => can_read(&field.schema, &written.schema, &field_path, problems),
            None if field.default.is_some() => {}
            None => problems.push(format!(
                "field {field_path}: the reader's field has no default and the writer has no such field"
            )),
        }
    }
}

/// Logical types as the type they are encoded with.
fn underlying(schema: &AvroSchema) -> AvroSchema {
    match schema {
        AvroSchema::Date | AvroSchema::TimeMillis => AvroSchema::Int,
        AvroSchema::TimeMicros | AvroSchema::TimestampMillis | AvroSchema::TimestampMicros => {
            AvroSchema::Long
        }
        AvroSchema::Decimal { fixed: None, .. } => AvroSchema::Bytes,
        AvroSchema::Decimal {
            fixed: Some(size), ..
        } => AvroSchema::Fixed {
            name: String::new(),
            size: *size,
        },
        other => other.clone(),
    }
}

/// Same primitive, or one of Avro's promotions.
fn primitive_reads(reader: &AvroSchema, writer: &AvroSchema) -> bool {
    use AvroSchema::{Bytes, Double, Float, Int, Long, String};
    reader == writer
        || matches!(
            (writer, reader),
            (Int, Long | Float | Double)
                | (Long, Float | Double)
                | (Float, Double)
                | (String, Bytes)
                | (Bytes, String)
        )
}

fn short_name(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

fn at(path: &str) -> String {
    if path.is_empty() {
        "the schema".to_string()
    } else {
        format!("field {path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &str) -> String {
        format!(r#"{{"type":"record","name":"User","fields":[{fields}]}}"#)
    }

    fn avro(id: u32, text: &str) -> RegisteredSchema {
        RegisteredSchema {
            id,
            schema_type: SchemaType::Avro,
            text: text.to_string(),
            references: Vec::new(),
        }
    }

    #[test]
    fn backward_compatibility_follows_avro_resolution() {
        let old = record(r#"{"name":"id","type":"int"},{"name":"name","type":"string"}"#);
        // (new schema, compatible under BACKWARD)
        let cases = [
            (old.clone(), true),
            // A field removed: the reader ignores it.
            (record(r#"{"name":"id","type":"int"}"#), true),
            // A field added with a default.
            (
                record(
                    r#"{"name":"id","type":"int"},{"name":"name","type":"string"},{"name":"age","type":["null","int"],"default":null}"#,
                ),
                true,
            ),
            // A field added without one.
            (
                record(
                    r#"{"name":"id","type":"int"},{"name":"name","type":"string"},{"name":"age","type":"int"}"#,
                ),
                false,
            ),
            // Promotion int -> long; string -> bytes.
            (
                record(r#"{"name":"id","type":"long"},{"name":"name","type":"bytes"}"#),
                true,
            ),
            // Narrowing long -> int is not a promotion.
            (
                record(r#"{"name":"id","type":"string"},{"name":"name","type":"string"}"#),
                false,
            ),
            // A nullable reader reads the plain writer.
            (
                record(r#"{"name":"id","type":["null","int"]},{"name":"name","type":"string"}"#),
                true,
            ),
            (r#""string""#.to_string(), false),
        ];
        let previous = avro(1, &old);
        for (new, expected) in cases {
            let result = check_compatibility(
                Compatibility::Backward,
                SchemaType::Avro,
                &new,
                &[&previous],
            );
            assert_eq!(result.is_ok(), expected, "{new}: {result:?}");
        }
    }

    #[test]
    fn levels_pick_direction_and_versions() {
        let v1 = avro(1, &record(r#"{"name":"id","type":"int"}"#));
        let v2 = avro(
            2,
            &record(r#"{"name":"id","type":"int"},{"name":"a","type":"int","default":0}"#),
        );
        // Drops the defaulted field and adds one without a default relative to v1 only.
        let new = record(r#"{"name":"a","type":"int","default":1},{"name":"id","type":"long"}"#);
        let cases = [
            (Compatibility::None, true),
            (Compatibility::Backward, true),
            (Compatibility::BackwardTransitive, true),
            // The old reader (int id) cannot read a long id.
            (Compatibility::Forward, false),
            (Compatibility::Full, false),
        ];
        for (level, expected) in cases {
            let result = check_compatibility(level, SchemaType::Avro, &new, &[&v1, &v2]);
            assert_eq!(result.is_ok(), expected, "{level:?}: {result:?}");
        }
        let changed_type =
            check_compatibility(Compatibility::Backward, SchemaType::Json, "{}", &[&v1]);
        assert!(changed_type.is_err());
        for level in ["backward", "FULL_TRANSITIVE", "none"] {
            let parsed = Compatibility::parse(level).expect("a level");
            assert!(parsed.name().eq_ignore_ascii_case(level));
        }
        assert_eq!(Compatibility::parse("sideways"), None);
    }

    #[test]
    fn transitive_levels_check_every_version() {
        let v1 = avro(1, &record(r#"{"name":"id","type":"int"}"#));
        let v2 = avro(
            2,
            &record(r#"{"name":"id","type":"int"},{"name":"b","type":"int","default":0}"#),
        );
        // Reads v2 (b present) but not v1 data? b has no default here, v1 lacks b.
        let new = record(r#"{"name":"id","type":"int"},{"name":"b","type":"int"}"#);
        let latest_only =
            check_compatibility(Compatibility::Backward, SchemaType::Avro, &new, &[&v1, &v2]);
        assert!(latest_only.is_ok(), "{latest_only:?}");
        let all = check_compatibility(
            Compatibility::BackwardTransitive,
            SchemaType::Avro,
            &new,
            &[&v1, &v2],
        );
        assert!(all.is_err());
    }
}
