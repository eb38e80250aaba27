//! ksqlDB column types to `.proto` text (what ksqlDB registers, as Confluent's
//! `ProtobufData` writes it) and resolved messages back to column types (schema inference).
//!
//! Generated messages are `ConnectDefault1` (or the `*_SCHEMA_FULL_NAME`), nested STRUCTs
//! `ConnectDefault2`, `ConnectDefault3`, ... declared inside the message using them; DECIMAL,
//! DATE, TIME and TIMESTAMP use Confluent's and Google's well-known types.

use std::collections::BTreeSet;
use std::fmt::Write;

use parser::ast::DataType;

use super::descriptor::{FieldKind, MessageDescriptor, Scalar, WellKnown};

/// How nullable fields are written (`*_PROTOBUF_NULLABLE_REPRESENTATION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NullableRepresentation {
    /// proto3 fields without presence: null is written as the default value.
    #[default]
    None,
    /// `optional` fields.
    Optional,
    /// `google.protobuf.*Value` wrappers.
    Wrapper,
}

/// The `.proto` text ksqlDB generates for `columns`: one message named `full_name`
/// (default `ConnectDefault1`; a dotted name puts it in a package).
pub fn proto_schema_for(
    columns: &[(String, DataType)],
    full_name: Option<&str>,
    nullable: NullableRepresentation,
) -> Result<String, String> {
    generate(columns, full_name, nullable, false)
}

/// The `.proto` text of the rows of a pull query answered as protobuf (ksqlDB's REST API):
/// as `proto_schema_for`, but a MAP is a `repeated ConnectDefault<n>Entry` of `key` and
/// `value` fields (the same bytes as a `map<..>` field).
pub fn proto_schema_for_rows(columns: &[(String, DataType)]) -> Result<String, String> {
    generate(columns, None, NullableRepresentation::None, true)
}

fn generate(
    columns: &[(String, DataType)],
    full_name: Option<&str>,
    nullable: NullableRepresentation,
    map_entries: bool,
) -> Result<String, String> {
    let full_name = full_name.unwrap_or("ConnectDefault1");
    let (package, name) = match full_name.rfind('.') {
        Some(dot) => (&full_name[..dot], &full_name[dot + 1..]),
        None => ("", full_name),
    };
    let mut writer = Generator {
        imports: BTreeSet::new(),
        next_default: 2,
        nullable,
        map_entries,
    };
    let mut body = String::new();
    writer.message(name, columns, 0, &mut body)?;
    let mut text = String::from("syntax = \"proto3\";\n\n");
    if !package.is_empty() {
        let _ = writeln!(text, "package {package};\n");
    }
    for import in &writer.imports {
        let _ = writeln!(text, "import \"{import}\";");
    }
    if !writer.imports.is_empty() {
        text.push('\n');
    }
    text.push_str(&body);
    Ok(text)
}

struct Generator {
    imports: BTreeSet<&'static str>,
    next_default: u32,
    nullable: NullableRepresentation,
    /// Maps as repeated entry messages instead of `map<..>` fields.
    map_entries: bool,
}

impl Generator {
    fn message(
        &mut self,
        name: &str,
        columns: &[(String, DataType)],
        depth: usize,
        out: &mut String,
    ) -> Result<(), String> {
        let indent = "  ".repeat(depth);
        let _ = writeln!(out, "{indent}message {name} {{");
        let mut nested = String::new();
        for (index, (field_name, data_type)) in columns.iter().enumerate() {
            let number = index + 1;
            let (label, type_name, options) = match data_type {
                DataType::Array(element) => {
                    let type_name = self.element_type(element, depth, &mut nested)?;
                    ("repeated ", type_name, String::new())
                }
                DataType::Map(key, value) => {
                    if **key != DataType::String {
                        return Err(
                            "PROTOBUF format only supports MAP types with STRING keys".to_string()
                        );
                    }
                    if self.map_entries {
                        let name = format!("ConnectDefault{}Entry", self.next_default);
                        self.next_default += 1;
                        let entry = [
                            ("key".to_string(), DataType::String),
                            ("value".to_string(), (**value).clone()),
                        ];
                        self.message(&name, &entry, depth + 1, &mut nested)?;
                        ("repeated ", name, String::new())
                    } else {
                        let value = self.element_type(value, depth, &mut nested)?;
                        ("", format!("map<string, {value}>"), String::new())
                    }
                }
                other => {
                    let (type_name, options) = self.singular_type(other, depth, &mut nested)?;
                    let label = match (self.nullable, other) {
                        (NullableRepresentation::Optional, t) if is_scalar(t) => "optional ",
                        _ => "",
                    };
                    (label, type_name, options)
                }
            };
            let _ = writeln!(
                out,
                "{indent}  {label}{type_name} {field_name} = {number}{options};"
            );
        }
        if !nested.is_empty() {
            out.push('\n');
            out.push_str(&nested);
        }
        let _ = writeln!(out, "{indent}}}");
        Ok(())
    }

