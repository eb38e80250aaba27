//! Reading the `WITH` properties of CREATE statements: key and value formats, delimiters,
//! the TIMESTAMP column, counts such as PARTITIONS, and the window of windowed keys; and
//! which properties each statement takes.

use parser::ast::{Literal, WithProperties};

use super::Properties;
use crate::catalog::{
    ColumnDefinition, FormatDefinition, SourceDefinition, TimestampColumn, WindowInfo, WindowKind,
};
use crate::{PlanError, Result, user_error};

/// The `WITH` properties of every `CREATE` statement, as ksqlDB defines them.
pub(super) const COMMON_PROPERTIES: &[&str] = &[
    "KAFKA_TOPIC",
    "PARTITIONS",
    "REPLICAS",
    "RETENTION_MS",
    "CLEANUP_POLICY",
    "TIMESTAMP",
    "TIMESTAMP_FORMAT",
    "VALUE_FORMAT",
    "KEY_FORMAT",
    "FORMAT",
    "WRAP_SINGLE_VALUE",
    "VALUE_AVRO_SCHEMA_FULL_NAME",
    "KEY_SCHEMA_FULL_NAME",
    "VALUE_SCHEMA_FULL_NAME",
    "KEY_PROTOBUF_NULLABLE_REPRESENTATION",
    "VALUE_PROTOBUF_NULLABLE_REPRESENTATION",
    "KEY_DELIMITER",
    "VALUE_DELIMITER",
    "KEY_SCHEMA_ID",
    "VALUE_SCHEMA_ID",
];
/// The `WITH` properties only `CREATE STREAM` and `CREATE TABLE` (not `... AS SELECT`) take.
pub(super) const CREATE_PROPERTIES: &[&str] = &[
    "WINDOW_TYPE",
    "WINDOW_SIZE",
    "SOURCE_CONNECTOR",
    "SOURCED_BY_CONNECTOR",
];
/// The `WITH` properties of `INSERT INTO ... SELECT`.
pub(super) const INSERT_PROPERTIES: &[&str] = &["QUERY_ID"];

/// Rejects `WITH` properties the statement does not define, as ksqlDB does (a misspelt or
/// unsupported property would otherwise be ignored without a word).
pub(super) fn check_with_properties(given: &WithProperties, allowed: &[&[&str]]) -> Result<()> {
    let unknown: Vec<&str> = given
        .0
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| {
            !allowed
                .iter()
                .any(|names| names.iter().any(|known| known.eq_ignore_ascii_case(name)))
        })
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    user_error(format!(
        "Invalid config variable(s) in the WITH clause: {}",
        unknown.join(",")
    ))
}

/// `WINDOW_TYPE` and `WINDOW_SIZE` of a source over a topic with windowed keys.
pub(super) fn source_window(props: &WithProperties) -> Result<Option<WindowInfo>> {
    let Some(kind) = props.get_text("WINDOW_TYPE") else {
        if props.get_text("WINDOW_SIZE").is_some() {
            return user_error("WINDOW_SIZE should only be set if WINDOW_TYPE is set");
        }
        return Ok(None);
    };
    let kind = match kind.to_uppercase().as_str() {
        "TUMBLING" => WindowKind::Tumbling,
        "HOPPING" => WindowKind::Hopping,
        "SESSION" => WindowKind::Session,
        other => {
            return user_error(format!(
                "Invalid value {other} for property WINDOW_TYPE: String must be one of: SESSION, HOPPING, TUMBLING"
            ));
        }
    };
    let size_ms = match props.get_text("WINDOW_SIZE") {
        Some(text) => Some(parse_window_size(&text)?),
        None if kind == WindowKind::Session => None,
        None => {
            return user_error(format!(
                "{} windows require 'WINDOW_SIZE' to be provided in the WITH clause. For example: 'WINDOW_SIZE'='10 SECONDS'",
                kind.name()
            ));
        }
    };
    if kind == WindowKind::Session && size_ms.is_some() {
        return user_error("'WINDOW_SIZE' should not be provided for SESSION windows.");
    }
    Ok(Some(WindowInfo { kind, size_ms }))
}

/// `'10 SECONDS'` as milliseconds.
fn parse_window_size(text: &str) -> Result<u64> {
    let mut parts = text.split_whitespace();
    let invalid = || {
        PlanError::User(format!(
            "Invalid value {text} for property WINDOW_SIZE: Invalid duration: '{text}'. e.g. '10 SECONDS'"
        ))
    };
    let value: u64 = parts
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(invalid)?;
    let unit = parts.next().ok_or_else(invalid)?.to_uppercase();
    let factor = match unit.trim_end_matches('S') {
        "MILLISECOND" => 1,
        "SECOND" => 1_000,
        "MINUTE" => 60_000,
        "HOUR" => 3_600_000,
        "DAY" => 86_400_000,
        _ => return Err(invalid()),
    };
    Ok(value * factor)
}

