//! End-to-end tests of aggregations whose grouping is not the source's key, over sources of
//! several partitions: their rows move through ksqlDB's `Aggregate-GroupBy-repartition`
//! topic (keyed by the grouping values), the aggregation runs per partition of that topic,
//! and the result is what one task over every record computes: per group, every record
//! counted once. `EMIT FINAL` closes the windows of each partition by its own stream time.
//!
//! Expected values are derived by hand from the records each test writes.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use executor::log::partitioner::partition_for_key;
use executor::{QueryState, Record};
use server::{Engine, Session, StatementOutput, StatementResult};
use tests::eddy_server::EddyServer;
use tests::{execute, pull_rows, wait_until};

/// How long a test waits for its queries; they normally catch up in milliseconds.
const WAIT: Duration = Duration::from_secs(60);

/// Bids: a keyless stream over two partitions.
const BIDS: &str = "SET 'cache.max.bytes.buffering'='0';
     CREATE STREAM bids (auction BIGINT, price BIGINT)
       WITH (KAFKA_TOPIC='bids', VALUE_FORMAT='JSON', PARTITIONS=2);";
const PER_AUCTION: &str = "CREATE TABLE per_auction AS
       SELECT auction, COUNT(*) AS n, SUM(price) AS total FROM bids GROUP BY auction;";
const INTERNAL: &str =
    "_confluent-ksql-default_query_CTAS_PER_AUCTION_0-Aggregate-GroupBy-repartition";

fn open(data: &Path) -> Arc<Engine> {
    Engine::open(data).unwrap_or_else(|error| {
        panic!(
            "engine opens {}: {}",
            data.display(),
            executor::error_chain(&error)
        )
    })
}

/// Waits until every persistent query consumed all its input (its repartition topics
/// included); fails on a query in error.
fn wait_caught_up(engine: &Engine) {
    wait_until(WAIT, "the persistent queries to catch up", || {
        Ok(engine.queries_caught_up()?)
    })
    .expect("queries catch up");
    for (id, state) in engine.query_states() {
        if let QueryState::Error(message) = state {
            panic!("query {id} failed: {message}");
        }
    }
}

/// A keyless record with a JSON value.
fn record(value: &str, timestamp: i64) -> Record {
    Record {
        key: None,
        value: Some(value.as_bytes().to_vec()),
        timestamp,
        headers: Vec::new(),
    }
}

/// Every record of `topic`, per partition in offset order.
fn read_topic(engine: &Engine, topic: &str) -> Vec<Vec<Record>> {
    let log = engine.topic_log();
    let mut partitions = Vec::new();
    for (partition, (start, end)) in log
        .offsets(topic)
        .expect("topic exists")
        .into_iter()
        .enumerate()
    {
        let mut records = Vec::new();
        let mut offset = start;
        while offset < end {
            let read = log
                .read(topic, partition as u32, offset, 10_000)
                .expect("read topic");
            offset = read.last().map_or(end, |last| last.offset + 1);
            records.extend(read.into_iter().map(|consumed| consumed.record));
        }
        partitions.push(records);
    }
    partitions
}

/// The names SHOW TOPICS (or `SHOW ALL TOPICS`) lists.
fn shown_topics(engine: &Engine, session: &mut Session, statement: &str) -> Vec<String> {
    let mut outputs = execute(engine, session, statement);
    let Some(StatementOutput::Completed(StatementResult::Topics { topics, .. })) = outputs.pop()
    else {
        panic!("{statement} lists topics");
    };
    topics.into_iter().map(|topic| topic.name).collect()
}

/// The execution plan `EXPLAIN <query id>` prints.
fn explained(engine: &Engine, session: &mut Session, id: &str) -> String {
    let mut outputs = execute(engine, session, &format!("EXPLAIN {id};"));
    let Some(StatementOutput::Completed(StatementResult::QueryDescription(description))) =
        outputs.pop()
    else {
        panic!("EXPLAIN {id} describes the query");
    };
    description.execution_plan
}

