//! Record headers and table changelogs end to end through `eddy server`: records produced
//! with headers by `eddy topic produce -H` are read as `HEADERS` and `HEADER('key')`
//! columns over REST, a persistent query carries each input record's headers to its output
//! record, a push query over a table shows a delete as a tombstone row, and a pull query
//! answers its rows as protobuf messages when asked to.

use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tests::eddy_server::{EddyServer, http_post_accepting};
use tests::{eddy_topic, wait_until};

const WAIT: Duration = Duration::from_secs(60);

/// `POST /query` of `sql` (from the earliest offsets) with `accept`: the response's
/// elements.
fn query(server: &EddyServer, sql: &str, accept: &str) -> Result<Vec<Value>> {
    let body = json!({
        "ksql": sql,
        "streamsProperties": {"auto.offset.reset": "earliest"},
    });
    let (status, text) =
        http_post_accepting(server.address(), "/query", &body.to_string(), accept)?;
    anyhow::ensure!(
        status == 200,
        "POST /query {sql:?} answered {status}: {text}"
    );
    let elements: Value =
        serde_json::from_str(&text).with_context(|| format!("not JSON: {text}"))?;
    Ok(elements.as_array().cloned().unwrap_or_default())
}

/// The elements after the header (which also carries a query id that changes).
fn after_header(elements: &[Value]) -> &[Value] {
    elements.get(1..).unwrap_or_default()
}

#[test]
fn headers_columns_tombstones_and_protobuf_rows_over_rest() -> Result<()> {
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    eddy_topic(&data, &["create", "clicks"], "")?;
    // Two `trace` headers (the last one is HEADER('trace')), a record without headers, and
    // one with another header.
    eddy_topic(
        &data,
        &[
            "produce",
            "clicks",
            "-K",
            ":",
            "-H",
            "trace=abc",
            "-H",
            "trace=xyz",
            "-H",
            "src=web",
        ],
        "u1:{\"N\":1}\n",
    )?;
    eddy_topic(&data, &["produce", "clicks", "-K", ":"], "u2:{\"N\":-5}\n")?;
    eddy_topic(
        &data,
        &["produce", "clicks", "-K", ":", "-H", "src=app"],
        "u3:{\"N\":3}\n",
    )?;
    // A table: an upsert, its delete (an empty value with -Z is a tombstone), another key.
    eddy_topic(&data, &["create", "users"], "")?;
    eddy_topic(
        &data,
        &["produce", "users", "-K", ":"],
        "u1:{\"NAME\":\"ann\"}\n",
    )?;
    eddy_topic(&data, &["produce", "users", "-K", ":", "-Z"], "u1:\n")?;
    eddy_topic(
        &data,
        &["produce", "users", "-K", ":"],
        "u2:{\"NAME\":\"bob\"}\n",
    )?;

    let mut server = EddyServer::start(&data, &[])?;
    server.ksql(
        "CREATE STREAM clicks (uid STRING KEY, n INT, \
           hs ARRAY<STRUCT<key STRING, value BYTES>> HEADERS, trace BYTES HEADER('trace')) \
         WITH (kafka_topic='clicks', value_format='JSON');\
         CREATE STREAM positive AS SELECT uid, n, trace FROM clicks WHERE n > 0;\
         CREATE TABLE users (id STRING PRIMARY KEY, name STRING) \
         WITH (kafka_topic='users', value_format='JSON');\
         CREATE TABLE users_view AS SELECT * FROM users;",
    )?;
    let json = "application/vnd.ksql.v1+json";

    // Header columns: all headers in order, and the last value of `trace` (base64: abc =
    // YWJj, xyz = eHl6, web = d2Vi, app = YXBw).
    let rows = query(
        &server,
        "SELECT uid, n, hs, trace FROM clicks EMIT CHANGES LIMIT 3;",
        json,
    )?;
    assert_eq!(
        rows[0]["header"]["schema"],
        "`UID` STRING, `N` INTEGER, `HS` ARRAY<STRUCT<`KEY` STRING, `VALUE` BYTES>>, `TRACE` BYTES"
    );
    assert_eq!(
        after_header(&rows),
        [
            json!({"row": {"columns": ["u1", 1, [
                {"KEY": "trace", "VALUE": "YWJj"},
                {"KEY": "trace", "VALUE": "eHl6"},
                {"KEY": "src", "VALUE": "d2Vi"},
            ], "eHl6"]}}),
            json!({"row": {"columns": ["u2", -5, [], null]}}),
            json!({"row": {"columns": ["u3", 3, [{"KEY": "src", "VALUE": "YXBw"}], null]}}),
            json!({"finalMessage": "Limit Reached"}),
        ]
    );

    // A push query over a table: the delete of u1 is a tombstone row.
    let rows = query(&server, "SELECT * FROM users EMIT CHANGES LIMIT 3;", json)?;
    assert_eq!(
        after_header(&rows),
        [
            json!({"row": {"columns": ["u1", "ann"]}}),
            json!({"row": {"columns": ["u1", null], "tombstone": true}}),
            json!({"row": {"columns": ["u2", "bob"]}}),
            json!({"finalMessage": "Limit Reached"}),
        ]
    );

    // The persistent query has written both positive clicks when the pull query sees u2.
    let rows = query(
        &server,
        "SELECT uid, n FROM positive EMIT CHANGES LIMIT 2;",
        json,
    )?;
    assert_eq!(after_header(&rows).len(), 3, "{rows:?}");
    wait_until(WAIT, "the materialized table", || {
        Ok(server.pull("SELECT * FROM users_view;")? == [json!(["u2", "bob"])])
    })?;

    // A pull query as protobuf: the .proto of its columns, and each row's message
    // (field 1 "u2": 0a 02 75 32, field 2 "bob": 12 03 62 6f 62).
    let rows = query(
        &server,
        "SELECT * FROM users_view;",
        "application/vnd.ksql.v1+protobuf",
    )?;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        rows[0]["header"]["schema"],
        "`ID` STRING KEY, `NAME` STRING"
    );
    assert_eq!(
        rows[0]["header"]["protoSchema"],
        "syntax = \"proto3\";\n\nmessage ConnectDefault1 {\n  string ID = 1;\n  string NAME = 2;\n}\n"
    );
    assert_eq!(rows[1], json!({"row": {"protobufBytes": "CgJ1MhIDYm9i"}}));
    server.kill();

    // The output records carry their input record's headers (u2 was filtered out).
    let consumed = eddy_topic(&data, &["consume", "POSITIVE", "-f", "%k|%s|%h\\n"], "")?;
    assert_eq!(
        consumed,
        "u1|{\"N\":1,\"TRACE\":\"eHl6\"}|trace=abc,trace=xyz,src=web\n\
         u3|{\"N\":3,\"TRACE\":null}|src=app\n"
    );
    Ok(())
}

