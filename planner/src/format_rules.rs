//! Which columns a source's key and value formats can hold, checked when the source is
//! declared (`CREATE STREAM/TABLE`) or a query's sink is (`CREATE ... AS SELECT`), with
//! ksqlDB's messages: a rejected statement changes nothing, and no query starts only to fail
//! on its first record.
//!
//! The executor's codecs check the same rules on the Arrow types they are built for; this
//! module checks them on the SQL types, before anything runs.

use parser::ast::DataType;

use crate::catalog::{ColumnDefinition, ColumnKind, FormatDefinition};
use crate::types::sql_type_name;
use crate::{PlanError, Result};

/// Checks the key and value formats of a source against its columns. `explicit_wrap`: the
/// statement's `WITH` clause sets `WRAP_SINGLE_VALUE` (the session default only applies to
/// single-field values, so it is never an error).
pub(crate) fn check_formats(
    columns: &[ColumnDefinition],
    key_format: &FormatDefinition,
    value_format: &FormatDefinition,
    explicit_wrap: bool,
) -> Result<()> {
    let keys: Vec<&ColumnDefinition> = columns
        .iter()
        .filter(|column| column.kind == ColumnKind::Key)
        .collect();
    let values: Vec<&ColumnDefinition> = columns
        .iter()
        .filter(|column| column.kind == ColumnKind::Value)
        .collect();
    for key in &keys {
        if crate::types::contains_map(&key.data_type) {
            return Err(crate::types::map_key_error(&key.name, &key.data_type));
        }
    }
    if !keys.is_empty()
        && let Err(reason) = check_part(&key_format.name, &keys, Part::Key)
    {
        return Err(PlanError::User(format!(
            "Key format does not support schema.\nformat: {}\nschema: Persistence{{columns={}, features=[]}}\nreason: {reason}",
            key_format.name,
            column_list(&keys, Part::Key)
        )));
    }
    check_wrapping(value_format, values.len(), explicit_wrap)?;
    check_part(&value_format.name, &values, Part::Value).map_err(PlanError::User)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Key,
    Value,
}

/// `WRAP_SINGLE_VALUE` in the statement: refused by the formats that never wrap, and valid
/// only for one value column. (The session default applies where it can, silently.)
fn check_wrapping(format: &FormatDefinition, values: usize, explicit: bool) -> Result<()> {
    if !explicit {
        return Ok(());
    }
    if format.wrap_single_value == Some(true)
        && matches!(format.name.as_str(), "KAFKA" | "DELIMITED")
    {
        return Err(PlanError::User(format!(
            "Format '{}' does not support 'WRAP_SINGLE_VALUE' set to 'true'.",
            format.name
        )));
    }
    if format.wrap_single_value.is_some() && values != 1 {
        return Err(PlanError::User(
            "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas".into(),
        ));
    }
    Ok(())
}

/// Whether format `format` can hold `columns`; the reason it cannot, as ksqlDB words it.
fn check_part(format: &str, columns: &[&ColumnDefinition], part: Part) -> Result<(), String> {
    match format {
        "KAFKA" => {
            if columns.len() > 1 {
                return Err(format!(
                    "The 'KAFKA' format only supports a single field. Got: {}",
                    column_list(columns, part)
                ));
            }
            if let Some(column) = columns.iter().find(|c| !kafka_supports(&c.data_type)) {
                return Err(format!(
                    "The 'KAFKA' format does not support type '{}'",
                    base_type_name(&column.data_type)
                ));
            }
        }
        "DELIMITED" => {
            if let Some(column) = columns.iter().find(|c| !is_primitive(&c.data_type)) {
                return Err(format!(
                    "The 'DELIMITED' format does not support type '{}', column: `{}`",
                    base_type_name(&column.data_type),
                    column.name
                ));
            }
        }
        "NONE" if !columns.is_empty() => {
            return Err(format!(
                "The 'NONE' format can only be used when no columns are defined. Got: {}",
                column_list(columns, part)
            ));
        }
        "JSON" | "JSON_SR" => {
            non_string_map_keys(columns, "JSON only supports MAP types with STRING keys")?
        }
        "AVRO" => non_string_map_keys(columns, "Avro only supports MAPs with STRING keys")?,
        "PROTOBUF" | "PROTOBUF_NOSR" => non_string_map_keys(
            columns,
            "PROTOBUF format only supports MAP types with STRING keys",
        )?,
        _ => {}
    }
    Ok(())
}

fn non_string_map_keys(columns: &[&ColumnDefinition], message: &str) -> Result<(), String> {
    if columns
        .iter()
        .any(|column| has_non_string_map_key(&column.data_type))
    {
        return Err(message.to_string());
    }
    Ok(())
}

fn has_non_string_map_key(data_type: &DataType) -> bool {
    match data_type {
        DataType::Map(key, value) => **key != DataType::String || has_non_string_map_key(value),
        DataType::Array(element) => has_non_string_map_key(element),
        DataType::Struct(fields) => fields
            .iter()
            .any(|(_, field_type)| has_non_string_map_key(field_type)),
        _ => false,
    }
}

/// The KAFKA format: one INT, BIGINT, DOUBLE, STRING or BYTES.
fn kafka_supports(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int | DataType::Bigint | DataType::Double | DataType::String | DataType::Bytes
    )
}

/// The DELIMITED format: no ARRAY, MAP or STRUCT.
fn is_primitive(data_type: &DataType) -> bool {
    !matches!(
        data_type,
        DataType::Array(_) | DataType::Map(_, _) | DataType::Struct(_)
    )
}

/// `INTEGER`, `DECIMAL`, `ARRAY`, ...: the type without its parameters.
fn base_type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Decimal { .. } => "DECIMAL".into(),
        DataType::Array(_) => "ARRAY".into(),
        DataType::Map(_, _) => "MAP".into(),
        DataType::Struct(_) => "STRUCT".into(),
        other => sql_type_name(other),
    }
}

/// ``[`A` INTEGER KEY, `B` STRING KEY]``, as ksqlDB lists a schema's columns.
fn column_list(columns: &[&ColumnDefinition], part: Part) -> String {
    let suffix = match part {
        Part::Key => " KEY",
        Part::Value => "",
    };
    let listed: Vec<String> = columns
        .iter()
        .map(|column| {
            format!(
                "`{}` {}{suffix}",
                column.name,
                sql_type_name(&column.data_type)
            )
        })
        .collect();
    format!("[{}]", listed.join(", "))
}

#[cfg(test)]
mod tests;
