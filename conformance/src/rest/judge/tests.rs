//! Tests of judging REST responses.

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
    let wanted = expected(r#"[{"query": [{"row": {"columns": [10, null], "tombstone": true}}]}]"#);
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
fn query_protobuf_rows_compare_as_text_in_any_order() {
    let wanted = expected(
        r#"[{"queryProto": [{"header": {"protoSchema": "x"}}, {"row": "K: 1\n"}, {"row": "K: 2\n"}]}]"#,
    );
    // The runner gives each row's message as protobuf text in `row.columns`.
    let row = |text: &str| json!({"row": {"columns": [text]}});
    let cases = [
        (
            json!([{"header": {"protoSchema": "x"}}, row("K: 2\n"), row("K: 1\n")]),
            None,
        ),
        (
            json!([{"header": {"protoSchema": "y"}}, row("K: 1\n"), row("K: 2\n")]),
            Some("protoSchema"),
        ),
        (
            json!([{"header": {"protoSchema": "x"}}, row("K: 1\n"), row("K: 3\n")]),
            Some("rows differ"),
        ),
        (
            json!([{"header": {"protoSchema": "x"}}, row("K: 1\n")]),
            Some("elements"),
        ),
    ];
    for (elements, error) in cases {
        let got = check_responses(&wanted, &[query(elements)], &[], false);
        match error {
            None => assert_eq!(got, Ok(())),
            Some(text) => assert!(
                got.as_ref().is_err_and(|reason| reason.contains(text)),
                "{got:?}"
            ),
        }
    }
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
