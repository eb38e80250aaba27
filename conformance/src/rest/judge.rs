//! Judges what a REST case received against what it expects, with the rules of ksqlDB's
//! `RestTestExecutor` (see `CORPUS_FORMAT.md`, "How a rest case is run and judged").
//!
//! Responses match partially (only the expected keys, `name|starts_with`, `{STATEMENT}`);
//! query rows compare as a multiset unless the case verifies order. Errors match on status,
//! message substring and, for statement errors, the statement text. Running the case is in
//! `rest`.

use serde_json::{Map, Value};

use crate::corpus::ExpectedError;
use crate::json::Json;

/// Longest JSON shown in a failure reason.
const MAX_SHOWN: usize = 300;
/// How many differing rows a reason lists.
const MAX_ROWS_SHOWN: usize = 3;

/// One actual response, in the order the harness collects them: the entities of the
/// `/ksql` response, then one per successful `/query`.
#[derive(Debug, Clone, PartialEq)]
pub enum Actual {
    /// One entity of the `/ksql` response array.
    Admin(Value),
    /// The elements of one `/query` response.
    Query(Vec<Value>),
}

/// The kind of an expected response (`admin`, `query` or `queryProto`).
pub fn expected_kind(expected: &Json) -> Option<&str> {
    match expected.as_object() {
        Some([(kind, _)]) => Some(kind),
        _ => None,
    }
}

/// How many elements the expected `query` response at `index` has.
pub fn expected_query_len(expected: &[Json], index: usize) -> Option<usize> {
    expected
        .get(index)
        .and_then(|response| response.get("query"))
        .and_then(Json::as_array)
        .map(<[Json]>::len)
}

/// Checks every expected response against the actual one at the same position; the error
/// names the first difference. `statements` are the case's statements (for `{STATEMENT}`).
pub fn check_responses(
    expected: &[Json],
    actual: &[Actual],
    statements: &[String],
    verify_order: bool,
) -> Result<(), String> {
    for (index, response) in expected.iter().enumerate() {
        let Some(kind) = expected_kind(response) else {
            return Err(format!(
                "response {index}: invalid expected response {}",
                shown(&response.to_string())
            ));
        };
        let payload = to_value(response.get(kind).unwrap_or(&Json::Null));
        let statement = statements.get(index).map(String::as_str);
        let got = actual.get(index);
        match (kind, got) {
            // The rows are protobuf text (the runner prints each row's message so); they
            // compare as a query's `row.columns` of one text each.
            ("queryProto", Some(Actual::Query(elements))) => {
                let Value::Array(wanted) = &payload else {
                    return Err(format!(
                        "response {index}: the expected queryProto is not an array"
                    ));
                };
                let wanted: Vec<Value> = wanted
                    .iter()
                    .map(|element| match element.get("row") {
                        Some(Value::String(text)) => {
                            serde_json::json!({"row": {"columns": [text]}})
                        }
                        _ => element.clone(),
                    })
                    .collect();
                check_query(index, &wanted, elements, statement, verify_order)?;
            }
            (_, None) => {
                return Err(format!(
                    "response {index}: expected a {kind} response, got none ({} responses: {})",
                    actual.len(),
                    describe_actuals(actual)
                ));
            }
            ("admin", Some(Actual::Admin(entity))) => {
                let Value::Object(wanted) = &payload else {
                    return Err(format!(
                        "response {index}: the expected admin is not an object"
                    ));
                };
                let path = format!("response {index} (admin)");
                let mut matcher = Matcher {
                    statement,
                    rows: None,
                };
                matcher.fields(entity, wanted, &path).map_err(|reason| {
                    format!("{reason} (entity: {})", shown(&entity.to_string()))
                })?;
            }
            ("query", Some(Actual::Query(elements))) => {
                let Value::Array(wanted) = &payload else {
                    return Err(format!(
                        "response {index}: the expected query is not an array"
                    ));
                };
                check_query(index, wanted, elements, statement, verify_order)?;
            }
            ("admin" | "query" | "queryProto", Some(other)) => {
                let got = match other {
                    Actual::Admin(entity) => {
                        format!("an admin entity {}", shown(&entity.to_string()))
                    }
                    Actual::Query(elements) => {
                        format!("a query response [{}]", describe_elements(elements))
                    }
                };
                return Err(format!(
                    "response {index}: expected a {kind} response, got {got}"
                ));
            }
            (other, _) => {
                return Err(format!("response {index}: unknown response kind {other:?}"));
            }
        }
    }
    Ok(())
}

