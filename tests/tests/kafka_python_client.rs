//! Confluent's Python Kafka client (`confluent-kafka` on PyPI, librdkafka) against the topics
//! of an `eddy server --bootstrap-servers` on a real broker, running
//! `tests/python/kafka_round_trip.py`: records it produces (keys, headers, timestamps, and
//! Avro values registered in Eddy's Schema Registry API) are read by Eddy's streams, and the
//! records Eddy's persistent queries write are read back with `isolation.level=read_committed`.
//!
//! The test fails when python3 or the packages are missing (`./dev test` installs them);
//! `EDDY_SKIP_PYTHON=1` skips it on machines without them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use executor::log::partitioner::partition_for_key;
use serde_json::{Value, json};
use tests::eddy_server::EddyServer;
use tests::kafka::{KafkaBroker, java_tool};
use tests::{describe_output, run_command};

/// How long one client run may take (the consumer itself gives up after 60 seconds).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);
/// The pinned packages, installed by `./dev test`.
const PYTHON_PACKAGES: &str = "confluent-kafka==2.6.1 fastavro requests";
/// Partitions of the input topics.
const PARTITIONS: u32 = 4;
/// Records the Python client produces to each input topic.
const RECORDS: i64 = 40;
/// Event time of the first input record (ms).
const FIRST_TIMESTAMP: i64 = 1_700_000_000_000;
/// confluent_kafka's `TIMESTAMP_CREATE_TIME`: the producer set the timestamp.
const TIMESTAMP_CREATE_TIME: i64 = 1;

fn python_script() -> PathBuf {
    tests::manifest_dir().join("python/kafka_round_trip.py")
}

fn partition_of_source() -> PathBuf {
    tests::manifest_dir().join("kafka/java/PartitionOf.java")
}

/// Whether the test should run: false (with a loud message) when `EDDY_SKIP_PYTHON=1`; an
/// error when python3 or the packages are missing.
fn python_client_available(test: &str) -> Result<bool> {
    if std::env::var("EDDY_SKIP_PYTHON").is_ok_and(|value| value == "1") {
        eprintln!(
            "SKIPPED {test}: EDDY_SKIP_PYTHON=1 (needs python3 and `pip install {PYTHON_PACKAGES}`)"
        );
        return Ok(false);
    }
    let probe = Command::new("python3")
        .args([
            "-c",
            "import confluent_kafka, confluent_kafka.schema_registry.avro, fastavro, requests",
        ])
        .output()
        .context("python3 is missing: install it, or set EDDY_SKIP_PYTHON=1 to skip this test")?;
    if !probe.status.success() {
        bail!(
            "the Python packages are missing: run `python3 -m pip install {PYTHON_PACKAGES}` \
             (./dev test does), or set EDDY_SKIP_PYTHON=1 to skip this test\n{}",
            String::from_utf8_lossy(&probe.stderr)
        );
    }
    Ok(true)
}