    /// The type of a singular field, and its options.
    fn singular_type(
        &mut self,
        data_type: &DataType,
        depth: usize,
        nested: &mut String,
    ) -> Result<(String, String), String> {
        if self.nullable == NullableRepresentation::Wrapper
            && let Some(scalar) = scalar_of(data_type)
        {
            let wrapper = WellKnown::Wrapper(scalar);
            self.imports.insert(wrapper.import());
            return Ok((wrapper.type_name().to_string(), String::new()));
        }
        let known = |generator: &mut Self, known: WellKnown| {
            generator.imports.insert(known.import());
            known.type_name().to_string()
        };
        Ok(match data_type {
            DataType::Decimal { precision, scale } => (
                known(
                    self,
                    WellKnown::Decimal {
                        precision: None,
                        scale: 0,
                    },
                ),
                format!(
                    " [(confluent.field_meta) = {{ params: [{{ key: \"precision\", value: \"{precision}\" }}, {{ key: \"scale\", value: \"{scale}\" }}] }}]"
                ),
            ),
            DataType::Date => (known(self, WellKnown::Date), String::new()),
            DataType::Time => (known(self, WellKnown::TimeOfDay), String::new()),
            DataType::Timestamp => (known(self, WellKnown::Timestamp), String::new()),
            DataType::Struct(fields) => {
                let name = format!("ConnectDefault{}", self.next_default);
                self.next_default += 1;
                self.message(&name, fields, depth + 1, nested)?;
                (name, String::new())
            }
            other => match scalar_of(other) {
                Some(scalar) => (scalar.name().to_string(), String::new()),
                None => {
                    return Err(format!(
                        "the PROTOBUF format cannot hold {}",
                        crate::types::sql_type_name(other)
                    ));
                }
            },
        })
    }

    /// The type of an array element or map value (no wrappers, no nested collections).
    fn element_type(
        &mut self,
        data_type: &DataType,
        depth: usize,
        nested: &mut String,
    ) -> Result<String, String> {
        if matches!(data_type, DataType::Array(_) | DataType::Map(..)) {
            return Err(format!(
                "the PROTOBUF format cannot hold nested collections such as {}",
                crate::types::sql_type_name(data_type)
            ));
        }
        let saved = self.nullable;
        self.nullable = NullableRepresentation::None;
        let result = self.singular_type(data_type, depth, nested);
        self.nullable = saved;
        let (type_name, _) = result?;
        Ok(type_name)
    }
}

fn scalar_of(data_type: &DataType) -> Option<Scalar> {
    Some(match data_type {
        DataType::Boolean => Scalar::Bool,
        DataType::Int => Scalar::Int32,
        DataType::Bigint => Scalar::Int64,
        DataType::Double => Scalar::Double,
        DataType::String => Scalar::String,
        DataType::Bytes => Scalar::Bytes,
        _ => return None,
    })
}

fn is_scalar(data_type: &DataType) -> bool {
    scalar_of(data_type).is_some()
}

/// The columns of a message (schema inference). With `uppercase`, field names are
/// upper-cased (inference without a schema id).
pub fn sql_type_of_message(
    message: &MessageDescriptor,
    uppercase: bool,
) -> Result<Vec<(String, DataType)>, String> {
    message
        .fields
        .iter()
        .map(|field| {
            let element = sql_type_of_kind(&field.kind, uppercase)?;
            let data_type = if field.repeated && !matches!(field.kind, FieldKind::Map(..)) {
                DataType::Array(Box::new(element))
            } else {
                element
            };
            let name = if uppercase {
                field.name.to_uppercase()
            } else {
                field.name.clone()
            };
            Ok((name, data_type))
        })
        .collect()
}

fn sql_type_of_kind(kind: &FieldKind, uppercase: bool) -> Result<DataType, String> {
    Ok(match kind {
        FieldKind::Scalar(scalar) | FieldKind::WellKnown(WellKnown::Wrapper(scalar)) => {
            sql_type_of_scalar(*scalar)
        }
        FieldKind::Enum(_) => DataType::String,
        FieldKind::Message(message) => DataType::Struct(sql_type_of_message(message, uppercase)?),
        FieldKind::Map(key, value) => DataType::Map(
            Box::new(sql_type_of_scalar(*key)),
            Box::new(sql_type_of_kind(value, uppercase)?),
        ),
        FieldKind::WellKnown(WellKnown::Timestamp) => DataType::Timestamp,
        FieldKind::WellKnown(WellKnown::Date) => DataType::Date,
        FieldKind::WellKnown(WellKnown::TimeOfDay) => DataType::Time,
        FieldKind::WellKnown(WellKnown::Decimal { precision, scale }) => {
            let precision = precision.unwrap_or(64);
            DataType::Decimal {
                precision: u8::try_from(precision)
                    .map_err(|_| format!("DECIMAL precision {precision} is too large"))?,
                scale: u8::try_from(*scale)
                    .map_err(|_| format!("DECIMAL scale {scale} is too large"))?,
            }
        }
    })
}