/// One `/query` response: same number of elements, each matched at its position, with the
/// `row.columns` lists compared as a multiset unless `verify_order`.
fn check_query(
    index: usize,
    wanted: &[Value],
    elements: &[Value],
    statement: Option<&str>,
    verify_order: bool,
) -> Result<(), String> {
    if wanted.len() != elements.len() {
        return Err(format!(
            "response {index} (query): expected {} elements, got {}: [{}]",
            wanted.len(),
            elements.len(),
            describe_elements(elements)
        ));
    }
    let mut matcher = Matcher {
        statement,
        rows: (!verify_order).then(Rows::default),
    };
    for (position, (expected, element)) in wanted.iter().zip(elements).enumerate() {
        let Value::Object(expected) = expected else {
            return Err(format!(
                "response {index} (query): expected element {position} is not an object"
            ));
        };
        let path = format!("response {index} (query) element {position}");
        matcher.fields(element, expected, &path)?;
    }
    if let Some(rows) = matcher.rows {
        rows.check().map_err(|reason| {
            format!("response {index} (query): rows differ (any order): {reason}")
        })?;
    }
    Ok(())
}

/// Partial matching of one expected object against an actual value.
struct Matcher<'a> {
    /// What `{STATEMENT}` stands for.
    statement: Option<&'a str>,
    /// Collects `row.columns` lists instead of comparing them, when order does not matter.
    rows: Option<Rows>,
}

impl Matcher<'_> {
    fn fields(
        &mut self,
        actual: &Value,
        expected: &Map<String, Value>,
        path: &str,
    ) -> Result<(), String> {
        for (key, wanted) in expected {
            let (name, starts_with) = match key.split_once('|') {
                None => (key.as_str(), false),
                Some((name, operator)) if operator.eq_ignore_ascii_case("starts_with") => {
                    (name, true)
                }
                Some((_, operator)) => {
                    return Err(format!(
                        "{path}: unknown match operator {operator:?} in {key:?}"
                    ));
                }
            };
            let wanted = self.replace_macros(wanted);
            let Some(got) = actual.get(name) else {
                return Err(format!(
                    "{path}: missing \"{name}\", got {}",
                    shown(&actual.to_string())
                ));
            };
            let field_path = format!("{path}.{name}");
            if let Value::Object(wanted) = &wanted {
                if !got.is_object() {
                    return Err(format!(
                        "{field_path}: expected an object, got {}",
                        shown(&got.to_string())
                    ));
                }
                self.fields(got, wanted, &field_path)?;
            } else if starts_with {
                match (got.as_str(), wanted.as_str()) {
                    (Some(got_text), Some(prefix)) if got_text.starts_with(prefix) => {}
                    _ => {
                        return Err(format!(
                            "{field_path}: expected a string starting with {wanted}, got {}",
                            shown(&got.to_string())
                        ));
                    }
                }
            } else if let Some(rows) = self
                .rows
                .as_mut()
                .filter(|_| name.eq_ignore_ascii_case("columns") && path.ends_with(".row"))
            {
                rows.add(got.clone(), wanted);
            } else if got != &wanted {
                return Err(format!(
                    "{field_path}: expected {}, got {}",
                    shown(&wanted.to_string()),
                    shown(&got.to_string())
                ));
            }
        }
        Ok(())
    }

    /// `{STATEMENT}` in an expected string stands for the statement of the response.
    fn replace_macros(&self, value: &Value) -> Value {
        match (value, self.statement) {
            (Value::String(text), Some(statement)) if text.contains("{STATEMENT}") => {
                Value::String(text.replace("{STATEMENT}", statement))
            }
            _ => value.clone(),
        }
    }
}

/// Actual and expected `row.columns` lists of a query, compared as multisets.
#[derive(Debug, Default)]
struct Rows {
    actual: Vec<Value>,
    expected: Vec<Value>,
}

impl Rows {
    fn add(&mut self, actual: Value, expected: Value) {
        self.actual.push(actual);
        self.expected.push(expected);
    }

    fn check(&self) -> Result<(), String> {
        let mut unmatched: Vec<Option<&Value>> = self.expected.iter().map(Some).collect();
        let mut unexpected: Vec<&Value> = Vec::new();
        for row in &self.actual {
            match unmatched
                .iter_mut()
                .find(|slot| slot.is_some_and(|wanted| wanted == row))
            {
                Some(slot) => *slot = None,
                None => unexpected.push(row),
            }
        }
        let missing: Vec<&Value> = unmatched.into_iter().flatten().collect();
        if missing.is_empty() && unexpected.is_empty() {
            return Ok(());
        }
        Err(format!(
            "missing {}; unexpected {}",
            list_rows(&missing),
            list_rows(&unexpected)
        ))
    }
}

