//! ksqlDB's processing log: `eddy server` declares the `KSQL_PROCESSING_LOG` stream at start,
//! writes a record that cannot be deserialized and a record an expression fails on to it,
//! the query keeps processing good records, and the log survives a restart.

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tests::eddy_server::{EddyServer, http_post};
use tests::eddy_topic;

/// The rows of a push query (`... EMIT CHANGES LIMIT n`) read from the earliest offset.
fn push_rows(server: &EddyServer, sql: &str) -> Result<Vec<Value>> {
    server.query_rows(sql, json!({"ksql.streams.auto.offset.reset": "earliest"}))
}

/// The processing log's rows with TIME (wall clock) checked and left out.
fn without_time(rows: Vec<Value>) -> Vec<Value> {
    rows.into_iter()
        .map(|mut row| {
            let time = row[2].as_i64().expect("TIME is a BIGINT");
            assert!(
                time > 1_600_000_000_000,
                "TIME is a wall-clock time: {time}"
            );
            row[2] = Value::Null;
            row
        })
        .collect()
}

#[test]
fn bad_records_are_written_to_the_processing_log_and_the_query_keeps_running() -> Result<()> {
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    // A record that is not JSON, then a good one, written raw before the server starts.
    eddy_topic(&data, &["create", "arr"], "")?;
    eddy_topic(
        &data,
        &["produce", "arr", "-K", ":"],
        "a:{not json\nb:{\"A\":[1]}\n",
    )?;

    let mut server = EddyServer::start(&data, &[])?;
    let streams = server.ksql("SHOW STREAMS;")?;
    assert_eq!(
        streams[0]["streams"][0],
        json!({"type": "STREAM", "name": "KSQL_PROCESSING_LOG",
            "topic": "default_ksql_processing_log", "keyFormat": "NONE",
            "valueFormat": "JSON", "isWindowed": false}),
        "{streams}"
    );
    server.ksql(
        "CREATE STREAM arr (k STRING KEY, a ARRAY<INT>) \
           WITH (kafka_topic='arr', value_format='JSON');",
    )?;
    server.ksql("CREATE STREAM cubes AS SELECT k, CUBE_EXPLODE(a) AS c FROM arr;")?;
    // CUBE_EXPLODE throws on arrays of more than 20 elements (offset 2); offset 3 is good.
    server.ksql(
        "INSERT INTO arr (k, a) VALUES ('c', \
           ARRAY[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21]);",
    )?;
    server.ksql("INSERT INTO arr (k, a) VALUES ('d', ARRAY[2]);")?;

    let expected = vec![
        json!(["processing.CSAS_CUBES_0.ARR", "ERROR", null, {
            "TYPE": 0,
            "DESERIALIZATIONERROR": {
                "TARGET": "value",
                "ERRORMESSAGE": "failed to deserialize record from topic \"arr\" partition 0 \
                    offset 0: failed to deserialize JSON: unexpected character ('n' code 110) \
                    at byte 1",
                // base64 of `{not json`
                "RECORDB64": "e25vdCBqc29u",
                "CAUSE": [],
                "topic": "arr",
            },
            "RECORDPROCESSINGERROR": null,
            "PRODUCTIONERROR": null,
            "SERIALIZATIONERROR": null,
            "KAFKASTREAMSTHREADERROR": null,
        }]),
        json!(["processing.CSAS_CUBES_0.ARR", "ERROR", null, {
            "TYPE": 1,
            "DESERIALIZATIONERROR": null,
            "RECORDPROCESSINGERROR": {
                "ERRORMESSAGE": "failed to process record from topic \"arr\" partition 0 \
                    offset 2: expression evaluation failed: Execution error: CUBE_EXPLODE \
                    takes arrays of at most 20 elements, not 21",
                "RECORD": null,
                "CAUSE": [],
            },
            "PRODUCTIONERROR": null,
            "SERIALIZATIONERROR": null,
            "KAFKASTREAMSTHREADERROR": null,
        }]),
    ];
    let rows = push_rows(
        &server,
        "SELECT * FROM KSQL_PROCESSING_LOG EMIT CHANGES LIMIT 2;",
    )?;
    assert_eq!(without_time(rows), expected);

    // The query kept going: both good records (offsets 1 and 3) came through.
    let cubes = push_rows(&server, "SELECT k, c FROM cubes EMIT CHANGES LIMIT 4;")?;
    assert_eq!(
        cubes,
        vec![
            json!(["b", [null]]),
            json!(["b", [1]]),
            json!(["d", [null]]),
            json!(["d", [2]]),
        ]
    );

    // The log is a topic like any other: it survives a restart.
    server.kill();
    let server = EddyServer::start(&data, &[])?;
    let rows = push_rows(
        &server,
        "SELECT * FROM KSQL_PROCESSING_LOG EMIT CHANGES LIMIT 2;",
    )?;
    assert_eq!(without_time(rows), expected);
    Ok(())
}

