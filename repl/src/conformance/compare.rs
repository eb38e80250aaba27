//! Expected records against the records a topic holds, with the rules of ksqlDB's
//! `ExpectedRecordComparator` (see `CORPUS_FORMAT.md`, "How a qtt case is run and judged").
//!
//! Values: objects match structs and maps field by field (exact name, then upper-cased),
//! arrays element-wise, numbers by the column type (INT/BIGINT exact, DOUBLE within 1e-6,
//! DECIMAL by digits and scale), strings exactly (or as a DECIMAL's text). A topic's records
//! must match in count and order; across partitions any interleaving is accepted.

use executor::Record;
use parser::ast::DataType;

use super::base64;
use super::codec::{PayloadSchema, split_windowed_key};
use super::corpus::{TestRecord, WindowKind};
use super::json::Json;

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

/// Tolerance of DOUBLE comparisons.
const DOUBLE_TOLERANCE: f64 = 1e-6;
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

/// Compares a decoded value with the expected one. The error starts with the path of the
/// difference (`.NAME[2]: ...`), or `: ...` at the top.
pub fn values_match(
    expected: &Json,
    actual: &Json,
    hint: Hint<'_>,
    options: CompareOptions,
) -> Result<(), String> {
    let differ = || Err(format!(": expected {expected}, got {actual}"));
    if let Hint::Row(columns) = hint {
        let wrapped = match actual {
            Json::Object(members) => {
                columns.len() != 1
                    || (members.len() == 1 && members[0].0.eq_ignore_ascii_case(&columns[0].0))
            }
            _ => false,
        };
        if !wrapped {
            let hint = match columns {
                [(_, data_type)] => Hint::Type(data_type),
                _ => Hint::Unknown,
            };
            return values_match(expected, actual, hint, options);
        }
    }
    let data_type = match hint {
        Hint::Type(data_type) => Some(data_type),
        _ => None,
    };
    match (expected, actual) {
        (Json::Null, Json::Null) => Ok(()),
        (Json::Bool(e), Json::Bool(a)) if e == a => Ok(()),
        (Json::String(e), Json::String(a)) if e == a => Ok(()),
        (Json::String(e), Json::Number(a)) => match data_type {
            Some(DataType::Decimal { scale, .. }) if decimals_equal(e, a, Some(*scale), false) => {
                Ok(())
            }
            None if decimals_equal(e, a, None, false) => Ok(()),
            _ => differ(),
        },
        (Json::Number(e), Json::Number(a) | Json::String(a)) => {
            if numbers_match(e, a, matches!(actual, Json::Number(_)), data_type, options) {
                Ok(())
            } else {
                differ()
            }
        }
        (Json::Array(e), Json::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!(
                    ": expected {} elements, got {} ({expected} vs {actual})",
                    e.len(),
                    a.len()
                ));
            }
            let element_hint = match data_type {
                Some(DataType::Array(element)) => Hint::Type(element),
                _ => Hint::Unknown,
            };
            for (index, (e, a)) in e.iter().zip(a).enumerate() {
                values_match(e, a, element_hint, options)
                    .map_err(|difference| format!("[{index}]{difference}"))?;
            }
            Ok(())
        }
        (Json::Object(e), Json::Object(a)) => {
            if e.len() != a.len() {
                return Err(format!(
                    ": expected {} fields, got {} ({expected} vs {actual})",
                    e.len(),
                    a.len()
                ));
            }
            for (name, e_value) in e {
                let upper = name.to_uppercase();
                let Some((actual_name, a_value)) = a
                    .iter()
                    .find(|(member, _)| member == name)
                    .or_else(|| a.iter().find(|(member, _)| *member == upper))
                else {
                    return Err(format!(": field {name} missing in {actual}"));
                };
                let field_hint = match (hint, data_type) {
                    (Hint::Row(columns), _) => field_type(columns, actual_name),
                    (_, Some(DataType::Struct(fields))) => field_type(fields, actual_name),
                    (_, Some(DataType::Map(_, value))) => Hint::Type(value),
                    _ => Hint::Unknown,
                };
                values_match(e_value, a_value, field_hint, options)
                    .map_err(|difference| format!(".{name}{difference}"))?;
            }
            Ok(())
        }
        _ => differ(),
    }
}

