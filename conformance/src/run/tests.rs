//! Tests of running and judging qtt cases.

use super::*;
use crate::corpus::parse_file;
use crate::engine::EmbeddedEngineFactory;
use crate::json::Json;
use crate::verdict::Status;

fn case(json: &str) -> Case {
    let document = Json::parse(&format!("{{\"kind\":\"qtt\",\"cases\":[{json}]}}")).expect("valid");
    parse_file(&document).expect("parses").remove(0)
}

#[test]
fn expected_errors_match_on_message_and_cause() {
    let expected = |kind: &str, message: Option<&str>, cause: Option<&str>| ExpectedError {
        kind: Some(kind.to_string()),
        message: message.map(str::to_string),
        cause: None,
        cause_message: cause.map(str::to_string),
        status: None,
    };
    let statement = "io.confluent.ksql.util.KsqlStatementException";
    let streams = "org.apache.kafka.streams.errors.StreamsException";
    let cases = [
        (
            expected(statement, Some("does not exist"), None),
            "stream `X` does not exist",
            false,
            true,
        ),
        (
            expected(statement, Some("does not exist"), None),
            "syntax error",
            false,
            false,
        ),
        (
            expected(statement, Some("a"), Some("b")),
            "a: b",
            false,
            true,
        ),
        (
            expected(statement, Some("a"), Some("c")),
            "a: b",
            false,
            false,
        ),
        (
            expected(
                streams,
                Some("Exception caught in process"),
                Some("Numeric field overflow"),
            ),
            "query X failed: Numeric field overflow",
            true,
            true,
        ),
        (
            expected(streams, Some("Exception caught in process"), None),
            "query X failed: other",
            true,
            false,
        ),
    ];
    for (expected, text, processing, matches) in cases {
        let result = check_expected_error(&expected, text, processing);
        assert_eq!(
            result.is_ok(),
            matches,
            "{expected:?} vs {text}: {result:?}"
        );
    }
}

#[test]
fn an_expected_error_that_does_not_occur_fails() {
    let no_error = case(
        r#"{"id":"e","kind":"qtt","statements":[],"inputs":[],"outputs":[],
           "expected_error":{"type":"io.confluent.ksql.util.KsqlStatementException",
                             "message":"boom","cause":null,"cause_message":null}}"#,
    );
    let verdict = run_case(&no_error, &EmbeddedEngineFactory);
    assert_eq!(verdict.status, Status::Fail);
    assert_eq!(
        verdict.reason,
        "expected error containing \"boom\" but none occurred"
    );
}

#[test]
fn missing_output_records_fail_with_the_first_missing_record() {
    let missing = case(
        r#"{"id":"m","kind":"qtt","statements":[],"inputs":[],
           "topics":[{"name":"t","keyFormat":"KAFKA","valueFormat":"JSON"}],
           "outputs":[{"topic":"t","key":"a","value":{"V":1}}]}"#,
    );
    let verdict = run_case(&missing, &EmbeddedEngineFactory);
    assert_eq!(verdict.status, Status::Fail);
    assert_eq!(
        verdict.reason,
        "topic t: record 0: expected key=\"a\" value={\"V\":1}, actual none (expected 1 records, got 0)"
    );
}

#[test]
fn inputs_reach_their_topic_and_compare_as_outputs() {
    // No statements: what is produced is read back, which exercises the serdes, the
    // partitioner and the comparison end to end without depending on the SQL engine.
    let json = r#"{"id":"i","kind":"qtt","statements":[],
           "topics":[{"name":"t","keyFormat":"KAFKA","valueFormat":"JSON","partitions":4}],
           "inputs":[{"topic":"t","key":"a","value":{"V":1.10},"timestamp":3,
                      "headers":[{"KEY":"h","VALUE":"IQ=="}]},
                     {"topic":"t","key":null,"value":null}],
           "outputs":[{"topic":"t","key":"a","value":{"V":1.10},"timestamp":3,
                       "headers":[{"KEY":"h","VALUE":"IQ=="}]},
                      {"topic":"t","key":null,"value":null}]}"#;
    assert_eq!(
        run_case(&case(json), &EmbeddedEngineFactory),
        Verdict::pass()
    );
    let altered = json.replace(
        "\"outputs\":[{\"topic\":\"t\",\"key\":\"a\",\"value\":{\"V\":1.10}",
        "\"outputs\":[{\"topic\":\"t\",\"key\":\"a\",\"value\":{\"V\":1.2}",
    );
    let verdict = run_case(&case(&altered), &EmbeddedEngineFactory);
    assert_eq!(verdict.status, Status::Fail);
    assert!(
        verdict
            .reason
            .starts_with("topic t: record 0: expected key=\"a\" value={\"V\":1.2}"),
        "{}",
        verdict.reason
    );
    assert!(
        verdict
            .reason
            .contains("actual key=\"a\" value={\"V\":1.10}"),
        "{}",
        verdict.reason
    );
}
#[test]
fn schema_registry_formats_run_end_to_end() {
    for format in ["AVRO", "PROTOBUF", "JSON_SR", "PROTOBUF_NOSR"] {
        let json = r#"{"id":"sr","kind":"qtt",
               "statements":["CREATE STREAM INPUT (K STRING KEY, V INT, D DECIMAL(4,2), A ARRAY<STRING>) WITH (kafka_topic='t', partitions=1, value_format='F');",
                             "CREATE STREAM OUTPUT AS SELECT K, V * 2 AS W, D, A FROM INPUT;"],
               "inputs":[{"topic":"t","key":"a","value":{"V":1,"D":1.50,"A":["x","y"]}}],
               "outputs":[{"topic":"OUTPUT","key":"a","value":{"W":2,"D":1.50,"A":["x","y"]}}]}"#
            .replace("'F'", &format!("'{format}'"));
        assert_eq!(
            run_case(&case(&json), &EmbeddedEngineFactory),
            Verdict::pass(),
            "{format}"
        );
    }
}

#[test]
fn registered_schemas_drive_inference_and_schema_ids() {
    let json = r#"{"id":"inference","kind":"qtt",
           "statements":["CREATE STREAM INPUT WITH (kafka_topic='input', format='AVRO');",
                         "CREATE STREAM OUTPUT WITH (VALUE_SCHEMA_ID=5) AS SELECT * FROM INPUT;"],
           "topics":[{"name":"input","keyFormat":"AVRO","valueFormat":"AVRO",
                      "keySchema":{"type":"int"},
                      "valueSchema":{"type":"record","name":"r","fields":[{"name":"c1","type":["null","string"]},{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}}]}},
                     {"name":"OUTPUT","valueFormat":"AVRO","valueSchemaId":5,
                      "valueSchema":{"type":"record","name":"o","fields":[{"name":"C1","type":["null","string"]},{"name":"E","type":["null","string"]},{"name":"X","type":"int","default":7}]}}],
           "inputs":[{"topic":"input","key":3,"value":{"c1":"hi","e":"B"}}],
           "outputs":[{"topic":"OUTPUT","key":3,"value":{"C1":"hi","E":"B","X":7}}],
           "post":{"sources":[{"name":"INPUT","type":"stream","schema":"ROWKEY INT KEY, C1 STRING, E STRING"}]}}"#;
    assert_eq!(
        run_case(&case(json), &EmbeddedEngineFactory),
        Verdict::pass()
    );
}
