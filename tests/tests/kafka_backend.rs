//! The Kafka backend against a real Apache Kafka broker started by the test
//! (`tests::kafka::KafkaBroker`, KRaft from Maven Central's jars): queries with state,
//! epochs committed as transactions, state restored from changelogs, fencing of an earlier
//! incarnation, and a broker restarted in the middle of a query.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use executor::commit::{Committer, Epoch, KafkaCommitter};
use executor::log::{Consumer, KafkaConfig, KafkaLog, Record, partitioner};
use executor::store::Family;
use executor::{BackendKind, Store, TopicLog};
use server::{Engine, Session};
use tests::kafka::KafkaBroker;
use tests::{execute, pull_rows, wait_until};

const WAIT: Duration = Duration::from_secs(60);

fn config(broker: &KafkaBroker, extra: &[(&str, &str)]) -> KafkaConfig {
    let mut properties = BTreeMap::from([("bootstrap.servers".to_string(), broker.bootstrap())]);
    for (key, value) in extra {
        properties.insert(key.to_string(), value.to_string());
    }
    KafkaConfig::from_properties(&properties)
        .expect("valid settings")
        .expect("Kafka chosen")
}

fn open_engine(directory: &std::path::Path, config: &KafkaConfig) -> Arc<Engine> {
    Engine::open_with(directory, BackendKind::Kafka(config.clone())).expect("engine on Kafka")
}

fn record(key: &str, value: &str, timestamp: i64) -> Record {
    Record {
        key: Some(key.as_bytes().to_vec()),
        value: Some(value.as_bytes().to_vec()),
        timestamp,
        headers: Vec::new(),
    }
}

/// Produces JSON click records keyed by user to the partitions Kafka's default partitioner
/// picks.
fn produce_clicks(log: &dyn TopicLog, users: &[&str], from: i64, count: i64) {
    let partitions = log
        .describe_topic("clicks")
        .expect("describe")
        .expect("exists")
        .partitions;
    let records = (from..from + count)
        .map(|n| {
            let user = users[n as usize % users.len()];
            let partition = partitioner::partition_for_key(user.as_bytes(), partitions);
            (
                partition,
                record(user, &format!("{{\"N\":{n}}}"), 1_000 + n),
            )
        })
        .collect();
    log.produce("clicks", records).expect("produce");
}

fn counts(engine: &Engine) -> BTreeMap<String, i64> {
    let (_, rows) = pull_rows(engine, &mut Session::default(), "SELECT * FROM per_user;");
    rows.iter()
        .filter_map(|row| {
            let (user, count) = row.split_once(" | ")?;
            Some((serde_json::from_str(user).ok()?, count.parse().ok()?))
        })
        .collect()
}