fn field_type<'a>(fields: &'a [(String, DataType)], name: &str) -> Hint<'a> {
    fields
        .iter()
        .find(|(field, _)| field == name)
        .or_else(|| {
            fields
                .iter()
                .find(|(field, _)| field.eq_ignore_ascii_case(name))
        })
        .map_or(Hint::Unknown, |(_, data_type)| Hint::Type(data_type))
}

/// An expected number against an actual number (or string, which only matches when every
/// number is compared as a double).
fn numbers_match(
    expected: &str,
    actual: &str,
    actual_is_number: bool,
    data_type: Option<&DataType>,
    options: CompareOptions,
) -> bool {
    if !options.exact_numeric {
        return doubles_close(expected, actual);
    }
    if !actual_is_number {
        return false;
    }
    match data_type {
        Some(DataType::Double) => doubles_close(expected, actual),
        Some(DataType::Decimal { scale, .. }) => {
            decimals_equal(expected, actual, Some(*scale), true)
        }
        Some(
            DataType::Int
            | DataType::Bigint
            | DataType::Timestamp
            | DataType::Date
            | DataType::Time,
        ) => same_value(expected, actual),
        _ => {
            same_value(expected, actual)
                || (!is_integer_literal(actual) && doubles_close(expected, actual))
        }
    }
}

fn doubles_close(expected: &str, actual: &str) -> bool {
    match (expected.parse::<f64>(), actual.parse::<f64>()) {
        (Ok(e), Ok(a)) => e == a || (e - a).abs() < DOUBLE_TOLERANCE,
        _ => false,
    }
}

fn is_integer_literal(text: &str) -> bool {
    !text.contains(['.', 'e', 'E'])
}

/// A decimal number as sign, digits without leading zeros, and scale.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    digits: String,
    scale: i64,
}

