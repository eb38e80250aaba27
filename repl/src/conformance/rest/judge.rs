//! Judges what a REST case received against what it expects, with the rules of ksqlDB's
//! `RestTestExecutor` (see `CORPUS_FORMAT.md`, "How a rest case is run and judged").
//!
//! Responses match partially (only the expected keys, `name|starts_with`, `{STATEMENT}`);
//! query rows compare as a multiset unless the case verifies order. Errors match on status,
//! message substring and, for statement errors, the statement text. Running the case is in
//! `rest`.

use serde_json::{Map, Value};

use super::super::corpus::ExpectedError;
use super::super::json::Json;

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
            ("queryProto", _) => {
                return Err(format!(
                    "response {index}: queryProto (rows as protobuf, Accept: \
                     application/vnd.ksql.v1+protobuf) is not supported by the runner"
                ));
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
            ("admin" | "query", Some(other)) => {
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
mod tests {
    use serde_json::json;

    use super::*;

    fn expected(json: &str) -> Vec<Json> {
        Json::parse(json)
            .expect("valid")
            .as_array()
            .expect("array")
            .to_vec()
    }

    fn query(elements: Value) -> Actual {
        Actual::Query(elements.as_array().expect("array").clone())
    }

    #[test]
    fn responses_match_partially_and_in_position() {
        let statements = vec![
            "CREATE STREAM S (ID INT) WITH (kafka_topic='t', value_format='JSON');".to_string(),
            "SELECT * FROM S EMIT CHANGES LIMIT 2;".to_string(),
        ];
        let wanted = expected(
            r#"[{"admin": {"@type": "currentStatus", "statementText": "{STATEMENT}"}},
               {"query": [{"header": {"queryId|starts_with": "transient_", "schema": "`ID` INTEGER"}},
                          {"row": {"columns": [1]}},
                          {"row": {"columns": [2]}},
                          {"finalMessage": "Limit Reached"}]}]"#,
        );
        let admin = Actual::Admin(json!({
            "@type": "currentStatus",
            "statementText": statements[0],
            "commandStatus": {"status": "SUCCESS"},
        }));
        let rows = |first: i64, second: i64, message: &str| {
            query(json!([
                {"header": {"queryId": "transient_S_1", "schema": "`ID` INTEGER"}},
                {"row": {"columns": [first]}},
                {"row": {"columns": [second]}},
                {"finalMessage": message},
            ]))
        };
        let cases: Vec<(Vec<Actual>, bool, Result<(), &str>)> = vec![
            (
                vec![admin.clone(), rows(1, 2, "Limit Reached")],
                false,
                Ok(()),
            ),
            // Rows in another order: fine unless the case verifies order.
            (
                vec![admin.clone(), rows(2, 1, "Limit Reached")],
                false,
                Ok(()),
            ),
            (
                vec![admin.clone(), rows(2, 1, "Limit Reached")],
                true,
                Err("response 1 (query) element 1.row.columns: expected [1], got [2]"),
            ),
            (
                vec![admin.clone(), rows(1, 3, "Limit Reached")],
                false,
                Err("response 1 (query): rows differ (any order): missing [2]; unexpected [3]"),
            ),
            (
                vec![admin.clone(), rows(1, 2, "Query Completed")],
                false,
                Err(
                    "response 1 (query) element 3.finalMessage: expected \"Limit Reached\", got \"Query Completed\"",
                ),
            ),
            (
                vec![admin.clone()],
                false,
                Err(
                    "response 1: expected a query response, got none (1 responses: admin currentStatus)",
                ),
            ),
            (
                vec![
                    admin.clone(),
                    query(
                        json!([{"header": {"queryId": "q", "schema": "`ID` INTEGER"}},
                                 {"errorMessage": {"message": "boom"}}]),
                    ),
                ],
                false,
                Err(
                    "response 1 (query): expected 4 elements, got 2: [header \"`ID` INTEGER\", errorMessage \"boom\"]",
                ),
            ),
        ];
        for (actual, verify_order, want) in cases {
            let got = check_responses(&wanted, &actual, &statements, verify_order);
            assert_eq!(got, want.map_err(str::to_string), "{actual:?}");
        }
    }

    #[test]
    fn admin_mismatches_name_the_field_and_show_the_entity() {
        let wanted = expected(r#"[{"admin": {"@type": "currentStatus"}}]"#);
        let entity = json!({"@type": "warning_entity", "message": "careful"});
        let got = check_responses(&wanted, &[Actual::Admin(entity)], &[], false);
        assert_eq!(
            got,
            Err(
                "response 0 (admin).@type: expected \"currentStatus\", got \"warning_entity\" \
                 (entity: {\"@type\":\"warning_entity\",\"message\":\"careful\"})"
                    .to_string()
            )
        );
        let missing = check_responses(&wanted, &[Actual::Admin(json!({"x": 1}))], &[], false);
        assert!(
            missing
                .as_ref()
                .is_err_and(|reason| reason.starts_with("response 0 (admin): missing \"@type\"")),
            "{missing:?}"
        );
    }

    #[test]
    fn numbers_compare_as_the_java_harness_does() {
        let wanted = expected(r#"[{"query": [{"row": {"columns": [1, 1.5, 2.10]}}]}]"#);
        let cases = [
            (json!([1, 1.5, 2.1]), Ok(())),
            // An integer is not a decimal.
            (json!([1.0, 1.5, 2.1]), Err(())),
            (json!([1, 1.5, 2.2]), Err(())),
        ];
        for (columns, want) in cases {
            let actual = [query(json!([{"row": {"columns": columns}}]))];
            let got = check_responses(&wanted, &actual, &[], true).map_err(|_| ());
            assert_eq!(got, want, "{columns}");
        }
    }

    #[test]
    fn tombstones_and_nested_objects_are_checked() {
        let wanted =
            expected(r#"[{"query": [{"row": {"columns": [10, null], "tombstone": true}}]}]"#);
        let ok = [query(
            json!([{"row": {"columns": [10, null], "tombstone": true}}]),
        )];
        assert_eq!(check_responses(&wanted, &ok, &[], false), Ok(()));
        let not_tombstone = [query(json!([{"row": {"columns": [10, null]}}]))];
        assert!(
            check_responses(&wanted, &not_tombstone, &[], false)
                .is_err_and(|reason| reason.contains("missing \"tombstone\"")),
        );
    }

    #[test]
    fn query_protobuf_responses_fail_with_a_clear_reason() {
        let wanted = expected(r#"[{"queryProto": [{"header": {"protoSchema": "x"}}]}]"#);
        let got = check_responses(&wanted, &[], &[], false);
        assert!(
            got.as_ref()
                .is_err_and(|reason| reason.contains("queryProto")
                    && reason.contains("not supported by the runner")),
            "{got:?}"
        );
    }

    #[test]
    fn expected_errors_match_status_message_and_statement() {
        let statement_error = "io.confluent.ksql.rest.entity.KsqlStatementErrorMessage";
        let generic = "io.confluent.ksql.rest.entity.KsqlErrorMessage";
        let error = |kind: &str, message: &str, status: Option<u16>| ExpectedError {
            kind: Some(kind.to_string()),
            message: Some(message.to_string()),
            status,
            ..ExpectedError::default()
        };
        let body = json!({"@type": "statement_error", "error_code": 40001,
                          "message": "Pull queries don't support JOIN clauses.",
                          "statementText": "SELECT * FROM A JOIN B ON A.X = B.X;"});
        let last = "SELECT * FROM A JOIN B ON A.X = B.X;";
        let cases = [
            (
                error(statement_error, "don't support JOIN", Some(400)),
                400,
                Ok(()),
            ),
            (error(generic, "don't support JOIN", None), 400, Ok(())),
            (
                error(statement_error, "don't support JOIN", Some(400)),
                500,
                Err(
                    "expected error with status 400, got 500 statement_error: Pull queries don't support JOIN clauses.",
                ),
            ),
            (
                error(generic, "something else", None),
                400,
                Err(
                    "expected error containing \"something else\", got 400 statement_error: Pull queries don't support JOIN clauses.",
                ),
            ),
        ];
        for (expected, status, want) in cases {
            assert_eq!(
                check_error(&expected, status, &body, last),
                want.map_err(str::to_string),
                "{expected:?}"
            );
        }
        let generic_body = json!({"@type": "generic_error", "error_code": 40000, "message": "m"});
        assert!(
            check_error(&error(statement_error, "m", None), 400, &generic_body, last)
                .is_err_and(|reason| reason.contains("of @type statement_error"))
        );
        let other_statement =
            json!({"@type": "statement_error", "message": "m", "statementText": "X;"});
        assert!(
            check_error(
                &error(statement_error, "m", None),
                400,
                &other_statement,
                last
            )
            .is_err_and(|reason| reason.contains("statementText contains"))
        );
    }

    #[test]
    fn expected_query_lengths_are_read_by_position() {
        let wanted = expected(r#"[{"admin": {}}, {"query": [{}, {}, {}]}]"#);
        assert_eq!(expected_query_len(&wanted, 1), Some(3));
        assert_eq!(expected_query_len(&wanted, 0), None);
        assert_eq!(expected_query_len(&wanted, 5), None);
    }
}