#[test]
fn persistent_queries_run_on_kafka_and_their_state_survives_losing_the_local_copy() -> Result<()> {
    let broker = KafkaBroker::start()?;
    let config = config(&broker, &[]);
    let users = ["ann", "bob", "cyd", "dee", "eve"];
    let first = tempfile::tempdir()?;
    let engine = open_engine(first.path(), &config);
    let mut session = Session::default();
    execute(
        &engine,
        &mut session,
        "CREATE STREAM clicks (user VARCHAR KEY, n BIGINT) WITH (KAFKA_TOPIC='clicks', \
         PARTITIONS=4, VALUE_FORMAT='JSON');",
    );
    produce_clicks(engine.topic_log().as_ref(), &users, 0, 100);
    execute(
        &engine,
        &mut session,
        "SET 'auto.offset.reset'='earliest'; \
         CREATE TABLE per_user AS SELECT user, COUNT(*) AS clicks FROM clicks GROUP BY user; \
         CREATE STREAM odd AS SELECT user, n FROM clicks WHERE n % 2 = 1;",
    );
    let expected: BTreeMap<String, i64> = users.iter().map(|user| (user.to_string(), 20)).collect();
    wait_until(WAIT, "the counts", || Ok(counts(&engine) == expected))
        .with_context(|| format!("counts: {:?}", counts(&engine)))?;

    // The topics are on the cluster, the sink keyed as the Java client would place it.
    let log = engine.topic_log();
    let clicks = log.describe_topic("clicks")?.context("clicks exists")?;
    assert_eq!(clicks.partitions, 4);
    let odd = log
        .describe_topic("ODD")?
        .context("the sink topic exists")?;
    assert_eq!(odd.partitions, 4);
    let odd_records = || -> Result<Vec<(u32, Vec<u8>)>> {
        let mut records = Vec::new();
        for (partition, (start, end)) in log.offsets("ODD")?.into_iter().enumerate() {
            for consumed in log.read("ODD", partition as u32, start, (end - start) as usize)? {
                records.push((partition as u32, consumed.record.key.context("keyed")?));
            }
        }
        Ok(records)
    };
    wait_until(WAIT, "the odd clicks", || Ok(odd_records()?.len() >= 50))?;
    let odd = odd_records()?;
    assert_eq!(odd.len(), 50);
    for (partition, key) in odd {
        assert_eq!(
            partitioner::partition_for_key(&key, 4),
            partition,
            "{key:?} is in the partition the Java producer picks"
        );
    }
    let changelogs: Vec<String> = broker
        .list_topics()?
        .into_iter()
        .filter(|topic| topic.ends_with("-changelog"))
        .collect();
    assert_eq!(
        changelogs,
        vec!["_confluent-ksql-default_query_CTAS_PER_USER_0-changelog".to_string()]
    );
    drop(engine);

    // The local state is lost (the command log stays): the restarted query restores the
    // aggregation's state from the changelog before it reads on from its committed offsets,
    // so new records count on top of the old counts and nothing is counted twice.
    {
        let store = Store::open(first.path())?;
        let keys: Vec<Box<[u8]>> = store
            .db()
            .iterator_cf(store.cf(Family::State), rocksdb::IteratorMode::Start)
            .map(|entry| entry.map(|(key, _)| key))
            .collect::<Result<_, _>>()?;
        assert!(!keys.is_empty(), "the aggregation kept state");
        for key in keys {
            store.db().delete_cf(store.cf(Family::State), key)?;
        }
        for (key, _) in store.meta_scan_prefix(b"changelog/")? {
            store.meta_delete(&key)?;
        }
    }
    let engine = open_engine(first.path(), &config);
    produce_clicks(engine.topic_log().as_ref(), &users, 100, 50);
    let expected: BTreeMap<String, i64> = users.iter().map(|user| (user.to_string(), 30)).collect();
    wait_until(WAIT, "the counts after the restart", || {
        Ok(counts(&engine) == expected)
    })
    .with_context(|| format!("counts after the restart: {:?}", counts(&engine)))?;
    Ok(())
}

