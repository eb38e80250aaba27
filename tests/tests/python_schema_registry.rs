//! Confluent's Python Schema Registry client (`confluent-kafka` on PyPI, with `fastavro`)
//! against the registry that `eddy server` serves, running
//! `tests/python/test_schema_registry_client.py`: records it serializes with
//! `AvroSerializer` are decoded by an AVRO stream, and the records a persistent query writes
//! are decoded by `AvroDeserializer`.
//!
//! The test fails when python3 or the packages are missing (`./dev test` installs them);
//! `EDDY_SKIP_PYTHON=1` skips it on machines without them.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use executor::log::Record;
use serde_json::{Value, json};
use server::http::{HttpConfig, HttpServer};
use server::{Engine, Session};
use tests::{describe_output, execute, run_command, wait_until};

/// How long one client run may take.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the persistent query may take to write its records.
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);
/// The pinned packages, installed by `./dev test`.
const PYTHON_PACKAGES: &str = "confluent-kafka==2.6.1 fastavro requests";

fn python_script() -> PathBuf {
    tests::manifest_dir().join("python/test_schema_registry_client.py")
}

/// Runs the script in `mode` with `input` on its stdin and returns its stdout as JSON.
fn run_client(url: &str, mode: &str, topic: &str, input: &str) -> Result<Value> {
    let output = run_command(
        Command::new("python3")
            .arg(python_script())
            .args([url, mode, topic]),
        input.as_bytes(),
        CLIENT_TIMEOUT,
    )?;
    if !output.status.success() {
        bail!(
            "the client failed in {mode} mode\n{}",
            describe_output(&output)
        );
    }
    serde_json::from_slice(&output.stdout)
        .with_context(|| format!("the client printed no JSON\n{}", describe_output(&output)))
}

#[test]
fn confluent_avro_serializers_interoperate_with_eddy() -> Result<()> {
    if std::env::var("EDDY_SKIP_PYTHON").is_ok_and(|value| value == "1") {
        eprintln!(
            "SKIPPED confluent_avro_serializers_interoperate_with_eddy: EDDY_SKIP_PYTHON=1 \
             (needs python3 and `pip install {PYTHON_PACKAGES}`)"
        );
        return Ok(());
    }
    let probe = Command::new("python3")
        .args([
            "-c",
            "import confluent_kafka.schema_registry.avro, fastavro, requests",
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
    let directory = tempfile::tempdir()?;
    let engine = Engine::open(directory.path())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let server = runtime.block_on(HttpServer::start(
        Arc::clone(&engine),
        "127.0.0.1:0".parse()?,
        HttpConfig::default(),
    ))?;
    let url = format!("http://{}", server.local_addr());

    // The client registers the schema of `users` values and serializes two records.
    let produced = run_client(&url, "produce", "users", "")?;
    let payloads: Vec<Vec<u8>> = produced["payloads"]
        .as_array()
        .context("payloads")?
        .iter()
        .map(|payload| decode_hex(payload.as_str().unwrap_or_default()))
        .collect::<Result<_>>()?;

    // Eddy infers the stream's columns from the registered schema and decodes the records.
    let mut session = Session::default();
    session
        .properties
        .insert("auto.offset.reset".into(), "earliest".into());
    execute(
        &engine,
        &mut session,
        "CREATE STREAM users WITH (kafka_topic='users', value_format='AVRO', partitions=1);",
    );
    let log = engine.topic_log();
    let records = payloads
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            let record = Record {
                key: None,
                value: Some(value),
                timestamp: 1_000 + index as i64,
                headers: Vec::new(),
            };
            (0, record)
        })
        .collect();
    log.produce("users", records)?;
    execute(
        &engine,
        &mut session,
        "CREATE STREAM scored WITH (kafka_topic='scored', value_format='AVRO') AS \
         SELECT ID, UCASE(NAME) AS NAME, SCORE * 2 AS DOUBLED FROM users;",
    );
    wait_until(QUERY_TIMEOUT, "two records in scored", || {
        Ok(log
            .offsets("scored")
            .map(|offsets| offsets.iter().map(|(_, end)| end).sum::<u64>() >= 2)
            .unwrap_or(false))
    })?;
    let written: Vec<Value> = log
        .read("scored", 0, 0, 10)?
        .iter()
        .map(|consumed| json!(encode_hex(consumed.record.value.as_deref().unwrap_or(&[]))))
        .collect();

    // The client decodes them with the schema Eddy registered for `scored`.
    let decoded = run_client(&url, "consume", "scored", &json!(written).to_string())?;
    assert_eq!(
        decoded,
        json!([
            {"ID": 1, "NAME": "ANN", "DOUBLED": 3.0},
            {"ID": 2, "NAME": "BOB", "DOUBLED": null},
        ])
    );
    runtime.block_on(server.stop());
    Ok(())
}

fn decode_hex(text: &str) -> Result<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|start| {
            text.get(start..start + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .context("hex digits")
        })
        .collect()
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