fn sql_type_of_scalar(scalar: Scalar) -> DataType {
    match scalar {
        Scalar::Double | Scalar::Float => DataType::Double,
        Scalar::Int32 | Scalar::SInt32 | Scalar::SFixed32 => DataType::Int,
        Scalar::Int64
        | Scalar::SInt64
        | Scalar::SFixed64
        | Scalar::UInt32
        | Scalar::Fixed32
        | Scalar::UInt64
        | Scalar::Fixed64 => DataType::Bigint,
        Scalar::Bool => DataType::Boolean,
        Scalar::String => DataType::String,
        Scalar::Bytes => DataType::Bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::super::ProtoSchema;
    use super::*;

    fn columns(list: &[(&str, DataType)]) -> Vec<(String, DataType)> {
        list.iter()
            .map(|(name, data_type)| (name.to_string(), data_type.clone()))
            .collect()
    }

    #[test]
    fn generated_text_matches_confluent() {
        let primitives = columns(&[
            ("I", DataType::Int),
            ("L", DataType::Bigint),
            ("D", DataType::Double),
            ("B", DataType::Boolean),
            ("S", DataType::String),
        ]);
        assert_eq!(
            proto_schema_for(&primitives, None, NullableRepresentation::None).expect("ok"),
            "syntax = \"proto3\";\n\nmessage ConnectDefault1 {\n  int32 I = 1;\n  int64 L = 2;\n  double D = 3;\n  bool B = 4;\n  string S = 5;\n}\n"
        );
        assert_eq!(
            proto_schema_for(&primitives[..1], None, NullableRepresentation::Wrapper).expect("ok"),
            "syntax = \"proto3\";\n\nimport \"google/protobuf/wrappers.proto\";\n\nmessage ConnectDefault1 {\n  google.protobuf.Int32Value I = 1;\n}\n"
        );
        assert_eq!(
            proto_schema_for(
                &primitives[..1],
                Some("a.b.Key"),
                NullableRepresentation::Optional
            )
            .expect("ok"),
            "syntax = \"proto3\";\n\npackage a.b;\n\nmessage Key {\n  optional int32 I = 1;\n}\n"
        );
        let error = proto_schema_for(
            &columns(&[(
                "M",
                DataType::Map(Box::new(DataType::Int), Box::new(DataType::Int)),
            )]),
            None,
            NullableRepresentation::None,
        )
        .expect_err("int keys");
        assert_eq!(
            error,
            "PROTOBUF format only supports MAP types with STRING keys"
        );
    }

    #[test]
    fn generated_schemas_infer_back_to_their_columns() {
        let cases = vec![columns(&[
            ("K", DataType::String),
            (
                "S",
                DataType::Struct(vec![
                    ("A".into(), DataType::Int),
                    (
                        "T".into(),
                        DataType::Struct(vec![("X".into(), DataType::Bytes)]),
                    ),
                ]),
            ),
            (
                "A",
                DataType::Array(Box::new(DataType::Struct(vec![(
                    "Y".into(),
                    DataType::Double,
                )]))),
            ),
            (
                "M",
                DataType::Map(Box::new(DataType::String), Box::new(DataType::Bigint)),
            ),
            (
                "D",
                DataType::Decimal {
                    precision: 4,
                    scale: 2,
                },
            ),
            ("DT", DataType::Date),
            ("T", DataType::Time),
            ("TS", DataType::Timestamp),
        ])];
        for columns in cases {
            for nullable in [
                NullableRepresentation::None,
                NullableRepresentation::Optional,
                NullableRepresentation::Wrapper,
            ] {
                let text = proto_schema_for(&columns, None, nullable).expect("generates");
                let schema = ProtoSchema::parse(&text, &[], None).expect("parses");
                let inferred = sql_type_of_message(&schema.message, false).expect("infers");
                assert_eq!(inferred, columns, "{text}");
            }
        }
    }

    #[test]
    fn inference_follows_confluent_type_mapping() {
        let text = "syntax = \"proto3\"; message M { uint32 a = 1; float b = 2; sint32 c = 3; enum E { X = 0; } E d = 4; google.protobuf.BoolValue e = 5; }";
        let schema = ProtoSchema::parse(text, &[], None).expect("parses");
        let inferred = sql_type_of_message(&schema.message, true).expect("infers");
        assert_eq!(
            inferred,
            columns(&[
                ("A", DataType::Bigint),
                ("B", DataType::Double),
                ("C", DataType::Int),
                ("D", DataType::String),
                ("E", DataType::Boolean),
            ])
        );
    }
}