/// Key and value formats from `WITH` properties, session defaults and (for CSAS) the
/// source the query reads.
pub(super) fn formats(
    props: &WithProperties,
    properties: &Properties,
    inherit: Option<&SourceDefinition>,
) -> Result<(FormatDefinition, FormatDefinition)> {
    let format = props.get_text("FORMAT").map(|f| f.to_uppercase());
    if format.is_some() {
        for part in ["KEY_FORMAT", "VALUE_FORMAT"] {
            if props.get(part).is_some() {
                return user_error(format!(
                    "Cannot supply both '{part}' and 'FORMAT' properties, as 'FORMAT' sets both key and value formats. Either use just 'FORMAT', or use 'KEY_FORMAT' and 'VALUE_FORMAT'."
                ));
            }
        }
    }
    let key_name = props
        .get_text("KEY_FORMAT")
        .map(|f| f.to_uppercase())
        .or_else(|| format.clone())
        .or_else(|| inherit.map(|source| source.key_format.name.clone()))
        .or_else(|| {
            properties
                .get("ksql.persistence.default.format.key")
                .map(|f| f.to_uppercase())
        })
        .unwrap_or_else(|| "KAFKA".into());
    let value_name = props
        .get_text("VALUE_FORMAT")
        .map(|f| f.to_uppercase())
        .or(format)
        .or_else(|| inherit.map(|source| source.value_format.name.clone()))
        .or_else(|| properties.get("ksql.persistence.default.format.value").map(|f| f.to_uppercase()))
        .ok_or_else(|| PlanError::User(
            "Statement is missing the 'VALUE_FORMAT' property from the WITH clause. Either provide one or set a default via the 'ksql.persistence.default.format.value' config."
                .into(),
        ))?;
    for name in [&key_name, &value_name] {
        if !crate::source_schema::is_known_format(name) {
            return user_error(format!("Unknown format: {name}"));
        }
    }
    let wrap = match props.get("WRAP_SINGLE_VALUE") {
        Some(Literal::Boolean(flag)) => Some(*flag),
        Some(Literal::String(text)) => Some(text.eq_ignore_ascii_case("true")),
        Some(_) => return user_error("WRAP_SINGLE_VALUE must be true or false"),
        // Not inherited from the source a query reads: only the statement and the session
        // decide (ksqlDB's value serde features).
        None => properties
            .get("ksql.persistence.wrap.single.values")
            .map(|text| text.eq_ignore_ascii_case("true")),
    };
    let key_delimiter =
        delimiter(props, "KEY_DELIMITER")?.or_else(|| inherit.and_then(|s| s.key_format.delimiter));
    let value_delimiter = delimiter(props, "VALUE_DELIMITER")?
        .or_else(|| inherit.and_then(|s| s.value_format.delimiter));
    Ok((
        FormatDefinition {
            name: key_name,
            wrap_single_value: None,
            delimiter: key_delimiter,
            schema: None,
        },
        FormatDefinition {
            name: value_name,
            wrap_single_value: wrap,
            delimiter: value_delimiter,
            schema: None,
        },
    ))
}

fn delimiter(props: &WithProperties, name: &str) -> Result<Option<char>> {
    let Some(text) = props.get_text(name) else {
        return Ok(None);
    };
    let delimiter = match text.to_uppercase().as_str() {
        "TAB" => '\t',
        "SPACE" => ' ',
        // ksqlDB checks the property when it prepares the statement: blank is refused.
        _ if text.trim().is_empty() => {
            return user_error(format!(
                "Failed to prepare statement: Configuration {name} is invalid: Delimiter cannot be empty, if you meant to have a tab or space for delimiter, please use the special values 'TAB' or 'SPACE'\nExample valid value: ';'"
            ));
        }
        _ if text.chars().count() == 1 => text.chars().next().expect("one char"),
        _ => {
            return user_error(format!(
                "Invalid delimiter value: '{text}'. Delimiter must be a single character or TAB or SPACE"
            ));
        }
    };
    Ok(Some(delimiter))
}

pub(super) fn timestamp_column(
    props: &WithProperties,
    columns: &[ColumnDefinition],
) -> Result<Option<TimestampColumn>> {
    let Some(name) = props.get_text("TIMESTAMP") else {
        return Ok(None);
    };
    let name = if name.starts_with('`') && name.ends_with('`') && name.len() > 1 {
        name[1..name.len() - 1].to_string()
    } else {
        name.to_uppercase()
    };
    let Some(column) = columns.iter().find(|c| c.name == name) else {
        return user_error(format!(
            "The TIMESTAMP column set in the WITH clause does not exist in the schema: '{name}'"
        ));
    };
    let format = props.get_text("TIMESTAMP_FORMAT");
    match (&column.data_type, &format) {
        (parser::ast::DataType::Bigint | parser::ast::DataType::Timestamp, None)
        | (parser::ast::DataType::String, Some(_)) => {}
        (parser::ast::DataType::String, None) => {
            return user_error(
                "A String timestamp field has been specified without also specifying the TIMESTAMP_FORMAT property",
            );
        }
        _ => {
            return user_error(format!(
                "Timestamp column, `{name}`, should be LONG(INT64), TIMESTAMP, or a String with a TIMESTAMP_FORMAT specified."
            ));
        }
    }
    if let Some(format) = &format
        && crate::functions::TimestampFormat::compile(format).is_none()
    {
        return user_error(format!("Invalid TIMESTAMP_FORMAT: '{format}'"));
    }
    Ok(Some(TimestampColumn {
        column: name,
        format,
    }))
}

pub(super) fn parse_u32(props: &WithProperties, name: &str) -> Result<Option<u32>> {
    match props.get_text(name) {
        None => Ok(None),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|value| *value > 0)
            .map(Some)
            .ok_or_else(|| PlanError::User(format!("Invalid value for {name}: {text}"))),
    }
}