#[test]
fn header_columns_refuse_inserts_and_other_types() -> Result<()> {
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    let server = EddyServer::start(&data, &[])?;
    server.ksql(
        "CREATE STREAM s (k STRING KEY, h1 BYTES HEADER('abc'), v BIGINT) \
         WITH (kafka_topic='s', value_format='JSON', partitions=1);\
         CREATE STREAM plain (k STRING KEY, h1 BYTES, v BIGINT) \
         WITH (kafka_topic='plain', value_format='JSON', partitions=1);",
    )?;
    let cases = [
        (
            "INSERT INTO s VALUES ('a', null, 1);",
            "Cannot insert into HEADER columns: H1",
        ),
        (
            "INSERT INTO s (k, h1) VALUES ('a', null);",
            "Cannot insert into HEADER columns: H1",
        ),
        (
            "INSERT INTO s SELECT * FROM plain;",
            "Cannot insert into S because it has header columns",
        ),
        (
            "CREATE STREAM bad (k STRING KEY, h INT HEADER('key')) \
             WITH (kafka_topic='bad', value_format='JSON', partitions=1);",
            "Invalid type for HEADER('key') column: expected BYTES, got INTEGER",
        ),
        (
            "CREATE STREAM bad (k STRING KEY, h ARRAY<STRING> HEADERS) \
             WITH (kafka_topic='bad', value_format='JSON', partitions=1);",
            "Invalid type for HEADERS column: expected ARRAY<STRUCT<`KEY` STRING, `VALUE` BYTES>>, got ARRAY<STRING>",
        ),
    ];
    for (sql, message) in cases {
        let error = server.ksql(sql).expect_err(sql).to_string();
        assert!(
            error.contains(message),
            "{sql}: expected {message:?} in {error}"
        );
    }
    // Inserting the other columns is fine.
    server.ksql("INSERT INTO s (k, v) VALUES ('a', 1);")?;
    Ok(())
}

/// Our own golden cases in the corpus format (`tests/cases`), expected records worked out
/// by hand from Kafka Streams' rule: a result carries the headers of the record being
/// processed when it is emitted.
#[test]
fn golden_cases_of_headers_carried_through_joins_and_aggregations_pass() -> Result<()> {
    let cases = conformance::load_corpus(&tests::manifest_dir().join("cases"))?;
    assert!(!cases.is_empty());
    let factory: std::sync::Arc<dyn conformance::EngineFactory> =
        std::sync::Arc::new(conformance::EmbeddedEngineFactory);
    for case in &cases {
        let verdict = conformance::run_case(case, factory.as_ref());
        assert_eq!(
            verdict.status,
            conformance::Status::Pass,
            "{}: {}",
            case.id,
            verdict.reason
        );
    }
    Ok(())
}