impl Decimal {
    fn parse(text: &str) -> Option<Decimal> {
        let text = text.trim();
        let (negative, text) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (mantissa, exponent) = match text.find(['e', 'E']) {
            Some(position) => (&text[..position], text[position + 1..].parse::<i64>().ok()?),
            None => (text, 0),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if whole.is_empty() && fraction.is_empty()
            || !whole
                .bytes()
                .chain(fraction.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let digits = format!("{whole}{fraction}");
        let digits = digits.trim_start_matches('0');
        let digits = if digits.is_empty() { "0" } else { digits };
        Some(Decimal {
            negative: negative && digits != "0",
            digits: digits.to_string(),
            scale: fraction.len() as i64 - exponent,
        })
    }

    /// The same value with at least `scale` fraction digits.
    fn with_min_scale(mut self, scale: i64) -> Decimal {
        if self.scale < scale {
            if self.digits != "0" {
                self.digits
                    .extend(std::iter::repeat_n('0', (scale - self.scale) as usize));
            }
            self.scale = scale;
        }
        self
    }

    /// The same value with no trailing fraction zeros (for value equality).
    fn normalized(mut self) -> Decimal {
        while self.scale > 0 && self.digits.len() > 1 && self.digits.ends_with('0') {
            self.digits.pop();
            self.scale -= 1;
        }
        if self.digits == "0" {
            self.scale = 0;
        }
        self
    }
}

/// Numeric equality ignoring scale (`1` equals `1.0`).
fn same_value(expected: &str, actual: &str) -> bool {
    match (Decimal::parse(expected), Decimal::parse(actual)) {
        (Some(e), Some(a)) => e.normalized() == a.normalized(),
        _ => false,
    }
}

/// DECIMAL equality: digits and scale equal, the actual value taken at (at least) the
/// column's scale. An integer literal matches only a scale-0 decimal when `strict_integer`.
fn decimals_equal(
    expected: &str,
    actual: &str,
    column_scale: Option<u8>,
    strict_integer: bool,
) -> bool {
    let (Some(e), Some(a)) = (Decimal::parse(expected), Decimal::parse(actual)) else {
        return false;
    };
    let a = a.with_min_scale(column_scale.map_or(0, i64::from));
    if strict_integer && is_integer_literal(expected) {
        return a.scale == 0 && e.normalized() == a.normalized();
    }
    e == a
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
mod tests {
    use executor::Header;

    use super::super::corpus::Window;
    use super::*;

    fn json(text: &str) -> Json {
        Json::parse(text).expect("valid JSON in test")
    }

    fn decimal(precision: u8, scale: u8) -> DataType {
        DataType::Decimal { precision, scale }
    }

    #[test]
    fn value_comparison_rules() {
        let row = vec![
            ("ID".to_string(), DataType::Bigint),
            ("D".to_string(), DataType::Double),
            ("M".to_string(), decimal(4, 2)),
        ];
        let single = vec![("V".to_string(), decimal(3, 1))];
        let struct_type = DataType::Struct(vec![("A".into(), DataType::Int)]);
        let map_type = DataType::Map(Box::new(DataType::String), Box::new(DataType::Double));
        let array_type = DataType::Array(Box::new(decimal(3, 1)));
        let (d32, d30, d41) = (decimal(3, 2), decimal(3, 0), decimal(4, 1));
        let exact = CompareOptions::default();
        let loose = CompareOptions {
            exact_numeric: false,
            ..exact
        };
        let cases: Vec<(&str, &str, &str, Hint<'_>, CompareOptions, bool)> = vec![
            (
                "ints exact",
                "1",
                "1",
                Hint::Type(&DataType::Int),
                exact,
                true,
            ),
            (
                "ints differ",
                "1",
                "2",
                Hint::Type(&DataType::Bigint),
                exact,
                false,
            ),
            (
                "double within tolerance",
                "0.3",
                "0.30000000000000004",
                Hint::Type(&DataType::Double),
                exact,
                true,
            ),
            (
                "double outside tolerance",
                "0.3",
                "0.31",
                Hint::Type(&DataType::Double),
                exact,
                false,
            ),
            (
                "decimal same scale",
                "1.10",
                "1.10",
                Hint::Type(&d32),
                exact,
                true,
            ),
            (
                "decimal other scale",
                "1.1",
                "1.10",
                Hint::Type(&d32),
                exact,
                false,
            ),
            (
                "decimal integer literal vs scale 2",
                "1",
                "1.00",
                Hint::Type(&d32),
                exact,
                false,
            ),
            (
                "decimal integer literal vs scale 0",
                "1",
                "1",
                Hint::Type(&d30),
                exact,
                true,
            ),
            (
                "decimal string",
                "\"005.4\"",
                "5.4",
                Hint::Type(&d41),
                exact,
                true,
            ),
            (
                "decimal actual padded to column scale",
                "1.10",
                "1.1",
                Hint::Type(&d32),
                exact,
                true,
            ),
            ("string exact", "\"a\"", "\"a\"", Hint::Unknown, exact, true),
            (
                "string differs",
                "\"a\"",
                "\"A\"",
                Hint::Unknown,
                exact,
                false,
            ),
            (
                "number vs string",
                "1",
                "\"1\"",
                Hint::Unknown,
                exact,
                false,
            ),
            (
                "number vs string when loose",
                "1",
                "\"1\"",
                Hint::Unknown,
                loose,
                true,
            ),
            (
                "loose compares doubles",
                "1.10",
                "1.1",
                Hint::Type(&d32),
                loose,
                true,
            ),
            ("bool", "true", "true", Hint::Unknown, exact, true),
            ("bool differs", "true", "false", Hint::Unknown, exact, false),
            ("null", "null", "null", Hint::Unknown, exact, true),
            ("null vs value", "null", "0", Hint::Unknown, exact, false),
            (
                "row by upper-cased name",
                "{\"id\":1,\"d\":1.0,\"m\":2.50}",
                "{\"ID\":1,\"D\":1.0000000001,\"M\":2.50}",
                Hint::Row(&row),
                exact,
                true,
            ),
            (
                "row decimal scale",
                "{\"ID\":1,\"D\":1.0,\"M\":2.5}",
                "{\"ID\":1,\"D\":1.0,\"M\":2.50}",
                Hint::Row(&row),
                exact,
                false,
            ),
            (
                "row field count",
                "{\"ID\":1}",
                "{\"ID\":1,\"D\":1.0,\"M\":2.50}",
                Hint::Row(&row),
                exact,
                false,
            ),
            (
                "row missing field",
                "{\"ID\":1,\"X\":1,\"M\":2.50}",
                "{\"ID\":1,\"D\":1.0,\"M\":2.50}",
                Hint::Row(&row),
                exact,
                false,
            ),
            (
                "unwrapped single column",
                "1.5",
                "1.5",
                Hint::Row(&single),
                exact,
                true,
            ),
            (
                "wrapped single column",
                "{\"V\":1.5}",
                "{\"V\":1.5}",
                Hint::Row(&single),
                exact,
                true,
            ),
            (
                "struct field type",
                "{\"A\":1.0}",
                "{\"A\":1}",
                Hint::Type(&struct_type),
                exact,
                true,
            ),
            (
                "map value type",
                "{\"k\":1.0000001}",
                "{\"k\":1.0}",
                Hint::Type(&map_type),
                exact,
                true,
            ),
            (
                "array elements",
                "[1.0,2.0]",
                "[1.0,2.0]",
                Hint::Type(&array_type),
                exact,
                true,
            ),
            (
                "array length",
                "[1.0]",
                "[1.0,2.0]",
                Hint::Type(&array_type),
                exact,
                false,
            ),
            (
                "array element scale",
                "[1.0,2]",
                "[1.0,2.0]",
                Hint::Type(&array_type),
                exact,
                false,
            ),
            (
                "unknown type compares values",
                "1.0",
                "1",
                Hint::Unknown,
                exact,
                true,
            ),
        ];
        for (name, expected, actual, hint, options, matches) in cases {
            let result = values_match(&json(expected), &json(actual), hint, options);
            assert_eq!(result.is_ok(), matches, "{name}: {result:?}");
        }
    }

    fn schemas() -> TopicSchemas {
        TopicSchemas {
            key: PayloadSchema {
                format: "KAFKA".into(),
                columns: vec![("K".into(), DataType::String)],
                typed: true,
                registry: None,
            },
            value: PayloadSchema {
                format: "JSON".into(),
                columns: vec![("V".into(), DataType::Bigint)],
                typed: true,
                registry: None,
            },
        }
    }

    fn expected(key: &str, value: &str, timestamp: Option<i64>) -> TestRecord {
        TestRecord {
            topic: "T".into(),
            key: Json::String(key.into()),
            value: json(value),
            timestamp,
            window: None,
            headers: None,
        }
    }

    fn actual(partition: u32, offset: u64, key: &str, value: &str, timestamp: i64) -> ActualRecord {
        ActualRecord {
            partition,
            offset,
            record: Record {
                key: Some(key.as_bytes().to_vec()),
                value: Some(value.as_bytes().to_vec()),
                timestamp,
                headers: Vec::new(),
            },
        }
    }

    #[test]
    fn topics_match_in_order_and_count() {
        let e = [
            expected("a", "{\"V\":1}", Some(10)),
            expected("b", "{\"V\":2}", None),
        ];
        let expected_records: Vec<&TestRecord> = e.iter().collect();
        let options = CompareOptions::default();
        let good = [
            actual(0, 0, "a", "{\"V\":1}", 10),
            actual(0, 1, "b", "{\"V\":2}", 99),
        ];
        assert_eq!(
            compare_topic("T", &expected_records, &good, &schemas(), options),
            Ok(())
        );

        // Any interleaving of partitions is accepted, order within a partition is not.
        let interleaved = [
            actual(1, 0, "b", "{\"V\":2}", 0),
            actual(0, 0, "a", "{\"V\":1}", 10),
        ];
        assert_eq!(
            compare_topic("T", &expected_records, &interleaved, &schemas(), options),
            Ok(())
        );
        let swapped = [
            actual(0, 0, "b", "{\"V\":2}", 0),
            actual(0, 1, "a", "{\"V\":1}", 10),
        ];
        assert!(compare_topic("T", &expected_records, &swapped, &schemas(), options).is_err());
    }

    #[test]
    fn altered_expectation_names_the_first_differing_record() {
        let e = [
            expected("a", "{\"V\":1}", None),
            expected("b", "{\"V\":3}", None),
        ];
        let expected_records: Vec<&TestRecord> = e.iter().collect();
        let records = [
            actual(0, 0, "a", "{\"V\":1}", 0),
            actual(0, 1, "b", "{\"V\":2}", 0),
        ];
        let reason = compare_topic(
            "T",
            &expected_records,
            &records,
            &schemas(),
            CompareOptions::default(),
        )
        .expect_err("the second record differs");
        assert_eq!(
            reason,
            "topic T: record 1: expected key=\"b\" value={\"V\":3}, actual key=\"b\" value={\"V\":2} \
             timestamp=0 (value.V: expected 3, got 2; expected 2 records, got 2)"
        );

        let missing = compare_topic(
            "T",
            &expected_records,
            &records[..1],
            &schemas(),
            CompareOptions::default(),
        )
        .expect_err("a record is missing");
        assert!(
            missing.starts_with("topic T: record 1: expected key=\"b\""),
            "{missing}"
        );
        assert!(
            missing.contains("actual none (expected 2 records, got 1)"),
            "{missing}"
        );

        let extra = compare_topic(
            "T",
            &expected_records[..1],
            &records,
            &schemas(),
            CompareOptions::default(),
        )
        .expect_err("a record is extra");
        assert!(
            extra.starts_with("topic T: record 1: expected none, actual key=\"b\""),
            "{extra}"
        );
    }

    #[test]
    fn record_level_rules() {
        let options = CompareOptions::default();
        let base = actual(0, 0, "a", "{\"V\":1}", 5);
        let cases: Vec<(&str, TestRecord, ActualRecord, CompareOptions, bool)> = vec![
            (
                "timestamp ignored when absent",
                expected("a", "{\"V\":1}", None),
                base.clone(),
                options,
                true,
            ),
            (
                "timestamp compared when given",
                expected("a", "{\"V\":1}", Some(6)),
                base.clone(),
                options,
                false,
            ),
            (
                "timestamp 0 accepted without inputs",
                expected("a", "{\"V\":1}", Some(0)),
                base.clone(),
                CompareOptions {
                    accept_zero_timestamp: true,
                    ..options
                },
                true,
            ),
            (
                "key differs",
                expected("b", "{\"V\":1}", None),
                base.clone(),
                options,
                false,
            ),
            (
                "missing headers means none",
                expected("a", "{\"V\":1}", None),
                ActualRecord {
                    record: Record {
                        headers: vec![Header {
                            key: "h".into(),
                            value: None,
                        }],
                        ..base.record.clone()
                    },
                    ..base.clone()
                },
                options,
                false,
            ),
            (
                "headers compared",
                TestRecord {
                    headers: Some(vec![("h".into(), Some(b"!".to_vec()))]),
                    ..expected("a", "{\"V\":1}", None)
                },
                ActualRecord {
                    record: Record {
                        headers: vec![Header {
                            key: "h".into(),
                            value: Some(b"!".to_vec()),
                        }],
                        ..base.record.clone()
                    },
                    ..base.clone()
                },
                options,
                true,
            ),
            (
                "window start compared",
                TestRecord {
                    window: Some(Window {
                        start: 7,
                        end: 17,
                        kind: WindowKind::Time,
                    }),
                    ..expected("a", "{\"V\":1}", None)
                },
                ActualRecord {
                    record: Record {
                        key: Some([b"a".as_slice(), &7i64.to_be_bytes()].concat()),
                        ..base.record.clone()
                    },
                    ..base.clone()
                },
                options,
                true,
            ),
            (
                "unwindowed key fails a windowed expectation",
                TestRecord {
                    window: Some(Window {
                        start: 7,
                        end: 17,
                        kind: WindowKind::Session,
                    }),
                    ..expected("a", "{\"V\":1}", None)
                },
                base.clone(),
                options,
                false,
            ),
        ];
        for (name, expected, actual, options, matches) in cases {
            let result = record_matches(&expected, &actual, &schemas(), options);
            assert_eq!(result.is_ok(), matches, "{name}: {result:?}");
        }
    }
}
