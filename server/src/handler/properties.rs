//! `SET` and `UNSET` of session properties.

use crate::engine::Session;
use crate::result::{PropertyValue, StatementResult};
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
    ("max.poll.records", None),
    ("ksql.streams.max.poll.records", None),
];

/// Properties whose value is a positive number (as Kafka's `ConfigDef` checks them).
const POSITIVE_INTS: &[&str] = &["max.poll.records"];

/// The canonical name of a property (`ksql.streams.` prefix removed for offsets).
fn canonical(name: &str) -> &str {
    name.strip_prefix("ksql.streams.").unwrap_or(name)
}

pub fn set(session: &mut Session, name: &str, value: &str) -> Result<StatementResult> {
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
    if POSITIVE_INTS.contains(&canonical(name)) {
        match value.trim().parse::<i64>() {
            Err(_) => {
                return user_error(format!(
                    "Invalid value {value} for configuration {name}: Not a number of type INT"
                ));
            }
            Ok(number) if number < 1 => {
                return user_error(format!(
                    "Invalid value {value} for configuration {name}: Value must be at least 1"
                ));
            }
            Ok(_) => {}
        }
    }
    session
        .properties
        .insert(canonical(name).to_string(), value.to_string());
    Ok(StatementResult::PropertySet {
        name: name.to_string(),
        value: value.to_string(),
    })
}

pub fn unset(session: &mut Session, name: &str) -> Result<StatementResult> {
    session.properties.remove(canonical(name));
    Ok(StatementResult::PropertyUnset {
        name: name.to_string(),
    })
}

/// The properties `SHOW PROPERTIES` lists: `auto.offset.reset` first, then the others the
/// session sets.
pub fn show(session: &Session) -> Vec<PropertyValue> {
    let property = |name: &str, value: String| PropertyValue {
        name: name.to_string(),
        scope: "SESSION".to_string(),
        value,
    };
    let mut properties = vec![property(
        "auto.offset.reset",
        session
            .properties
            .get("auto.offset.reset")
            .cloned()
            .unwrap_or_else(|| "latest".into()),
    )];
    for (name, value) in &session.properties {
        if name != "auto.offset.reset" {
            properties.push(property(name, value.clone()));
        }
    }
    properties
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_poll_records_must_be_a_positive_int() {
        let mut session = Session::default();
        let cases = [
            ("max.poll.records", "abc", Some("Not a number of type INT")),
            ("max.poll.records", "0", Some("Value must be at least 1")),
            (
                "ksql.streams.max.poll.records",
                "-5",
                Some("Value must be at least 1"),
            ),
            ("ksql.streams.max.poll.records", "500", None),
        ];
        for (name, value, error) in cases {
            match (set(&mut session, name, value), error) {
                (Ok(_), None) => {}
                (Err(failure), Some(expected)) => {
                    let message = failure.to_string();
                    assert!(
                        message
                            .contains(&format!("Invalid value {value} for configuration {name}"))
                            && message.contains(expected),
                        "SET {name}={value}: {message}"
                    );
                }
                (Ok(_), Some(_)) => panic!("SET {name}={value} was accepted"),
                (Err(failure), None) => panic!("SET {name}={value}: {failure}"),
            }
        }
        // Only the accepted value is kept, under the name without `ksql.streams.`.
        assert_eq!(
            session
                .properties
                .get("max.poll.records")
                .map(String::as_str),
            Some("500")
        );
    }
}
