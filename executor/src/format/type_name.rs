//! ksqlDB's names for the Arrow types of columns, for error messages.
//!
//! The planner fixes the mapping (INT = Int32, STRING = Utf8, ...); this module only reads
//! it back. Three spellings exist in ksqlDB's messages: the base type (`INTEGER`), the SQL
//! type (`ARRAY<INTEGER>`) and Kafka Connect's (`ARRAY<INT>`, used by the JSON coercions).

use arrow::datatypes::{DataType, Fields, TimeUnit};

/// The SQL base type: `BOOLEAN`, `INTEGER`, ... `ARRAY`, `MAP`, `STRUCT`; `None` outside
/// ksqlDB's mapping.
pub(crate) fn base_type_name(data_type: &DataType) -> Option<&'static str> {
    Some(match data_type {
        DataType::Boolean => "BOOLEAN",
        DataType::Int32 => "INTEGER",
        DataType::Int64 => "BIGINT",
        DataType::Float64 => "DOUBLE",
        DataType::Decimal128(_, _) => "DECIMAL",
        DataType::Utf8 => "STRING",
        DataType::Binary => "BYTES",
        DataType::Date32 => "DATE",
        DataType::Time32(TimeUnit::Millisecond) => "TIME",
        DataType::Timestamp(TimeUnit::Millisecond, None) => "TIMESTAMP",
        DataType::List(_) => "ARRAY",
        DataType::Map(_, _) => "MAP",
        DataType::Struct(_) => "STRUCT",
        _ => return None,
    })
}

/// The SQL type: `INTEGER`, `DECIMAL(4, 2)`, `ARRAY<STRING>`, ``STRUCT<`A` INTEGER>``.
pub(crate) fn sql_type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Decimal128(precision, scale) => format!("DECIMAL({precision}, {scale})"),
        DataType::List(item) => format!("ARRAY<{}>", sql_type_name(item.data_type())),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(fields) if fields.len() == 2 => format!(
                "MAP<{}, {}>",
                sql_type_name(fields[0].data_type()),
                sql_type_name(fields[1].data_type())
            ),
            other => other.to_string(),
        },
        DataType::Struct(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|field| format!("`{}` {}", field.name(), sql_type_name(field.data_type())))
                .collect();
            format!("STRUCT<{}>", fields.join(", "))
        }
        other => base_type_name(other)
            .map(str::to_string)
            .unwrap_or_else(|| other.to_string()),
    }
}

/// Kafka Connect's spelling, as ksqlDB's JSON deserializer prints a required type:
/// `INT`, `VARCHAR`, `MAP<VARCHAR, INT>`, `STRUCT<A INT>`.
pub(crate) fn connect_type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Int32 => "INT".to_string(),
        DataType::Utf8 => "VARCHAR".to_string(),
        DataType::Decimal128(precision, scale) => format!("DECIMAL({precision}, {scale})"),
        DataType::List(item) => format!("ARRAY<{}>", connect_type_name(item.data_type())),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(fields) if fields.len() == 2 => format!(
                "MAP<{}, {}>",
                connect_type_name(fields[0].data_type()),
                connect_type_name(fields[1].data_type())
            ),
            other => other.to_string(),
        },
        DataType::Struct(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|field| format!("{} {}", field.name(), connect_type_name(field.data_type())))
                .collect();
            format!("STRUCT<{}>", fields.join(", "))
        }
        other => base_type_name(other)
            .map(str::to_string)
            .unwrap_or_else(|| other.to_string()),
    }
}

/// The columns as ksqlDB lists them in errors: ``[`A` INTEGER, `B` STRING]``.
pub(crate) fn column_list(fields: &Fields) -> String {
    let columns: Vec<String> = fields
        .iter()
        .map(|field| format!("`{}` {}", field.name(), sql_type_name(field.data_type())))
        .collect();
    format!("[{}]", columns.join(", "))
}

/// The first type in `data_type` (itself or nested) outside ksqlDB's mapping.
pub(crate) fn find_unsupported(data_type: &DataType) -> Option<&DataType> {
    if base_type_name(data_type).is_none() {
        return Some(data_type);
    }
    match data_type {
        DataType::List(item) => find_unsupported(item.data_type()),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(fields) if fields.len() == 2 => fields
                .iter()
                .find_map(|field| find_unsupported(field.data_type())),
            _ => Some(data_type),
        },
        DataType::Struct(fields) => fields
            .iter()
            .find_map(|field| find_unsupported(field.data_type())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::Field;

    use super::*;

    fn map(key: DataType, value: DataType) -> DataType {
        let entries = Fields::from(vec![
            Field::new("key", key, false),
            Field::new("value", value, true),
        ]);
        DataType::Map(
            Arc::new(Field::new("entries", DataType::Struct(entries), false)),
            false,
        )
    }

    #[test]
    fn types_are_named_like_ksqldb() {
        let list = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
        let structs = DataType::Struct(Fields::from(vec![
            Field::new("A", DataType::Int32, true),
            Field::new("B", DataType::Decimal128(4, 2), true),
        ]));
        let cases = [
            (DataType::Int32, "INTEGER", "INT"),
            (DataType::Utf8, "STRING", "VARCHAR"),
            (
                DataType::Timestamp(TimeUnit::Millisecond, None),
                "TIMESTAMP",
                "TIMESTAMP",
            ),
            (list, "ARRAY<STRING>", "ARRAY<VARCHAR>"),
            (
                map(DataType::Utf8, DataType::Int32),
                "MAP<STRING, INTEGER>",
                "MAP<VARCHAR, INT>",
            ),
            (
                structs,
                "STRUCT<`A` INTEGER, `B` DECIMAL(4, 2)>",
                "STRUCT<A INT, B DECIMAL(4, 2)>",
            ),
        ];
        for (data_type, sql, connect) in cases {
            assert_eq!(sql_type_name(&data_type), sql);
            assert_eq!(connect_type_name(&data_type), connect);
        }
    }

    #[test]
    fn types_outside_the_mapping_are_found() {
        let nested = DataType::List(Arc::new(Field::new("item", DataType::Float32, true)));
        assert_eq!(find_unsupported(&nested), Some(&DataType::Float32));
        assert_eq!(
            find_unsupported(&map(DataType::Utf8, DataType::Int8)),
            Some(&DataType::Int8)
        );
        assert_eq!(
            find_unsupported(&map(DataType::Utf8, DataType::Int64)),
            None
        );
        assert_eq!(
            find_unsupported(&DataType::Time32(TimeUnit::Second)),
            Some(&DataType::Time32(TimeUnit::Second))
        );
    }
}