/// Bids of auctions 1-5 spread over both partitions (record `i` in partition `i % 2`), so
/// that every auction has records in both; one bid without an auction (no group).
fn bids() -> Vec<(u32, Record)> {
    let mut bids: Vec<(u32, Record)> = (0..40)
        .map(|i: i64| {
            let value = format!(r#"{{"AUCTION":{},"PRICE":{}}}"#, i % 5 + 1, i * 10);
            ((i % 2) as u32, record(&value, 1_000 + i))
        })
        .collect();
    bids.push((1, record(r#"{"AUCTION":null,"PRICE":7}"#, 2_000)));
    bids
}

/// Per auction of `bids()`: its count and total.
fn expected_totals() -> BTreeMap<i64, (i64, i64)> {
    let mut totals = BTreeMap::new();
    for i in 0..40 {
        let entry = totals.entry(i % 5 + 1).or_insert((0, 0));
        entry.0 += 1;
        entry.1 += i * 10;
    }
    totals
}

/// A GROUP BY of a value column over two partitions writes each grouped row once into
/// ksqlDB's repartition topic (two partitions; KAFKA key of the auction in the partition
/// of its bytes; JSON value of the summed price; the bid's time), leaves out the row without
/// a group, and counts every bid of an auction once: the sink's counts of an auction go
/// 1, 2, ... up to its number of bids, and its last total is the sum of its prices. The
/// pull query, SHOW TOPICS (ALL), EXPLAIN, DESCRIBE EXTENDED and TERMINATE see it as they
/// see a join's repartition; TERMINATE deletes the repartition topic.
#[test]
fn group_by_a_value_column_moves_rows_through_a_repartition_topic() {
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = open(directory.path());
    let mut session = Session::default();
    execute(&engine, &mut session, &format!("{BIDS}\n{PER_AUCTION}"));
    engine.topic_log().produce("bids", bids()).expect("produce");
    wait_caught_up(&engine);

    let moved = read_topic(&engine, INTERNAL);
    assert_eq!(
        moved.len(),
        2,
        "the repartition topic has the source's partitions"
    );
    let mut moved_count = 0;
    for (partition, records) in moved.iter().enumerate() {
        for record in records {
            let key = record.key.as_deref().expect("moved records are keyed");
            assert_eq!(key.len(), 8, "a KAFKA BIGINT key");
            assert_eq!(partition_for_key(key, 2), partition as u32);
            let auction = i64::from_be_bytes(key.try_into().expect("8 bytes"));
            let i = record.timestamp - 1_000;
            assert_eq!(auction, i % 5 + 1, "record of bid {i}");
            assert_eq!(
                record.value.as_deref(),
                Some(format!(r#"{{"KSQL_INTERNAL_COL_0":{}}}"#, i * 10).as_bytes())
            );
            moved_count += 1;
        }
    }
    assert_eq!(moved_count, 40, "every bid with an auction moves once");

    // Per auction, its sink records in order: (count, total).
    let mut sink: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
    for record in read_topic(&engine, "PER_AUCTION").into_iter().flatten() {
        let key = record.key.expect("keyed");
        let auction = i64::from_be_bytes(key.as_slice().try_into().expect("8 bytes"));
        let value: serde_json::Value =
            serde_json::from_slice(&record.value.expect("no tombstones")).expect("JSON");
        sink.entry(auction).or_default().push((
            value["N"].as_i64().expect("N"),
            value["TOTAL"].as_i64().expect("TOTAL"),
        ));
    }
    let expected = expected_totals();
    assert_eq!(
        sink.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (auction, (count, total)) in &expected {
        let updates = &sink[auction];
        let counts: Vec<i64> = updates.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            counts,
            (1..=*count).collect::<Vec<_>>(),
            "auction {auction}"
        );
        assert_eq!(
            updates.last().map(|(_, t)| *t),
            Some(*total),
            "auction {auction}"
        );
    }
    let (header, rows) = pull_rows(&engine, &mut session, "SELECT * FROM per_auction;");
    assert_eq!(header, ["AUCTION", "N", "TOTAL"]);
    let expected_rows: Vec<String> = expected
        .iter()
        .map(|(auction, (count, total))| format!("{auction} | {count} | {total}"))
        .collect();
    assert_eq!(rows, expected_rows);

    let visible = shown_topics(&engine, &mut session, "SHOW TOPICS;");
    assert!(!visible.contains(&INTERNAL.to_string()), "{visible:?}");
    let all = shown_topics(&engine, &mut session, "SHOW ALL TOPICS;");
    assert!(all.contains(&INTERNAL.to_string()), "{all:?}");
    let plan = explained(&engine, &mut session, "CTAS_PER_AUCTION_0");
    assert!(
        plan.contains(
            "Repartition: keys=[AUCTION] topic=Aggregate-GroupBy-repartition key=KAFKA value=JSON partitions=2"
        ),
        "{plan}"
    );
    let mut outputs = execute(&engine, &mut session, "DESCRIBE per_auction EXTENDED;");
    let Some(StatementOutput::Completed(StatementResult::SourceDescription(description))) =
        outputs.pop()
    else {
        panic!("DESCRIBE EXTENDED describes the table");
    };
    assert!(
        description.state_bytes.is_some_and(|bytes| bytes > 0),
        "{description:?}"
    );

    execute(&engine, &mut session, "TERMINATE CTAS_PER_AUCTION_0;");
    let log = engine.topic_log();
    assert!(log.describe_topic(INTERNAL).expect("describe").is_none());
    assert!(engine.query_states().is_empty());
    execute(
        &engine,
        &mut session,
        "DROP TABLE per_auction DELETE TOPIC;",
    );
    assert!(
        log.describe_topic("PER_AUCTION")
            .expect("describe")
            .is_none()
    );
}

/// A table aggregation over two partitions moves its rows' retractions too: an account
/// that changes region leaves the old one and joins the new one, a deleted account leaves
/// its region, whichever partitions the account and the regions are in.
#[test]
fn table_aggregation_over_two_partitions_retracts_through_the_repartition() {
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = open(directory.path());
    let mut session = Session::default();
    execute(
        &engine,
        &mut session,
        "SET 'cache.max.bytes.buffering'='0';
         CREATE TABLE accounts (id VARCHAR PRIMARY KEY, region VARCHAR, amount INT)
           WITH (KAFKA_TOPIC='accounts', VALUE_FORMAT='JSON', PARTITIONS=2);
         CREATE TABLE by_region AS SELECT region, COUNT(*) AS n, SUM(amount) AS total
           FROM accounts GROUP BY region;",
    );
    let account = |id: &str, value: Option<&str>, timestamp: i64| {
        let key = id.as_bytes().to_vec();
        (
            partition_for_key(&key, 2),
            Record {
                key: Some(key),
                value: value.map(|value| value.as_bytes().to_vec()),
                timestamp,
                headers: Vec::new(),
            },
        )
    };
    let records = vec![
        account("a", Some(r#"{"REGION":"east","AMOUNT":10}"#), 1_000),
        account("b", Some(r#"{"REGION":"east","AMOUNT":5}"#), 2_000),
        account("c", Some(r#"{"REGION":"west","AMOUNT":7}"#), 3_000),
        account("d", Some(r#"{"REGION":"north","AMOUNT":1}"#), 4_000),
        account("a", Some(r#"{"REGION":"east","AMOUNT":20}"#), 5_000),
        account("b", Some(r#"{"REGION":"west","AMOUNT":6}"#), 6_000),
        account("c", None, 7_000),
        account("d", Some(r#"{"REGION":"south","AMOUNT":2}"#), 8_000),
    ];
    engine
        .topic_log()
        .produce("accounts", records)
        .expect("produce");
    wait_caught_up(&engine);
    let log = engine.topic_log();
    assert_eq!(
        log.describe_topic(
            "_confluent-ksql-default_query_CTAS_BY_REGION_0-Aggregate-GroupBy-repartition"
        )
        .expect("describe")
        .map(|topic| topic.partitions),
        Some(2)
    );
    let (_, rows) = pull_rows(&engine, &mut session, "SELECT * FROM by_region;");
    assert_eq!(
        rows,
        [
            "\"east\" | 1 | 20",
            "\"north\" | 0 | 0",
            "\"south\" | 1 | 2",
            "\"west\" | 1 | 6"
        ]
    );
}

/// Two region names whose KAFKA-format keys fall in different partitions of two.
fn regions_in_both_partitions() -> (String, String) {
    let names: Vec<String> = (0..).take(20).map(|n| format!("r{n}")).collect();
    let first = names[0].clone();
    let other = names
        .iter()
        .find(|name| {
            partition_for_key(name.as_bytes(), 2) != partition_for_key(first.as_bytes(), 2)
        })
        .expect("some name hashes to the other partition")
        .clone();
    (first, other)
}

/// `EMIT FINAL` over a repartition closes the windows of each partition by that
/// partition's stream time, as Kafka Streams suppresses per task: a record of region A at
/// 12 s closes A's first window, not B's (in the other partition), so B's record at 3 s is
/// still on time and B's window closes with both records when B's time passes its end.
#[test]
fn emit_final_closes_the_windows_of_each_partition_by_its_own_stream_time() {
    let (a, b) = regions_in_both_partitions();
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = open(directory.path());
    let mut session = Session::default();
    execute(
        &engine,
        &mut session,
        "CREATE STREAM orders (id VARCHAR KEY, region VARCHAR, amount INT)
           WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=2);
         CREATE TABLE finals AS SELECT region, COUNT(*) AS n, SUM(amount) AS total
           FROM orders WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS)
           GROUP BY region EMIT FINAL;",
    );
    // All in source partition 0, so that the moved records keep this order.
    let order = |region: &str, amount: i64, timestamp: i64| {
        (
            0,
            Record {
                key: Some(b"id".to_vec()),
                value: Some(format!(r#"{{"REGION":"{region}","AMOUNT":{amount}}}"#).into_bytes()),
                timestamp,
                headers: Vec::new(),
            },
        )
    };
    engine
        .topic_log()
        .produce(
            "orders",
            vec![
                order(&a, 1, 1_000),
                order(&b, 2, 2_000),
                order(&a, 4, 12_000),  // closes A's [0, 10 s)
                order(&b, 8, 3_000),   // B's partition is at 2 s: on time
                order(&b, 16, 15_000), // closes B's [0, 10 s)
            ],
        )
        .expect("produce");
    wait_caught_up(&engine);
    let mut finals: Vec<String> = read_topic(&engine, "FINALS")
        .into_iter()
        .flatten()
        .map(|record| {
            let key = record.key.expect("keyed");
            let (region, start) = key.split_at(key.len() - 8);
            format!(
                "{} {} {}",
                String::from_utf8_lossy(region),
                i64::from_be_bytes(start.try_into().expect("8 bytes")),
                String::from_utf8_lossy(&record.value.expect("a value"))
            )
        })
        .collect();
    finals.sort();
    let mut expected = vec![
        format!(r#"{a} 0 {{"N":1,"TOTAL":1}}"#),
        format!(r#"{b} 0 {{"N":2,"TOTAL":10}}"#),
    ];
    expected.sort();
    assert_eq!(finals, expected);
}

/// Pull queries over a repartitioned aggregation's table answer through the REST API of
/// `eddy server` and, after it stops, through the REPL on the same data directory.
#[test]
fn pull_queries_over_a_repartitioned_aggregation_answer_over_rest_and_in_the_repl() {
    let directory = tempfile::tempdir().expect("temp dir");
    let data = directory.path().join("data");
    let mut server = EddyServer::start(&data, &[]).expect("eddy server starts");
    server
        .ksql(&format!("{BIDS}\n{PER_AUCTION}"))
        .expect("statements run");
    let inserts: Vec<String> = [(1, 10), (2, 20), (1, 30), (3, 40), (2, 50), (1, 60)]
        .iter()
        .map(|(auction, price)| {
            format!("INSERT INTO bids (auction, price) VALUES ({auction}, {price});")
        })
        .collect();
    server.ksql(&inserts.concat()).expect("inserts run");
    let expected = [(1, 3, 100), (2, 2, 70), (3, 1, 40)];
    wait_until(WAIT, "the aggregation over REST", || {
        let rows = server.pull("SELECT * FROM per_auction;")?;
        let mut rows: Vec<(i64, i64, i64)> = rows
            .iter()
            .filter_map(|row| Some((row[0].as_i64()?, row[1].as_i64()?, row[2].as_i64()?)))
            .collect();
        rows.sort();
        Ok(rows == expected)
    })
    .expect("REST pull query answers the aggregation");
    let lookup = server
        .pull("SELECT n, total FROM per_auction WHERE auction = 2;")
        .expect("key lookup");
    assert_eq!(lookup, [serde_json::json!([2, 70])]);
    server.kill();

    let output = tests::run_eddy(&data, &["--execute", "SELECT * FROM per_auction;"], WAIT)
        .expect("eddy runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        tests::describe_output(&output)
    );
    for (auction, count, total) in expected {
        let line = stdout.lines().find(|line| {
            let cells: Vec<&str> = line
                .split('|')
                .map(str::trim)
                .filter(|cell| !cell.is_empty())
                .collect();
            cells == [auction.to_string(), count.to_string(), total.to_string()]
        });
        assert!(
            line.is_some(),
            "row {auction} {count} {total} in:\n{stdout}"
        );
    }
}
