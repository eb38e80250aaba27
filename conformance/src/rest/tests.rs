//! Tests of running REST cases through a server.

use super::*;
use crate::engine::EmbeddedEngineFactory;
use crate::run::run_case;

fn rest_case(json: &str) -> Case {
    let document = crate::json::Json::parse(&format!("{{\"kind\":\"rest\",\"cases\":[{json}]}}"))
        .expect("valid");
    crate::corpus::parse_file(&document)
        .expect("parses")
        .remove(0)
}

/// End to end through a real server: a pass, and a reason naming what differs.
#[test]
fn cases_run_through_the_server_and_report_differences() {
    let stream = "CREATE STREAM INPUT (K STRING KEY, ID INT) WITH (kafka_topic='test_topic', value_format='JSON');";
    let insert = "INSERT INTO INPUT (ROWTIME, K, ID) VALUES (1234, 'key', 10);";
    let push = "SELECT ID FROM INPUT EMIT CHANGES LIMIT 2;";
    let cases: Vec<(String, Result<(), &str>)> = vec![
        (
            format!(
                r#"{{"id":"insert","statements":["{stream}","{insert}"],
                    "outputs":[{{"topic":"test_topic","key":"key","value":{{"ID":10}},"timestamp":1234}}],
                    "responses":[{{"admin":{{"@type":"currentStatus"}}}}]}}"#
            ),
            Ok(()),
        ),
        (
            format!(
                r#"{{"id":"insert-differs","statements":["{stream}","{insert}"],
                    "outputs":[{{"topic":"test_topic","key":"key","value":{{"ID":11}},"timestamp":1234}}]}}"#
            ),
            Err("topic test_topic: record 0: expected key=\"key\" value={\"ID\":11}"),
        ),
        (
            format!(
                r#"{{"id":"push","statements":["{stream}","{push}"],
                    "inputs":[{{"topic":"test_topic","key":"a","value":{{"id":100}}}},
                              {{"topic":"test_topic","key":"b","value":{{"id":101}}}}],
                    "responses":[{{"admin":{{"@type":"currentStatus"}}}},
                                 {{"query":[{{"header":{{"schema":"`ID` INTEGER"}}}},
                                            {{"row":{{"columns":[101]}}}},
                                            {{"row":{{"columns":[WANTED]}}}},
                                            {{"finalMessage":"Limit Reached"}}]}}]}}"#
            ),
            Ok(()),
        ),
        (
            r#"{"id":"bad-statement","statements":["CREATE STREAM NOPE AS SELECT * FROM MISSING;"],
                "expected_error":{"type":"io.confluent.ksql.rest.entity.KsqlStatementErrorMessage",
                                  "message":"MISSING","status":400}}"#
                .to_string(),
            Ok(()),
        ),
        (
            r#"{"id":"unexpected-error","statements":["CREATE STREAM NOPE AS SELECT * FROM MISSING;"]}"#
                .to_string(),
            Err("POST /ksql failed: 400 statement_error:"),
        ),
    ];
    for (json, want) in cases {
        let verdicts: Vec<Verdict> = if json.contains("WANTED") {
            vec![
                run_case(
                    &rest_case(&json.replace("WANTED", "100")),
                    &EmbeddedEngineFactory,
                ),
                run_case(
                    &rest_case(&json.replace("WANTED", "102")),
                    &EmbeddedEngineFactory,
                ),
            ]
        } else {
            vec![run_case(&rest_case(&json), &EmbeddedEngineFactory)]
        };
        match want {
            Ok(()) => assert_eq!(verdicts[0], Verdict::pass(), "{json}"),
            Err(prefix) => assert!(
                verdicts[0].reason.starts_with(prefix),
                "{json}: {:?}",
                verdicts[0]
            ),
        }
        if let Some(altered) = verdicts.get(1) {
            assert_eq!(
                altered.reason,
                "response 1 (query): rows differ (any order): missing [102]; unexpected [100]",
                "{json}"
            );
        }
    }
}

#[test]
fn statements_split_at_the_first_select() {
    let statements =
        |texts: &[&str]| -> Vec<String> { texts.iter().map(|text| text.to_string()).collect() };
    let cases = [
        (vec!["CREATE STREAM S;", "SELECT * FROM S;"], 1),
        (vec!["CREATE STREAM S;", "INSERT INTO S VALUES (1);"], 2),
        (vec!["SELECT 1;", "SELECT 2;"], 0),
        // Lower-case selects are sent to /ksql, as ksqlDB's harness does.
        (vec!["CREATE STREAM S;", "select * from S;"], 2),
    ];
    for (texts, admin_count) in cases {
        let all = statements(&texts);
        let (admin, queries) = split_statements(&all);
        assert_eq!(admin.len(), admin_count, "{texts:?}");
        assert_eq!(admin.len() + queries.len(), all.len());
    }
}

#[test]
fn push_queries_are_recognised() {
    let cases = [
        ("SELECT * FROM S EMIT CHANGES LIMIT 1;", true),
        ("SELECT * FROM T emit changes;", true),
        (
            "SELECT * FROM T WINDOW TUMBLING (SIZE 1 SECOND) EMIT FINAL;",
            true,
        ),
        ("SELECT * FROM T WHERE ID = 1;", false),
    ];
    for (sql, push) in cases {
        assert_eq!(is_push(sql), push, "{sql}");
    }
}

#[test]
fn case_properties_are_sent_as_text() {
    let mut case = crate::corpus::parse_file(
        &crate::json::Json::parse(
            r#"{"kind":"rest","cases":[{"id":"r","statements":[],
               "properties":{"auto.offset.reset":"latest","ksql.query.pull.table.scan.enabled":false}}]}"#,
        )
        .expect("valid"),
    )
    .expect("parses");
    let properties = streams_properties(&case.remove(0));
    assert_eq!(properties["auto.offset.reset"], "latest");
    assert_eq!(properties["ksql.query.pull.table.scan.enabled"], "false");
    assert_eq!(properties.len(), 2);
}