fn list_rows(rows: &[&Value]) -> String {
    if rows.is_empty() {
        return "none".to_string();
    }
    let mut shown_rows: Vec<String> = rows
        .iter()
        .take(MAX_ROWS_SHOWN)
        .map(|row| shown(&row.to_string()))
        .collect();
    if rows.len() > MAX_ROWS_SHOWN {
        shown_rows.push(format!("and {} more", rows.len() - MAX_ROWS_SHOWN));
    }
    shown_rows.join(", ")
}

/// Checks a failed request against the expected error: `status`, `message` as a substring
/// of the error's message, and for `KsqlStatementErrorMessage` a statement error whose
/// `statementText` contains `last_statement`.
pub fn check_error(
    expected: &ExpectedError,
    status: u16,
    body: &Value,
    last_statement: &str,
) -> Result<(), String> {
    let mismatch = |what: String| {
        Err(format!(
            "expected error {what}, got {}",
            describe_error(status, body)
        ))
    };
    if let Some(wanted) = expected.status
        && wanted != status
    {
        return mismatch(format!("with status {wanted}"));
    }
    if let Some(wanted) = &expected.message {
        let message = body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !message.contains(wanted.as_str()) {
            return mismatch(format!("containing {wanted:?}"));
        }
    }
    if expected
        .kind
        .as_deref()
        .is_some_and(|kind| kind.ends_with("KsqlStatementErrorMessage"))
    {
        if body.get("@type").and_then(Value::as_str) != Some("statement_error") {
            return mismatch("of @type statement_error".to_string());
        }
        let text = body
            .get("statementText")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !text.contains(last_statement) {
            return mismatch(format!(
                "whose statementText contains {:?} (statementText is {text:?})",
                shown(last_statement)
            ));
        }
    }
    Ok(())
}

/// `400 statement_error: message` for an error response.
pub fn describe_error(status: u16, body: &Value) -> String {
    let kind = body.get("@type").and_then(Value::as_str);
    match (kind, body.get("message").and_then(Value::as_str)) {
        (Some(kind), Some(message)) => format!("{status} {kind}: {}", shown(message)),
        (None, Some(message)) => format!("{status}: {}", shown(message)),
        _ => format!("{status}: {}", shown(&body.to_string())),
    }
}

/// An expected value from the corpus as `serde_json`, so that numbers compare as ksqlDB's
/// harness does (an integer never equals a decimal: `1` is not `1.0`).
pub fn to_value(json: &Json) -> Value {
    // `Json` prints valid JSON, which serde_json reads back.
    serde_json::from_str(&json.to_string()).unwrap_or(Value::Null)
}

/// The actual responses in short: `admin currentStatus, query [header, row [1], ...]`.
fn describe_actuals(actual: &[Actual]) -> String {
    let text = actual
        .iter()
        .map(|response| match response {
            Actual::Admin(entity) => format!(
                "admin {}",
                entity.get("@type").and_then(Value::as_str).unwrap_or("?")
            ),
            Actual::Query(elements) => format!("query [{}]", describe_elements(elements)),
        })
        .collect::<Vec<_>>()
        .join(", ");
    shown(&text)
}

/// The elements of a query response in short: `header, row [1,"a"], finalMessage "..."`.
fn describe_elements(elements: &[Value]) -> String {
    let text = elements
        .iter()
        .map(|element| {
            if let Some(columns) = element.get("row").and_then(|row| row.get("columns")) {
                let tombstone = element
                    .get("row")
                    .and_then(|row| row.get("tombstone"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                format!(
                    "row {columns}{}",
                    if tombstone { " (tombstone)" } else { "" }
                )
            } else if let Some(header) = element.get("header") {
                format!("header {}", header.get("schema").unwrap_or(&Value::Null))
            } else if let Some(message) = element.get("finalMessage") {
                format!("finalMessage {message}")
            } else if let Some(error) = element.get("errorMessage") {
                format!("errorMessage {}", error.get("message").unwrap_or(error))
            } else {
                element.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    shown(&text)
}

/// `text`, cut to `MAX_SHOWN` characters.
fn shown(text: &str) -> String {
    match text.char_indices().nth(MAX_SHOWN) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests;
