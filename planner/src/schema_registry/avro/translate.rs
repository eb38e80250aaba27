//! ksqlDB column types to Avro schemas (what ksqlDB registers for a source) and back
//! (schema inference).
//!
//! Generated schemas follow ksqlDB's `AvroSchemas`: a record `KsqlDataSourceSchema` in
//! namespace `io.confluent.ksql.avro_schemas` for values, nested records named
//! `<parent>_<FIELD>`, every field optional (`["null", T]`, default null), MAP as an Avro map
//! with STRING keys, and the Connect logical types.

use std::sync::Arc;

use parser::ast::DataType;

use super::super::json_tree::JsonTree;
use super::{AvroField, AvroRecord, AvroSchema};

/// Namespace of the records ksqlDB generates.
pub const AVRO_NAMESPACE: &str = "io.confluent.ksql.avro_schemas";
/// Name of the value record ksqlDB generates.
pub const VALUE_RECORD_NAME: &str = "KsqlDataSourceSchema";
/// Suffix of the key record name ksqlDB generates (`OutputKey` for source `OUTPUT`).
pub const KEY_SUFFIX: &str = "Key";

/// The schema ksqlDB generates for `columns`: a record named `full_name`, or with
/// `unwrapped`, the schema of the single column's type (a STRUCT becomes the record).
pub fn avro_schema_for(
    columns: &[(String, DataType)],
    unwrapped: bool,
    full_name: &str,
) -> Result<AvroSchema, String> {
    if unwrapped && let [(_, data_type)] = columns {
        return schema_of(data_type, full_name);
    }
    record_of(columns, full_name)
}

/// Checks a field name against Avro's name rules, with ksqlDB's message.
pub fn check_avro_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) if first.is_ascii_alphabetic() || first == '_' => {}
        _ => {
            return Err(format!(
                "Schema is not compatible with Avro: Illegal initial character: {name}"
            ));
        }
    }
    if chars.any(|c| !(c.is_ascii_alphanumeric() || c == '_')) {
        return Err(format!(
            "Schema is not compatible with Avro: Illegal character in: {name}"
        ));
    }
    Ok(())
}

