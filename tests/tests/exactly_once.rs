//! Kill -9 of a process running a persistent query, at several points, loses and duplicates
//! nothing: after the restarts the sink topic holds every expected record exactly once.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use executor::{Record, TopicLog};
use server::{Engine, Session};
use tests::{eddy_binary, execute, wait_until};

const RECORDS: u64 = 100_000;

/// Starts eddy on `script`, waits until it printed `ready`, lets it run for `run_for`,
/// then kills it with SIGKILL.
fn run_and_kill(data: &std::path::Path, script: &std::path::Path, ready: &str, run_for: Duration) {
    let mut child = Command::new(eddy_binary())
        .arg("--data-dir")
        .arg(data)
        .arg("--file")
        .arg(script)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("eddy starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains(ready) => break,
            Some(Ok(_)) => continue,
            other => panic!("eddy ended before printing {ready:?}: {other:?}"),
        }
    }
    // The kill point: a chosen instant into the query's processing.
    std::thread::sleep(run_for);
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
}

#[test]
fn persistent_query_survives_sigkill_at_several_points_without_loss_or_duplicates() {
    let directory = tempfile::tempdir().expect("temp dir");
    let data = directory.path().join("data");
    {
        let engine = Engine::open(&data).expect("engine opens");
        execute(
            &engine,
            &mut Session::default(),
            "CREATE STREAM src (id BIGINT KEY, v BIGINT, name VARCHAR)
               WITH (KAFKA_TOPIC='src', VALUE_FORMAT='JSON', PARTITIONS=2);
             CREATE STREAM idle (x INT) WITH (KAFKA_TOPIC='idle', VALUE_FORMAT='JSON', PARTITIONS=1);",
        );
        let log = engine.topic_log();
        for chunk in 0..(RECORDS / 10_000) {
            let records = (chunk * 10_000..(chunk + 1) * 10_000)
                .map(|id| {
                    (
                        (id % 2) as u32,
                        Record {
                            key: Some((id as i64).to_be_bytes().to_vec()),
                            value: Some(format!(r#"{{"V":{id},"NAME":"n{id}"}}"#).into_bytes()),
                            timestamp: id as i64,
                            headers: Vec::new(),
                        },
                    )
                })
                .collect();
            log.produce("src", records).expect("produce");
        }
    }
    let first = directory.path().join("first.sql");
    std::fs::write(
        &first,
        "CREATE STREAM out AS SELECT id, v * 2 AS v2, name FROM src WHERE v % 3 <> 0;
         SELECT * FROM idle EMIT CHANGES;",
    )
    .expect("write script");
    let again = directory.path().join("again.sql");
    std::fs::write(&again, "SELECT * FROM idle EMIT CHANGES;").expect("write script");

    run_and_kill(
        &data,
        &first,
        "Created query with ID CSAS_OUT_0",
        Duration::from_millis(150),
    );
    for millis in [50, 120, 250, 400, 700] {
        run_and_kill(&data, &again, "+", Duration::from_millis(millis));
    }

    // Restart in-process: the command log restarts the query, which finishes the input.
    let engine = Engine::open(&data).expect("engine reopens");
    let log: Arc<dyn TopicLog> = engine.topic_log();
    let ends = log.offsets("src").expect("offsets");
    wait_until(
        Duration::from_secs(300),
        "the query to consume all input",
        || {
            let committed = log.committed_offsets("CSAS_OUT_0", "src")?;
            Ok(committed
                .iter()
                .zip(&ends)
                .all(|(committed, (_, end))| committed.is_some_and(|c| c >= *end)))
        },
    )
    .expect("query completes");

    let mut seen: BTreeMap<i64, String> = BTreeMap::new();
    let mut total = 0u64;
    for (partition, (start, end)) in log
        .offsets("OUT")
        .expect("sink exists")
        .into_iter()
        .enumerate()
    {
        let mut offset = start;
        while offset < end {
            let records = log
                .read("OUT", partition as u32, offset, 10_000)
                .expect("read");
            for record in &records {
                let key = i64::from_be_bytes(
                    record
                        .record
                        .key
                        .as_deref()
                        .expect("keyed")
                        .try_into()
                        .expect("8-byte key"),
                );
                let value =
                    String::from_utf8(record.record.value.clone().expect("value")).expect("utf-8");
                total += 1;
                assert!(
                    seen.insert(key, value).is_none(),
                    "record {key} written twice"
                );
            }
            offset = records.last().map_or(end, |r| r.offset + 1);
        }
    }
    let expected: Vec<i64> = (0..RECORDS as i64).filter(|v| v % 3 != 0).collect();
    assert_eq!(total, expected.len() as u64, "sink record count");
    assert_eq!(seen.keys().copied().collect::<Vec<_>>(), expected);
    for (key, value) in [
        (1i64, r#"{"V2":2,"NAME":"n1"}"#),
        (99_998, r#"{"V2":199996,"NAME":"n99998"}"#),
    ] {
        assert_eq!(seen.get(&key).map(String::as_str), Some(value));
    }
}
