//! `SET` and `UNSET` of session properties.

use crate::engine::{Session, StatementOutput};
use crate::{Result, user_error};

/// Properties a session may set, with their accepted values (None = any).
const KNOWN: &[(&str, Option<&[&str]>)] = &[
    ("auto.offset.reset", Some(&["earliest", "latest"])),
    (
        "ksql.streams.auto.offset.reset",
        Some(&["earliest", "latest"]),
    ),
    ("ksql.persistence.default.format.key", None),
    ("ksql.persistence.default.format.value", None),
    (
        "ksql.persistence.wrap.single.values",
        Some(&["true", "false"]),
    ),
    ("cache.max.bytes.buffering", None),
    ("ksql.streams.cache.max.bytes.buffering", None),
];

/// The canonical name of a property (`ksql.streams.` prefix removed for offsets).
fn canonical(name: &str) -> &str {
    name.strip_prefix("ksql.streams.").unwrap_or(name)
}

pub fn set(session: &mut Session, name: &str, value: &str) -> Result<StatementOutput> {
    let Some((_, allowed)) = KNOWN.iter().find(|(known, _)| *known == name) else {
        return user_error(format!("Unknown property: {name}"));
    };
    if let Some(allowed) = allowed
        && !allowed.contains(&value.to_ascii_lowercase().as_str())
    {
        return user_error(format!(
            "Invalid value {value} for configuration {name}: String must be one of: {}",
            allowed.join(", ")
        ));
    }
    session
        .properties
        .insert(canonical(name).to_string(), value.to_string());
    Ok(StatementOutput::Message(format!(
        "Successfully changed local property '{name}' to '{value}'."
    )))
}

pub fn unset(session: &mut Session, name: &str) -> Result<StatementOutput> {
    session.properties.remove(canonical(name));
    Ok(StatementOutput::Message(format!(
        "Successfully unset local property '{name}'."
    )))
}

/// Rows for `SHOW PROPERTIES`.
pub fn show(session: &Session) -> Vec<Vec<String>> {
    let mut rows = vec![vec![
        "auto.offset.reset".to_string(),
        "SESSION".to_string(),
        session
            .properties
            .get("auto.offset.reset")
            .cloned()
            .unwrap_or_else(|| "latest".into()),
    ]];
    for (name, value) in &session.properties {
        if name != "auto.offset.reset" {
            rows.push(vec![name.clone(), "SESSION".into(), value.clone()]);
        }
    }
    rows
}