#[test]
fn records_the_sink_cannot_serialize_are_written_to_the_processing_log() -> Result<()> {
    let directory = tempfile::tempdir()?;
    let server = EddyServer::start(&directory.path().join("data"), &[])?;
    // A registered Avro schema whose field N may not be null.
    let schema = json!({"schema": json!({"type": "record", "name": "V",
        "fields": [{"name": "N", "type": "int"}]}).to_string()});
    let (status, text) = http_post(
        server.address(),
        "/subjects/out-value/versions",
        &schema.to_string(),
    )?;
    assert_eq!((status, text.as_str()), (200, r#"{"id":1}"#));
    server.ksql(
        "CREATE STREAM src (k STRING KEY, n INT) \
           WITH (kafka_topic='src', value_format='JSON', partitions=1);",
    )?;
    server.ksql(
        "CREATE STREAM out WITH (KAFKA_TOPIC='out', VALUE_FORMAT='AVRO', VALUE_SCHEMA_ID=1) \
           AS SELECT k, n FROM src;",
    )?;
    server.ksql("INSERT INTO src (k, n) VALUES ('a', 1);")?;
    server.ksql("INSERT INTO src (k) VALUES ('b');")?;
    server.ksql("INSERT INTO src (k, n) VALUES ('c', 3);")?;

    let rows = push_rows(
        &server,
        "SELECT * FROM KSQL_PROCESSING_LOG EMIT CHANGES LIMIT 1;",
    )?;
    assert_eq!(
        without_time(rows),
        vec![json!(["processing.CSAS_OUT_0.SRC", "ERROR", null, {
            "TYPE": 3,
            "DESERIALIZATIONERROR": null,
            "RECORDPROCESSINGERROR": null,
            "PRODUCTIONERROR": null,
            "SERIALIZATIONERROR": {
                "TARGET": "value",
                "ERRORMESSAGE": "failed to serialize the value of a record for topic \"out\": \
                    Error serializing AVRO message: null value for field N of the Avro schema, \
                    which is not optional",
                "RECORD": null,
                "CAUSE": [],
                "topic": "out",
            },
            "KAFKASTREAMSTHREADERROR": null,
        }])]
    );
    // The rows around the bad one were written.
    let out = push_rows(&server, "SELECT k, n FROM out EMIT CHANGES LIMIT 2;")?;
    assert_eq!(out, vec![json!(["a", 1]), json!(["c", 3])]);
    Ok(())
}

#[test]
fn the_processing_log_follows_the_server_configuration() -> Result<()> {
    let directory = tempfile::tempdir()?;
    let config = directory.path().join("server.properties");
    let streams = |properties: &str, data: &str| -> Result<Value> {
        std::fs::write(&config, properties)?;
        let config = config.to_str().context("temporary paths are UTF-8")?;
        let server =
            EddyServer::start_with(&directory.path().join(data), &[], &["--config", config])?;
        Ok(server.ksql("SHOW STREAMS;")?[0]["streams"].clone())
    };
    // The topic is named after the service id unless named itself.
    let named = streams("ksql.service.id=billing_\n", "a")?;
    assert_eq!(named[0]["topic"], "billing_ksql_processing_log", "{named}");
    let named = streams(
        "ksql.logging.processing.topic.name=errors\n\
         ksql.logging.processing.stream.name=ERRORS\n",
        "b",
    )?;
    assert_eq!(
        (&named[0]["name"], &named[0]["topic"]),
        (&json!("ERRORS"), &json!("errors")),
        "{named}"
    );
    let none = streams("ksql.logging.processing.stream.auto.create=false\n", "c")?;
    assert_eq!(none, json!([]));
    Ok(())
}