/// Runs the script with `args` and `input` on its stdin; returns its stdout lines as JSON.
fn run_client(args: &[&str], input: &str) -> Result<Vec<Value>> {
    let output = run_command(
        Command::new("python3").arg(python_script()).args(args),
        input.as_bytes(),
        CLIENT_TIMEOUT,
    )?;
    if !output.status.success() {
        bail!("the client {args:?} failed\n{}", describe_output(&output));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            serde_json::from_str(line).with_context(|| {
                format!(
                    "the client printed a line that is not JSON\n{}",
                    describe_output(&output)
                )
            })
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The input records: keys `order-N % 7`, a `trace` header and timestamps one second apart;
/// `value(n)` gives the value of record `n`.
fn input_records(value: impl Fn(i64) -> Value) -> Vec<Value> {
    (0..RECORDS)
        .map(|n| {
            json!({
                "key": format!("order-{}", n % 7),
                "value": value(n),
                "timestamp": FIRST_TIMESTAMP + n * 1_000,
                "headers": {"trace": format!("trace-{n}")},
            })
        })
        .collect()
}

/// Checks that the Python producer put each record where the Java producer would.
fn assert_produced_like_java(records: &[Value], delivered: &[Value]) {
    assert_eq!(
        delivered.len(),
        records.len(),
        "one delivery report per record"
    );
    for (record, report) in records.iter().zip(delivered) {
        let key = record["key"].as_str().expect("string keys");
        assert_eq!(
            report["partition"],
            json!(partition_for_key(key.as_bytes(), PARTITIONS)),
            "the Python producer (murmur2_random) placed key {key:?} like the Java producer"
        );
    }
}

/// The `trace` header, the value, the timestamp and the partition the Java producer picks for
/// its key, per input record, by `ID` (the value field every test value carries).
fn output_by_id(output: &[Value]) -> BTreeMap<i64, &Value> {
    output
        .iter()
        .map(|record| {
            let value: Value = serde_json::from_str(record["value"].as_str().unwrap_or("null"))
                .expect("JSON output values");
            (
                value["ID"].as_i64().expect("an ID in every output value"),
                record,
            )
        })
        .collect()
}

#[test]
fn confluent_kafka_python_client_round_trips_through_eddy_on_kafka() -> Result<()> {
    if !python_client_available("confluent_kafka_python_client_round_trips_through_eddy_on_kafka")?
    {
        return Ok(());
    }
    let broker = KafkaBroker::start()?;
    let bootstrap = broker.bootstrap();
    broker.create_topic("orders", PARTITIONS)?;
    let directory = tempfile::tempdir()?;
    let server = EddyServer::start(
        &directory.path().join("data"),
        &["--bootstrap-servers", &bootstrap],
    )?;

    let records = input_records(|n| {
        json!(format!(
            r#"{{"ID":{n},"ITEM":"item-{}","QTY":{}}}"#,
            n % 5,
            n * 3
        ))
    });
    let delivered = run_client(
        &[&bootstrap, "produce", "orders"],
        &json!(records).to_string(),
    )?;
    assert_produced_like_java(&records, &delivered);

    server.ksql(
        "CREATE STREAM orders (order_id VARCHAR KEY, id BIGINT, item VARCHAR, qty INT, \
           trace BYTES HEADER('trace')) \
         WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON');",
    )?;
    server.ksql(
        "CREATE STREAM shipped AS SELECT order_id, id, UCASE(item) AS item, qty, \
           FROM_BYTES(trace, 'utf8') AS trace_id, ROWTIME AS input_time \
         FROM orders EMIT CHANGES;",
    )?;
    let output = run_client(
        &[&bootstrap, "consume", "SHIPPED", &RECORDS.to_string()],
        "",
    )
    .with_context(|| format!("eddy server log:\n{}", server.log()))?;
    let by_id = output_by_id(&output);
    assert_eq!(
        by_id.keys().copied().collect::<Vec<_>>(),
        (0..RECORDS).collect::<Vec<_>>(),
        "every input record is read once"
    );
    for (n, record) in (0..RECORDS).zip(&records) {
        let out = by_id[&n];
        let key = record["key"].as_str().expect("string keys");
        let value: Value = serde_json::from_str(out["value"].as_str().expect("text values"))?;
        let timestamp = record["timestamp"].as_i64().expect("timestamps");
        assert_eq!(
            value,
            json!({
                "ID": n,
                "ITEM": format!("ITEM-{}", n % 5),
                "QTY": n * 3,
                "TRACE_ID": format!("trace-{n}"),
                "INPUT_TIME": timestamp,
            }),
            "value of record {n}"
        );
        // The KAFKA format's VARCHAR key is its UTF-8 bytes.
        assert_eq!(out["key"], json!(hex(key.as_bytes())), "key of record {n}");
        assert_eq!(
            out["timestamp"],
            json!(timestamp),
            "timestamp of record {n}"
        );
        assert_eq!(
            out["timestamp_type"],
            json!(TIMESTAMP_CREATE_TIME),
            "timestamp type of record {n}"
        );
        assert_eq!(
            out["partition"],
            json!(partition_for_key(key.as_bytes(), PARTITIONS)),
            "partition of record {n} (key {key:?})"
        );
    }

    // Cross-check the partitions with the Java producer itself, on a topic of its own.
    broker.create_topic("java-probe", PARTITIONS)?;
    let keys: Vec<&str> = records
        .iter()
        .take(7)
        .map(|record| record["key"].as_str().expect("string keys"))
        .collect();
    let hex_keys: Vec<String> = keys.iter().map(|key| hex(key.as_bytes())).collect();
    let mut args = vec![bootstrap.as_str(), "java-probe"];
    args.extend(hex_keys.iter().map(String::as_str));
    let java = java_tool(&partition_of_source(), "PartitionOf", &args)?;
    let java_partitions: Vec<u32> = java
        .split_whitespace()
        .skip(2)
        .map(|partition| partition.parse().expect("PartitionOf prints numbers"))
        .collect();
    let eddy_partitions: Vec<u32> = keys
        .iter()
        .map(|key| {
            let out = output
                .iter()
                .find(|out| out["key"] == json!(hex(key.as_bytes())))
                .expect("every key reached the output");
            out["partition"].as_u64().expect("a partition") as u32
        })
        .collect();
    assert_eq!(
        eddy_partitions, java_partitions,
        "Eddy's output partitions of {keys:?} vs the Java producer's ({java})"
    );
    Ok(())
}

#[test]
fn avro_records_from_the_python_serializer_are_read_by_eddy_on_kafka() -> Result<()> {
    if !python_client_available(
        "avro_records_from_the_python_serializer_are_read_by_eddy_on_kafka",
    )? {
        return Ok(());
    }
    let broker = KafkaBroker::start()?;
    let bootstrap = broker.bootstrap();
    broker.create_topic("avro_orders", PARTITIONS)?;
    let directory = tempfile::tempdir()?;
    let server = EddyServer::start(
        &directory.path().join("data"),
        &["--bootstrap-servers", &bootstrap],
    )?;
    let registry = format!("http://{}", server.address());

    let records = input_records(|n| json!({"ITEM": format!("item-{n}"), "QTY": n}));
    let delivered = run_client(
        &[&bootstrap, "produce-avro", "avro_orders", &registry],
        &json!(records).to_string(),
    )?;
    assert_produced_like_java(&records, &delivered);

    // The value columns come from the schema the serializer registered.
    server.ksql(
        "CREATE STREAM avro_orders (order_id VARCHAR KEY) \
         WITH (KAFKA_TOPIC='avro_orders', VALUE_FORMAT='AVRO');",
    )?;
    server.ksql(
        "CREATE STREAM avro_shipped WITH (VALUE_FORMAT='JSON') AS \
         SELECT order_id, qty AS id, item FROM avro_orders EMIT CHANGES;",
    )?;
    let output = run_client(
        &[&bootstrap, "consume", "AVRO_SHIPPED", &RECORDS.to_string()],
        "",
    )
    .with_context(|| format!("eddy server log:\n{}", server.log()))?;
    let by_id = output_by_id(&output);
    assert_eq!(
        by_id.keys().copied().collect::<Vec<_>>(),
        (0..RECORDS).collect::<Vec<_>>(),
        "every Avro record is read once"
    );
    for (n, record) in (0..RECORDS).zip(&records) {
        let out = by_id[&n];
        let value: Value = serde_json::from_str(out["value"].as_str().expect("text values"))?;
        assert_eq!(
            value,
            json!({"ID": n, "ITEM": format!("item-{n}")}),
            "value of record {n}"
        );
        assert_eq!(
            out["timestamp"], record["timestamp"],
            "timestamp of record {n}"
        );
    }
    Ok(())
}