#[test]
fn an_epoch_commits_records_state_and_offsets_together_and_state_restores_from_the_changelog()
-> Result<()> {
    let broker = KafkaBroker::start()?;
    let config = config(&broker, &[]);
    let log = Arc::new(KafkaLog::connect(config.clone())?);
    log.create_topic("in", 2, 1)?;
    log.create_topic("out", 1, 1)?;
    let first = tempfile::tempdir()?;
    let store = Store::open(first.path())?;
    let committer = KafkaCommitter::new(Arc::clone(&log), Arc::clone(&store))?;
    let tasks = ["Q/0".to_string()];
    committer.prepare("Q", &tasks, 2)?;
    committer.commit(
        "Q/0",
        Epoch {
            records: vec![("out".into(), 0, record("k", "v", 5))],
            offsets: vec![("Q".into(), "in".into(), 0, 5)],
            state: vec![
                (b"Q/a".to_vec(), Some(b"1".to_vec())),
                (b"Q/b".to_vec(), Some(b"2".to_vec())),
            ],
            partition: 0,
        },
    )?;
    committer.commit(
        "Q/0",
        Epoch {
            records: Vec::new(),
            offsets: vec![("Q".into(), "in".into(), 1, 3)],
            state: vec![
                (b"Q/a".to_vec(), None),
                (b"Q/c".to_vec(), Some(b"3".to_vec())),
            ],
            partition: 1,
        },
    )?;
    assert_eq!(log.committed_offsets("Q", "in")?, vec![Some(5), Some(3)]);
    let out = log.read("out", 0, 0, 10)?;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].record.timestamp, 5);
    let state = |store: &Store| -> Vec<(Vec<u8>, Vec<u8>)> {
        store
            .db()
            .iterator_cf(store.cf(Family::State), rocksdb::IteratorMode::Start)
            .map(|entry| {
                let (key, value) = entry.expect("state entry");
                (key.to_vec(), value.to_vec())
            })
            .collect()
    };
    let applied = state(&store);
    assert_eq!(
        applied,
        vec![
            (b"Q/b".to_vec(), b"2".to_vec()),
            (b"Q/c".to_vec(), b"3".to_vec())
        ]
    );

    // Another machine (an empty store) restores the same state before its tasks start.
    let second = tempfile::tempdir()?;
    let restored_store = Store::open(second.path())?;
    let restored = KafkaCommitter::new(Arc::clone(&log), Arc::clone(&restored_store))?;
    restored.prepare("Q", &tasks, 2)?;
    assert_eq!(state(&restored_store), applied);

    // A restart of the first server (same data directory, so the same transactional ids)
    // fences the earlier incarnation of task Q/0: its commits fail and change nothing.
    let restarted = KafkaCommitter::new(Arc::clone(&log), Arc::clone(&store))?;
    restarted.prepare("Q", &tasks, 2)?;
    let fenced = committer.commit(
        "Q/0",
        Epoch {
            records: vec![("out".into(), 0, record("zombie", "v", 6))],
            offsets: vec![("Q".into(), "in".into(), 0, 9)],
            state: Vec::new(),
            partition: 0,
        },
    );
    assert!(fenced.is_err(), "a fenced producer's commit fails");
    assert_eq!(log.committed_offsets("Q", "in")?, vec![Some(5), Some(3)]);
    assert_eq!(log.read("out", 0, 0, 10)?.len(), 1);
    Ok(())
}

#[test]
fn a_query_resumes_after_the_broker_restarts_and_loses_nothing() -> Result<()> {
    let mut broker = KafkaBroker::start()?;
    let config = config(&broker, &[]);
    let directory = tempfile::tempdir()?;
    let engine = open_engine(directory.path(), &config);
    let mut session = Session::default();
    execute(
        &engine,
        &mut session,
        "CREATE STREAM clicks (user VARCHAR KEY, n BIGINT) WITH (KAFKA_TOPIC='clicks', \
         PARTITIONS=2, VALUE_FORMAT='JSON'); \
         SET 'auto.offset.reset'='earliest'; \
         CREATE TABLE per_user AS SELECT user, COUNT(*) AS clicks FROM clicks GROUP BY user;",
    );
    let users = ["ann", "bob"];
    produce_clicks(engine.topic_log().as_ref(), &users, 0, 40);
    let half: BTreeMap<String, i64> = users.iter().map(|user| (user.to_string(), 20)).collect();
    wait_until(WAIT, "the first half counted", || {
        Ok(counts(&engine) == half)
    })?;

    broker.stop();
    std::thread::sleep(Duration::from_secs(3));
    broker.restart()?;
    produce_clicks(engine.topic_log().as_ref(), &users, 40, 40);
    let all: BTreeMap<String, i64> = users.iter().map(|user| (user.to_string(), 40)).collect();
    wait_until(WAIT * 2, "every record counted", || {
        Ok(counts(&engine) == all)
    })
    .with_context(|| format!("counts after the outage: {:?}", counts(&engine)))?;
    Ok(())
}

