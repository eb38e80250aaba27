//! Expected records against the records a topic holds, with the rules of ksqlDB's
//! `ExpectedRecordComparator` (see `CORPUS_FORMAT.md`, "How a qtt case is run and judged").
//!
//! A topic's records must match in count and order; across partitions any interleaving is
//! accepted. Keys and values are compared in `values`.

mod values;

use executor::Record;
use parser::ast::DataType;

use crate::base64;
use crate::codec::{PayloadSchema, split_windowed_key};
use crate::corpus::{TestRecord, WindowKind};
use crate::json::Json;

use self::values::values_match;

/// What the runner knows about the type of a decoded payload or part of it.
#[derive(Debug, Clone, Copy)]
pub enum Hint<'a> {
    Unknown,
    Type(&'a DataType),
    /// The columns of a key or value (wrapped in an object, or one unwrapped column).
    Row(&'a [(String, DataType)]),
}

/// How numbers are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompareOptions {
    /// `use.exact.numeric.comparison`: false compares every number as a double.
    pub exact_numeric: bool,
    /// The case has no inputs: an expected timestamp of 0 matches any timestamp.
    pub accept_zero_timestamp: bool,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            exact_numeric: true,
            accept_zero_timestamp: false,
        }
    }
}

/// Longest record description in a failure reason.
const MAX_DESCRIPTION: usize = 400;

/// A record read back from a topic.
#[derive(Debug, Clone)]
pub struct ActualRecord {
    pub partition: u32,
    pub offset: u64,
    pub record: Record,
}

/// The key and value schemas of a topic.
#[derive(Debug, Clone)]
pub struct TopicSchemas {
    pub key: PayloadSchema,
    pub value: PayloadSchema,
}

/// Checks that `actual` (all records of `topic`, each partition in offset order) holds exactly
/// the `expected` records in order. The error names the first differing record.
pub fn compare_topic(
    topic: &str,
    expected: &[&TestRecord],
    actual: &[ActualRecord],
    schemas: &TopicSchemas,
    options: CompareOptions,
) -> Result<(), String> {
    let mut partitions: Vec<u32> = actual.iter().map(|record| record.partition).collect();
    partitions.sort_unstable();
    partitions.dedup();
    let mut queues: Vec<std::collections::VecDeque<&ActualRecord>> = partitions
        .iter()
        .map(|partition| {
            let mut records: Vec<&ActualRecord> = actual
                .iter()
                .filter(|record| record.partition == *partition)
                .collect();
            records.sort_by_key(|record| record.offset);
            records.into()
        })
        .collect();
    let counts = || format!("expected {} records, got {}", expected.len(), actual.len());
    for (index, wanted) in expected.iter().enumerate() {
        let mut first_difference: Option<(&ActualRecord, String)> = None;
        let mut matched = None;
        for (queue_index, queue) in queues.iter().enumerate() {
            let Some(head) = queue.front() else {
                continue;
            };
            match record_matches(wanted, head, schemas, options) {
                Ok(()) => {
                    matched = Some(queue_index);
                    break;
                }
                Err(difference) => {
                    if first_difference.is_none() {
                        first_difference = Some((head, difference));
                    }
                }
            }
        }
        match (matched, first_difference) {
            (Some(queue_index), _) => {
                queues[queue_index].pop_front();
            }
            (None, Some((head, difference))) => {
                return Err(format!(
                    "topic {topic}: record {index}: expected {}, actual {} ({difference}; {})",
                    describe_expected(wanted),
                    describe_actual(head, schemas, wanted.window.map(|w| w.kind)),
                    counts()
                ));
            }
            (None, None) => {
                return Err(format!(
                    "topic {topic}: record {index}: expected {}, actual none ({})",
                    describe_expected(wanted),
                    counts()
                ));
            }
        }
    }
    if let Some(extra) = queues.iter().find_map(|queue| queue.front()) {
        return Err(format!(
            "topic {topic}: record {}: expected none, actual {} ({})",
            expected.len(),
            describe_actual(
                extra,
                schemas,
                expected.last().and_then(|r| r.window.map(|w| w.kind))
            ),
            counts()
        ));
    }
    Ok(())
}