fn record_of(columns: &[(String, DataType)], full_name: &str) -> Result<AvroSchema, String> {
    let fields = columns
        .iter()
        .map(|(name, data_type)| {
            check_avro_name(name)?;
            let schema = schema_of(data_type, &format!("{full_name}_{name}"))?;
            Ok(AvroField {
                name: name.clone(),
                schema: optional(schema),
                default: Some(JsonTree::Null),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(AvroSchema::Record(Arc::new(AvroRecord {
        name: full_name.to_string(),
        fields,
    })))
}

fn optional(schema: AvroSchema) -> AvroSchema {
    AvroSchema::Union(vec![AvroSchema::Null, schema])
}

/// The (non-null) schema of a type; STRUCTs become records named `name`.
fn schema_of(data_type: &DataType, name: &str) -> Result<AvroSchema, String> {
    Ok(match data_type {
        DataType::Boolean => AvroSchema::Boolean,
        DataType::Int => AvroSchema::Int,
        DataType::Bigint => AvroSchema::Long,
        DataType::Double => AvroSchema::Double,
        DataType::Decimal { precision, scale } => AvroSchema::Decimal {
            precision: u32::from(*precision),
            scale: u32::from(*scale),
            fixed: None,
        },
        DataType::String => AvroSchema::String,
        DataType::Bytes => AvroSchema::Bytes,
        DataType::Date => AvroSchema::Date,
        DataType::Time => AvroSchema::TimeMillis,
        DataType::Timestamp => AvroSchema::TimestampMillis,
        DataType::Array(element) => {
            AvroSchema::Array(Box::new(optional(schema_of(element, name)?)))
        }
        DataType::Map(key, value) => {
            if **key != DataType::String {
                return Err("Avro only supports MAPs with STRING keys".to_string());
            }
            AvroSchema::Map(Box::new(optional(schema_of(value, name)?)))
        }
        DataType::Struct(fields) => record_of(fields, name)?,
        DataType::Custom(type_name) => {
            return Err(format!("type \"{type_name}\" is not resolved"));
        }
    })
}

/// The ksqlDB type of an Avro schema (schema inference); `[null, T]` unions are `T`. With
/// `uppercase`, record field names are upper-cased (inference without a schema id).
pub fn sql_type_of(schema: &AvroSchema, uppercase: bool) -> Result<DataType, String> {
    Ok(match schema {
        AvroSchema::Null => return Err("Avro type null has no ksqlDB type".to_string()),
        AvroSchema::Boolean => DataType::Boolean,
        AvroSchema::Int => DataType::Int,
        AvroSchema::Long => DataType::Bigint,
        AvroSchema::Float | AvroSchema::Double => DataType::Double,
        AvroSchema::Bytes | AvroSchema::Fixed { .. } => DataType::Bytes,
        AvroSchema::String | AvroSchema::Enum(_) => DataType::String,
        AvroSchema::Record(record) => DataType::Struct(
            record
                .fields
                .iter()
                .map(|field| {
                    let name = if uppercase {
                        field.name.to_uppercase()
                    } else {
                        field.name.clone()
                    };
                    Ok((name, sql_type_of(&field.schema, uppercase)?))
                })
                .collect::<Result<Vec<_>, String>>()?,
        ),
        AvroSchema::Array(items) => DataType::Array(Box::new(sql_type_of(items, uppercase)?)),
        AvroSchema::Map(values) => DataType::Map(
            Box::new(DataType::String),
            Box::new(sql_type_of(values, uppercase)?),
        ),
        AvroSchema::Union(_) => match schema.non_null() {
            (AvroSchema::Union(_), _) => {
                return Err(format!(
                    "Avro unions other than [null, T] are not supported: {}",
                    schema.to_json()
                ));
            }
            (member, _) => sql_type_of(member, uppercase)?,
        },
        AvroSchema::Decimal {
            precision, scale, ..
        } => DataType::Decimal {
            precision: u8::try_from(*precision)
                .map_err(|_| format!("DECIMAL precision {precision} is too large"))?,
            scale: u8::try_from(*scale)
                .map_err(|_| format!("DECIMAL scale {scale} is too large"))?,
        },
        AvroSchema::Date => DataType::Date,
        AvroSchema::TimeMillis | AvroSchema::TimeMicros => DataType::Time,
        AvroSchema::TimestampMillis | AvroSchema::TimestampMicros => DataType::Timestamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(list: &[(&str, DataType)]) -> Vec<(String, DataType)> {
        list.iter()
            .map(|(name, data_type)| (name.to_string(), data_type.clone()))
            .collect()
    }

    /// Columns, unwrapped, record name, and the schema JSON or the error.
    type GenerationCase<'a> = (
        Vec<(String, DataType)>,
        bool,
        &'a str,
        Result<&'a str, &'a str>,
    );

    #[test]
    fn generated_schemas_match_ksqldb() {
        let value = format!("{AVRO_NAMESPACE}.{VALUE_RECORD_NAME}");
        let cases: Vec<GenerationCase<'_>> = vec![
            (
                columns(&[("ID", DataType::String), ("B", DataType::Bytes)]),
                false,
                &value,
                Ok(
                    r#"{"type":"record","name":"KsqlDataSourceSchema","namespace":"io.confluent.ksql.avro_schemas","fields":[{"name":"ID","type":["null","string"],"default":null},{"name":"B","type":["null","bytes"],"default":null}],"connect.name":"io.confluent.ksql.avro_schemas.KsqlDataSourceSchema"}"#,
                ),
            ),
            (
                columns(&[("K", DataType::Int)]),
                true,
                "io.confluent.ksql.avro_schemas.OutputKey",
                Ok(r#""int""#),
            ),
            (
                columns(&[(
                    "K",
                    DataType::Struct(vec![
                        ("A".into(), DataType::Int),
                        (
                            "M".into(),
                            DataType::Map(Box::new(DataType::String), Box::new(DataType::Bigint)),
                        ),
                    ]),
                )]),
                true,
                "io.confluent.ksql.avro_schemas.OutputKey",
                Ok(
                    r#"{"type":"record","name":"OutputKey","namespace":"io.confluent.ksql.avro_schemas","fields":[{"name":"A","type":["null","int"],"default":null},{"name":"M","type":["null",{"type":"map","values":["null","long"]}],"default":null}],"connect.name":"io.confluent.ksql.avro_schemas.OutputKey"}"#,
                ),
            ),
            (
                columns(&[(
                    "M",
                    DataType::Map(Box::new(DataType::Int), Box::new(DataType::Double)),
                )]),
                false,
                &value,
                Err("Avro only supports MAPs with STRING keys"),
            ),
            (
                columns(&[("1Avro", DataType::Double)]),
                false,
                &value,
                Err("Schema is not compatible with Avro: Illegal initial character: 1Avro"),
            ),
        ];
        for (columns, unwrapped, name, expected) in cases {
            let actual = avro_schema_for(&columns, unwrapped, name)
                .map(|schema| schema.to_json().to_string());
            match (actual, expected) {
                (Ok(actual), Ok(expected)) => assert_eq!(actual, expected),
                (Err(actual), Err(expected)) => assert_eq!(actual, expected),
                (actual, expected) => panic!("{actual:?} vs {expected:?}"),
            }
        }
    }

    #[test]
    fn inferred_types_follow_ksqldb_mapping() {
        let cases = [
            (r#""float""#, false, "DOUBLE"),
            (r#"["null","long"]"#, false, "BIGINT"),
            (
                r#"{"type":"enum","name":"E","symbols":["A","B"]}"#,
                false,
                "STRING",
            ),
            (
                r#"{"type":"record","name":"r","fields":[{"name":"f1","type":"int"}]}"#,
                true,
                "STRUCT<`F1` INTEGER>",
            ),
            (
                r#"{"type":"record","name":"r","fields":[{"name":"f1","type":"int"}]}"#,
                false,
                "STRUCT<`f1` INTEGER>",
            ),
            (
                r#"{"type":"map","values":"long"}"#,
                false,
                "MAP<STRING, BIGINT>",
            ),
            (
                r#"{"type":"int","logicalType":"time-millis"}"#,
                false,
                "TIME",
            ),
            (
                r#"{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}"#,
                false,
                "DECIMAL(4, 2)",
            ),
        ];
        for (text, uppercase, expected) in cases {
            let schema = AvroSchema::parse(text).expect("parses");
            let data_type = sql_type_of(&schema, uppercase).expect("maps");
            assert_eq!(crate::types::sql_type_name(&data_type), expected, "{text}");
        }
        let union = AvroSchema::parse(r#"["int","string"]"#).expect("parses");
        assert!(sql_type_of(&union, false).is_err());
    }
}