#[test]
fn records_of_time_zero_keep_their_timestamp_on_kafka() -> Result<()> {
    // Upstream librdkafka writes the current time for a timestamp of 0; the vendored one
    // (vendor/rdkafka-sys) writes 0, as ksqlDB's Java client does.
    let broker = KafkaBroker::start()?;
    let log = KafkaLog::connect(config(&broker, &[]))?;
    log.create_topic("times", 1, 1)?;
    log.produce(
        "times",
        vec![(0, record("a", "1", 0)), (0, record("b", "2", 1))],
    )?;
    let times: Vec<i64> = log
        .read("times", 0, 0, 10)?
        .iter()
        .map(|consumed| consumed.record.timestamp)
        .collect();
    assert_eq!(times, vec![0, 1]);
    Ok(())
}

#[test]
fn a_partition_read_by_two_inputs_feeds_both_while_one_is_paused() -> Result<()> {
    // A self-join reads one partition twice through one consumer: pausing one input (a
    // group waiting for a lagging side) must not make it miss the records fetched for the
    // other meanwhile.
    let broker = KafkaBroker::start()?;
    let log = Arc::new(KafkaLog::connect(config(&broker, &[]))?);
    log.create_topic("shared", 1, 1)?;
    let records = (0..5)
        .map(|n| (0, record("k", &n.to_string(), n)))
        .collect();
    log.produce("shared", records)?;
    let mut consumer = Arc::clone(&log).consumer()?;
    let first = consumer.assign("shared", 0, 0)?;
    let second = consumer.assign("shared", 0, 0)?;
    consumer.pause(second, true);
    let mut offsets: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
    let poll = |consumer: &mut Box<dyn Consumer>, offsets: &mut [Vec<u64>; 2]| -> Result<()> {
        for polled in consumer.poll(100, Duration::from_millis(100))? {
            offsets[polled.assignment].extend(polled.records.iter().map(|r| r.offset));
        }
        Ok(())
    };
    wait_until(WAIT, "the first input's records", || {
        poll(&mut consumer, &mut offsets)?;
        Ok(offsets[first].len() >= 5)
    })?;
    consumer.pause(second, false);
    wait_until(WAIT, "the second input's records", || {
        poll(&mut consumer, &mut offsets)?;
        Ok(offsets[second].len() >= 5)
    })?;
    assert_eq!(offsets, [vec![0, 1, 2, 3, 4], vec![0, 1, 2, 3, 4]]);
    Ok(())
}