/// Whether one actual record matches one expected record; the error says what differs.
pub fn record_matches(
    expected: &TestRecord,
    actual: &ActualRecord,
    schemas: &TopicSchemas,
    options: CompareOptions,
) -> Result<(), String> {
    let record = &actual.record;
    if !schemas.key.ignored() {
        let mut key_bytes = record.key.as_deref();
        if let Some(window) = &expected.window {
            let Some((key, start, end)) =
                key_bytes.and_then(|bytes| split_windowed_key(bytes, window.kind))
            else {
                return Err("key is not windowed".to_string());
            };
            if start != window.start {
                return Err(format!(
                    "window start: expected {}, got {start}",
                    window.start
                ));
            }
            if let Some(end) = end
                && end != window.end
            {
                return Err(format!("window end: expected {}, got {end}", window.end));
            }
            key_bytes = Some(key);
        }
        let key = schemas
            .key
            .decode(key_bytes)
            .map_err(|error| format!("key: {error}"))?;
        values_match(&expected.key, &key, schemas.key.hint(), options)
            .map_err(|difference| format!("key{difference}"))?;
    }
    let value = schemas
        .value
        .decode(record.value.as_deref())
        .map_err(|error| format!("value: {error}"))?;
    values_match(&expected.value, &value, schemas.value.hint(), options)
        .map_err(|difference| format!("value{difference}"))?;
    if let Some(timestamp) = expected.timestamp
        && timestamp != record.timestamp
        && !(options.accept_zero_timestamp && timestamp == 0)
    {
        return Err(format!(
            "timestamp: expected {timestamp}, got {}",
            record.timestamp
        ));
    }
    let actual_headers: Vec<(String, Option<Vec<u8>>)> = record
        .headers
        .iter()
        .map(|header| (header.key.clone(), header.value.clone()))
        .collect();
    let expected_headers = expected.headers.clone().unwrap_or_default();
    if expected_headers != actual_headers {
        return Err(format!(
            "headers: expected {}, got {}",
            headers_json(&expected_headers),
            headers_json(&actual_headers)
        ));
    }
    Ok(())
}

fn headers_json(headers: &[(String, Option<Vec<u8>>)]) -> String {
    Json::Array(
        headers
            .iter()
            .map(|(key, value)| {
                Json::Object(vec![
                    ("KEY".into(), Json::String(key.clone())),
                    (
                        "VALUE".into(),
                        value
                            .as_ref()
                            .map_or(Json::Null, |bytes| Json::String(base64::encode(bytes))),
                    ),
                ])
            })
            .collect(),
    )
    .to_string()
}

fn truncate(mut text: String) -> String {
    if text.len() > MAX_DESCRIPTION {
        let mut end = MAX_DESCRIPTION;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    text
}

/// An expected record in failure reasons.
pub fn describe_expected(record: &TestRecord) -> String {
    let mut text = format!("key={} value={}", record.key, record.value);
    if let Some(timestamp) = record.timestamp {
        text.push_str(&format!(" timestamp={timestamp}"));
    }
    if let Some(window) = &record.window {
        text.push_str(&format!(" window=[{},{}]", window.start, window.end));
    }
    if let Some(headers) = &record.headers {
        text.push_str(&format!(" headers={}", headers_json(headers)));
    }
    truncate(text)
}

/// An actual record in failure reasons, decoded as far as possible.
pub fn describe_actual(
    actual: &ActualRecord,
    schemas: &TopicSchemas,
    window: Option<WindowKind>,
) -> String {
    let record = &actual.record;
    let payload = |schema: &PayloadSchema, bytes: Option<&[u8]>| match schema.decode(bytes) {
        Ok(value) => value.to_string(),
        Err(_) => bytes.map_or("null".to_string(), |bytes| {
            format!("bytes:{}", base64::encode(bytes))
        }),
    };
    let mut key_bytes = record.key.as_deref();
    let mut window_text = String::new();
    if let Some(kind) = window
        && let Some((key, start, end)) = key_bytes.and_then(|bytes| split_windowed_key(bytes, kind))
    {
        key_bytes = Some(key);
        window_text = match end {
            Some(end) => format!(" window=[{start},{end}]"),
            None => format!(" window=[{start},?]"),
        };
    }
    let mut text = format!(
        "key={} value={} timestamp={}{window_text}",
        payload(&schemas.key, key_bytes),
        payload(&schemas.value, record.value.as_deref()),
        record.timestamp
    );
    if !record.headers.is_empty() {
        let headers: Vec<(String, Option<Vec<u8>>)> = record
            .headers
            .iter()
            .map(|header| (header.key.clone(), header.value.clone()))
            .collect();
        text.push_str(&format!(" headers={}", headers_json(&headers)));
    }
    truncate(text)
}

#[cfg(test)]
mod tests;
