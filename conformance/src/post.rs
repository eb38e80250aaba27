//! `post` checks of a case, where Eddy has the concept: sources (kind, schema, formats,
//! single-value wrapping, read-only), forbidden topic names, and topics that must exist.
//!
//! Not checked, because Eddy has no such thing: ksqlDB's internal topics
//! (`_confluent-ksql-...` changelogs and repartitions), window types and sizes in key formats,
//! schemas and schema ids in the registry, format properties.

use executor::TopicDescription;
use parser::ast::{DataType, SourceKind};
use planner::Catalog;
use planner::catalog::{ColumnKind, SourceDefinition};
use regex::Regex;

use crate::json::Json;

/// Checks the `post` object of a case against the final catalog and topics.
pub fn check_post(
    post: &Json,
    catalog: &Catalog,
    topics: &[TopicDescription],
) -> Result<(), String> {
    for expected in post
        .get("sources")
        .and_then(Json::as_array)
        .unwrap_or_default()
    {
        check_source(expected, catalog)?;
    }
    if let Some(topic_checks) = post.get_present("topics") {
        if let Some(pattern) = topic_checks.get("blacklist").and_then(Json::as_str) {
            let regex = Regex::new(&format!("^(?:{pattern})$"))
                .map_err(|error| format!("post: invalid topic blacklist {pattern:?}: {error}"))?;
            if let Some(topic) = topics.iter().find(|topic| regex.is_match(&topic.name)) {
                return Err(format!(
                    "post: topic {} exists but matches the blacklist {pattern:?}",
                    topic.name
                ));
            }
        }
        for expected in topic_checks
            .get("topics")
            .and_then(Json::as_array)
            .unwrap_or_default()
        {
            check_topic(expected, catalog, topics)?;
        }
    }
    Ok(())
}

fn check_source(expected: &Json, catalog: &Catalog) -> Result<(), String> {
    let name = expected
        .get("name")
        .and_then(Json::as_str)
        .ok_or("post: source without a name")?;
    let source = catalog
        .source(name)
        .ok_or_else(|| format!("post: source {name} does not exist"))?;
    if let Some(kind) = expected.get("type").and_then(Json::as_str) {
        let actual = match source.kind {
            SourceKind::Stream => "stream",
            SourceKind::Table => "table",
        };
        if !kind.eq_ignore_ascii_case(actual) {
            return Err(format!(
                "post: source {name} is a {actual}, expected a {kind}"
            ));
        }
    }
    if let Some(schema) = expected.get("schema").and_then(Json::as_str) {
        let wanted = parse_schema(schema, true);
        let actual = parse_schema(&source.schema_text(), false);
        if wanted != actual {
            return Err(format!(
                "post: source {name} has schema {}, expected {schema}",
                source.schema_text()
            ));
        }
    }
    if let Some(format) = expected
        .get_present("keyFormat")
        .and_then(|format| format.get("format"))
        .and_then(Json::as_str)
        && !format.eq_ignore_ascii_case(&source.key_format.name)
    {
        return Err(format!(
            "post: source {name} has key format {}, expected {format}",
            source.key_format.name
        ));
    }
    if let Some(format) = expected.get_present("valueFormat") {
        let format = format
            .as_str()
            .or_else(|| format.get("format").and_then(Json::as_str))
            .unwrap_or_default();
        if !format.eq_ignore_ascii_case(&source.value_format.name) {
            return Err(format!(
                "post: source {name} has value format {}, expected {format}",
                source.value_format.name
            ));
        }
    }
    for (field, key) in [("keyFeatures", true), ("valueFeatures", false)] {
        if let Some(features) = expected.get_present(field).and_then(Json::as_array) {
            let mut wanted: Vec<String> = features
                .iter()
                .filter_map(|feature| feature.as_str().map(str::to_uppercase))
                .collect();
            wanted.sort();
            let actual = serde_features(source, key);
            if wanted != actual {
                return Err(format!(
                    "post: source {name} has {field} {actual:?}, expected {wanted:?}"
                ));
            }
        }
    }
    if let Some(is_source) = expected.get("isSource").and_then(Json::as_bool)
        && is_source != source.is_source
    {
        return Err(format!(
            "post: source {name} has isSource {}, expected {is_source}",
            source.is_source
        ));
    }
    Ok(())
}

/// The serde features ksqlDB would report: explicit `WRAP_SINGLE_VALUE`, and for a single key
/// column in a format that can wrap, `UNWRAP_SINGLES` unless wrapping was asked for.
fn serde_features(source: &SourceDefinition, key: bool) -> Vec<String> {
    let (format, columns) = if key {
        (&source.key_format, source.key_columns().count())
    } else {
        (&source.value_format, source.value_columns().count())
    };
    let can_wrap = matches!(
        format.name.to_ascii_uppercase().as_str(),
        "JSON" | "JSON_SR" | "AVRO" | "PROTOBUF" | "PROTOBUF_NOSR"
    );
    let feature = match format.wrap_single_value {
        Some(true) => Some("WRAP_SINGLES"),
        Some(false) => Some("UNWRAP_SINGLES"),
        None if key && can_wrap && columns == 1 => Some("UNWRAP_SINGLES"),
        None => None,
    };
    feature.into_iter().map(str::to_string).collect()
}