#[test]
fn a_group_by_of_a_value_column_over_two_partitions_repartitions_through_kafka() -> Result<()> {
    let broker = KafkaBroker::start()?;
    let config = config(&broker, &[]);
    let directory = tempfile::tempdir()?;
    let engine = open_engine(directory.path(), &config);
    let mut session = Session::default();
    execute(
        &engine,
        &mut session,
        "CREATE STREAM bids (auction BIGINT, price BIGINT) WITH (KAFKA_TOPIC='bids', \
         PARTITIONS=2, VALUE_FORMAT='JSON'); \
         SET 'auto.offset.reset'='earliest'; \
         CREATE TABLE per_auction AS SELECT auction, COUNT(*) AS n, SUM(price) AS total \
           FROM bids GROUP BY auction;",
    );
    // Every auction has bids in both partitions.
    let bids = (0..200i64)
        .map(|i| {
            let value = format!(r#"{{"AUCTION":{},"PRICE":{i}}}"#, i % 7);
            let record = Record {
                key: None,
                value: Some(value.into_bytes()),
                timestamp: 1_000 + i,
                headers: Vec::new(),
            };
            ((i % 2) as u32, record)
        })
        .collect();
    engine.topic_log().produce("bids", bids)?;
    let mut expected: Vec<String> = (0..7i64)
        .map(|auction| {
            let prices: Vec<i64> = (0..200).filter(|i| i % 7 == auction).collect();
            format!(
                "{auction} | {} | {}",
                prices.len(),
                prices.iter().sum::<i64>()
            )
        })
        .collect();
    expected.sort();
    let rows = || {
        pull_rows(
            &engine,
            &mut Session::default(),
            "SELECT * FROM per_auction;",
        )
        .1
    };
    wait_until(WAIT, "the totals", || Ok(rows() == expected))
        .with_context(|| format!("totals: {:?}", rows()))?;

    // The repartition topic is on the cluster, with the source's partitions and each bid
    // once (its epochs were transactions; only committed records are read).
    let internal = "_confluent-ksql-default_query_CTAS_PER_AUCTION_0-Aggregate-GroupBy-repartition";
    assert!(broker.list_topics()?.contains(&internal.to_string()));
    let log = engine.topic_log();
    assert_eq!(
        log.describe_topic(internal)?.map(|topic| topic.partitions),
        Some(2)
    );
    let mut moved = 0;
    for (partition, (start, end)) in log.offsets(internal)?.into_iter().enumerate() {
        for consumed in log.read(internal, partition as u32, start, (end - start) as usize)? {
            let key = consumed.record.key.context("keyed")?;
            assert_eq!(partitioner::partition_for_key(&key, 2), partition as u32);
            moved += 1;
        }
    }
    assert_eq!(moved, 200);

    execute(&engine, &mut session, "TERMINATE CTAS_PER_AUCTION_0;");
    wait_until(WAIT, "the repartition topic deleted", || {
        Ok(!broker.list_topics()?.contains(&internal.to_string()))
    })?;
    Ok(())
}

#[test]
fn input_headers_reach_the_output_records_of_a_group_by_through_kafka() -> Result<()> {
    let broker = KafkaBroker::start()?;
    let config = config(&broker, &[]);
    let directory = tempfile::tempdir()?;
    let engine = open_engine(directory.path(), &config);
    let mut session = Session::default();
    execute(
        &engine,
        &mut session,
        "CREATE STREAM events (id STRING KEY, g STRING, trace BYTES HEADER('trace')) \
         WITH (KAFKA_TOPIC='events', PARTITIONS=2, VALUE_FORMAT='JSON'); \
         SET 'auto.offset.reset'='earliest'; \
         SET 'cache.max.bytes.buffering'='0'; \
         CREATE TABLE per_group AS SELECT g, COUNT(*) AS n FROM events GROUP BY g;",
    );
    let header = |value: &str| executor::Header {
        key: "trace".to_string(),
        value: Some(value.as_bytes().to_vec()),
    };
    let event = |id: &str, group: &str, headers: Vec<executor::Header>| {
        let partition = partitioner::partition_for_key(id.as_bytes(), 2);
        let mut record = record(id, &format!(r#"{{"G":"{group}"}}"#), 1_000);
        record.headers = headers;
        (partition, record)
    };
    // Group x is updated by a record with a header, then by one without; group y once.
    engine
        .topic_log()
        .produce("events", vec![event("a", "x", vec![header("t1")])])?;
    engine
        .topic_log()
        .produce("events", vec![event("b", "y", vec![header("t2")])])?;
    engine
        .topic_log()
        .produce("events", vec![event("c", "x", Vec::new())])?;

    // Each count carries the headers of the record that updated it, through the
    // repartition topic and the transactional sink.
    let log = engine.topic_log();
    let outputs = || -> Result<Vec<(String, String, Vec<executor::Header>)>> {
        let mut records = Vec::new();
        for (partition, (start, end)) in log.offsets("PER_GROUP")?.into_iter().enumerate() {
            for consumed in
                log.read("PER_GROUP", partition as u32, start, (end - start) as usize)?
            {
                let text = |bytes: Option<Vec<u8>>| {
                    String::from_utf8_lossy(&bytes.unwrap_or_default()).into_owned()
                };
                records.push((
                    text(consumed.record.key),
                    text(consumed.record.value),
                    consumed.record.headers,
                ));
            }
        }
        Ok(records)
    };
    wait_until(WAIT, "the three counts", || Ok(outputs()?.len() >= 3))?;
    let mut records = outputs()?;
    records.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(
        records,
        vec![
            (
                "x".to_string(),
                r#"{"N":1}"#.to_string(),
                vec![header("t1")]
            ),
            ("x".to_string(), r#"{"N":2}"#.to_string(), Vec::new()),
            (
                "y".to_string(),
                r#"{"N":1}"#.to_string(),
                vec![header("t2")]
            ),
        ]
    );
    Ok(())
}
