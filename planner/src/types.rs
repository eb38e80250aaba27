//! ksqlDB SQL types and their Arrow representation.
//!
//! The mapping is fixed for the whole engine: formats, functions and state all see these
//! Arrow types. `sql_type_name` prints types the way ksqlDB does (`INTEGER`, `MAP<STRING, INTEGER>`).

use std::sync::Arc;

use arrow::datatypes::{DataType as ArrowType, Field, Fields, TimeUnit};
use parser::ast::DataType;

use crate::{PlanError, Result};

/// The Arrow type of a ksqlDB type. `Custom` types must be resolved before.
pub fn to_arrow(data_type: &DataType) -> Result<ArrowType> {
    Ok(match data_type {
        DataType::Boolean => ArrowType::Boolean,
        DataType::Int => ArrowType::Int32,
        DataType::Bigint => ArrowType::Int64,
        DataType::Double => ArrowType::Float64,
        DataType::Decimal { precision, scale } => ArrowType::Decimal128(*precision, *scale as i8),
        DataType::String => ArrowType::Utf8,
        DataType::Bytes => ArrowType::Binary,
        DataType::Date => ArrowType::Date32,
        DataType::Time => ArrowType::Time32(TimeUnit::Millisecond),
        DataType::Timestamp => ArrowType::Timestamp(TimeUnit::Millisecond, None),
        DataType::Array(element) => {
            ArrowType::List(Arc::new(Field::new("item", to_arrow(element)?, true)))
        }
        DataType::Map(key, value) => {
            let entries = Fields::from(vec![
                Field::new("key", to_arrow(key)?, false),
                Field::new("value", to_arrow(value)?, true),
            ]);
            ArrowType::Map(
                Arc::new(Field::new("entries", ArrowType::Struct(entries), false)),
                false,
            )
        }
        DataType::Struct(fields) => ArrowType::Struct(
            fields
                .iter()
                .map(|(name, field_type)| Ok(Field::new(name, to_arrow(field_type)?, true)))
                .collect::<Result<Fields>>()?,
        ),
        DataType::Custom(name) => {
            return Err(PlanError::User(format!("type \"{name}\" does not exist")));
        }
    })
}

/// The ksqlDB type of an Arrow type, for types that have one.
pub fn from_arrow(arrow_type: &ArrowType) -> Option<DataType> {
    Some(match arrow_type {
        ArrowType::Boolean => DataType::Boolean,
        ArrowType::Int8 | ArrowType::Int16 | ArrowType::Int32 => DataType::Int,
        ArrowType::Int64 | ArrowType::UInt32 | ArrowType::UInt64 => DataType::Bigint,
        ArrowType::Float16 | ArrowType::Float32 | ArrowType::Float64 => DataType::Double,
        ArrowType::Decimal128(precision, scale) => DataType::Decimal {
            precision: *precision,
            scale: (*scale).max(0) as u8,
        },
        ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View => DataType::String,
        ArrowType::Binary | ArrowType::LargeBinary | ArrowType::BinaryView => DataType::Bytes,
        ArrowType::Date32 => DataType::Date,
        ArrowType::Time32(_) | ArrowType::Time64(_) => DataType::Time,
        ArrowType::Timestamp(_, _) => DataType::Timestamp,
        ArrowType::List(field) | ArrowType::LargeList(field) => {
            DataType::Array(Box::new(from_arrow(field.data_type())?))
        }
        ArrowType::Map(entries, _) => match entries.data_type() {
            ArrowType::Struct(fields) if fields.len() == 2 => DataType::Map(
                Box::new(from_arrow(fields[0].data_type())?),
                Box::new(from_arrow(fields[1].data_type())?),
            ),
            _ => return None,
        },
        ArrowType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|field| Some((field.name().clone(), from_arrow(field.data_type())?)))
                .collect::<Option<Vec<_>>>()?,
        ),
        _ => return None,
    })
}

/// The type as ksqlDB prints it in schemas and messages.
pub fn sql_type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int => "INTEGER".into(),
        DataType::Bigint => "BIGINT".into(),
        DataType::Double => "DOUBLE".into(),
        DataType::Decimal { precision, scale } => format!("DECIMAL({precision}, {scale})"),
        DataType::String => "STRING".into(),
        DataType::Bytes => "BYTES".into(),
        DataType::Date => "DATE".into(),
        DataType::Time => "TIME".into(),
        DataType::Timestamp => "TIMESTAMP".into(),
        DataType::Array(element) => format!("ARRAY<{}>", sql_type_name(element)),
        DataType::Map(key, value) => {
            format!("MAP<{}, {}>", sql_type_name(key), sql_type_name(value))
        }
        DataType::Struct(fields) => format!(
            "STRUCT<{}>",
            fields
                .iter()
                .map(|(name, field_type)| format!("`{name}` {}", sql_type_name(field_type)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        DataType::Custom(name) => name.clone(),
    }
}

/// The ksqlDB name of an Arrow type (`sql_type_name` of `from_arrow`), or Arrow's own name.
pub fn arrow_type_name(arrow_type: &ArrowType) -> String {
    match arrow_type {
        ArrowType::Null => "null".into(),
        other => from_arrow(other)
            .map(|data_type| sql_type_name(&data_type))
            .unwrap_or_else(|| other.to_string()),
    }
}

/// ksqlDB's error for a key column `column` of type `data_type` containing a map.
pub(crate) fn map_key_error(column: &str, data_type: &DataType) -> PlanError {
    PlanError::User(format!(
        "Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `{column}`. Column type: {}. See https://github.com/confluentinc/ksql/issues/6621 for more.",
        sql_type_name(data_type)
    ))
}

/// True when the type is, or contains, a MAP (not allowed in keys).
pub fn contains_map(data_type: &DataType) -> bool {
    match data_type {
        DataType::Map(_, _) => true,
        DataType::Array(element) => contains_map(element),
        DataType::Struct(fields) => fields
            .iter()
            .any(|(_, field_type)| contains_map(field_type)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ksql_types_round_trip_through_arrow() {
        let types = vec![
            DataType::Boolean,
            DataType::Int,
            DataType::Bigint,
            DataType::Double,
            DataType::Decimal {
                precision: 4,
                scale: 2,
            },
            DataType::String,
            DataType::Bytes,
            DataType::Date,
            DataType::Time,
            DataType::Timestamp,
            DataType::Array(Box::new(DataType::Int)),
            DataType::Map(Box::new(DataType::String), Box::new(DataType::Double)),
            DataType::Struct(vec![("A".into(), DataType::String)]),
        ];
        for data_type in types {
            let arrow_type = to_arrow(&data_type).expect("maps");
            assert_eq!(from_arrow(&arrow_type), Some(data_type));
        }
    }

    #[test]
    fn type_names_match_ksqldb() {
        let cases = vec![
            (DataType::Int, "INTEGER"),
            (
                DataType::Map(Box::new(DataType::Int), Box::new(DataType::Double)),
                "MAP<INTEGER, DOUBLE>",
            ),
            (
                DataType::Struct(vec![(
                    "F".into(),
                    DataType::Map(Box::new(DataType::String), Box::new(DataType::String)),
                )]),
                "STRUCT<`F` MAP<STRING, STRING>>",
            ),
            (
                DataType::Decimal {
                    precision: 50,
                    scale: 30,
                },
                "DECIMAL(50, 30)",
            ),
        ];
        for (data_type, expected) in cases {
            assert_eq!(sql_type_name(&data_type), expected);
        }
    }
}