fn check_topic(
    expected: &Json,
    catalog: &Catalog,
    topics: &[TopicDescription],
) -> Result<(), String> {
    let name = expected
        .get("name")
        .and_then(Json::as_str)
        .ok_or("post: topic without a name")?;
    if name.starts_with("_confluent-ksql-") {
        return Ok(());
    }
    let Some(topic) = topics.iter().find(|topic| topic.name == name) else {
        return Err(format!("post: topic {name} does not exist"));
    };
    if let Some(partitions) = expected.get("partitions").and_then(Json::as_i64)
        && i64::from(topic.partitions) != partitions
    {
        return Err(format!(
            "post: topic {name} has {} partitions, expected {partitions}",
            topic.partitions
        ));
    }
    let sources: Vec<&SourceDefinition> = catalog
        .sources()
        .filter(|source| source.topic == name)
        .collect();
    if sources.is_empty() {
        return Ok(());
    }
    for (field, key) in [("keyFormat", true), ("valueFormat", false)] {
        let Some(format) = expected
            .get_present(field)
            .and_then(|format| format.get("format"))
            .and_then(Json::as_str)
        else {
            continue;
        };
        let matches = sources.iter().any(|source| {
            let actual = if key {
                &source.key_format
            } else {
                &source.value_format
            };
            actual.name.eq_ignore_ascii_case(format)
        });
        if !matches {
            return Err(format!(
                "post: topic {name} has no source with {field} {format}"
            ));
        }
    }
    Ok(())
}

/// A column of a schema as compared: name, type, and where it lives.
#[derive(Debug, PartialEq)]
struct SchemaColumn {
    name: String,
    data_type: Result<DataType, String>,
    kind: ColumnKind,
}

/// Parses `NAME TYPE [KEY|PRIMARY KEY|HEADERS|HEADER('k')], ...`; types are parsed with
/// Eddy's parser (text is compared when that fails). With `upper`, unquoted names are
/// upper-cased as ksqlDB's parser does (Eddy's own schema text prints names verbatim).
fn parse_schema(schema: &str, upper: bool) -> Vec<SchemaColumn> {
    split_top_level(schema)
        .into_iter()
        .filter(|column| !column.trim().is_empty())
        .map(|column| {
            let column = column.trim();
            let (name, rest) = split_name(column, upper);
            let upper = rest.to_uppercase();
            let (type_text, kind) = if let Some(prefix) = upper.strip_suffix(" PRIMARY KEY") {
                (&rest[..prefix.len()], ColumnKind::Key)
            } else if let Some(prefix) = upper.strip_suffix(" KEY") {
                (&rest[..prefix.len()], ColumnKind::Key)
            } else if let Some(prefix) = upper.strip_suffix(" HEADERS") {
                (&rest[..prefix.len()], ColumnKind::Headers)
            } else if let Some(position) = upper.rfind(" HEADER(") {
                let header = rest[position + 8..]
                    .trim_end_matches(')')
                    .trim_matches('\'')
                    .to_string();
                (&rest[..position], ColumnKind::Header(header))
            } else {
                (rest, ColumnKind::Value)
            };
            let type_text = type_text.trim();
            SchemaColumn {
                name,
                data_type: parser::parse_data_type(type_text)
                    .map_err(|_| type_text.to_uppercase().replace(' ', "")),
                kind,
            }
        })
        .collect()
}

/// The column name (backticks removed; unquoted and `upper`, upper-cased) and the rest.
fn split_name(column: &str, upper: bool) -> (String, &str) {
    if let Some(rest) = column.strip_prefix('`')
        && let Some(end) = rest.find('`')
    {
        return (rest[..end].to_string(), &rest[end + 1..]);
    }
    let name = |name: &str| {
        if upper {
            name.to_uppercase()
        } else {
            name.to_string()
        }
    };
    match column.split_once(char::is_whitespace) {
        Some((first, rest)) => (name(first), rest),
        None => (name(column), ""),
    }
}

/// Splits on commas outside `<>`, `()` and backticks.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut start = 0;
    for (index, c) in text.char_indices() {
        match c {
            '`' => quoted = !quoted,
            '<' | '(' if !quoted => depth += 1,
            '>' | ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                parts.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_compare_parsed() {
        let cases = [
            ("ID INT KEY, V STRING", "ID INTEGER KEY, V STRING", true),
            (
                "ID BIGINT PRIMARY KEY, V STRING",
                "ID BIGINT KEY, V STRING",
                true,
            ),
            (
                "K STRING KEY, S STRUCT<A INT, `b` MAP<STRING, DOUBLE>>",
                "K STRING KEY, S STRUCT<`A` INTEGER, `b` MAP<STRING, DOUBLE>>",
                true,
            ),
            ("ID INT KEY, V STRING", "ID INT, V STRING", false),
            ("ID INT KEY, V STRING", "ID INT KEY, V BIGINT", false),
            ("ID INT KEY, V STRING", "ID INT KEY, W STRING", false),
            ("hex STRING, b1 BYTES", "HEX STRING, B1 BYTES", true),
            ("`hex` STRING", "HEX STRING", false),
            ("`c1` INT", "c1 INTEGER", true),
            (
                "H ARRAY<STRUCT<KEY STRING, VALUE BYTES>> HEADERS",
                "H ARRAY<STRUCT<KEY STRING, VALUE BYTES>> HEADERS",
                true,
            ),
            // ksqlDB upper-cases unquoted names of the expected schema.
            ("id INT KEY, val INT", "ID INT KEY, VAL INT", true),
            ("`id` INT KEY", "ID INT KEY", false),
        ];
        for (left, right, equal) in cases {
            assert_eq!(
                parse_schema(left, true) == parse_schema(right, false),
                equal,
                "{left} vs {right}"
            );
        }
    }
}
