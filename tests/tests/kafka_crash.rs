//! Exactly-once on Kafka through crashes: `eddy server --bootstrap-servers` runs a filter,
//! a windowed count and a windowed count grouped by a value expression (through a
//! repartition topic: two stages) over a real broker (`processing.guarantee`
//! exactly_once_v2, the default) and is SIGKILLed at 12 moments while input keeps arriving;
//! then two servers split the same queries through their consumer groups and either is
//! SIGKILLed at 12 moments (the other takes over its partitions, restoring their state). At
//! the end, the filter's sink topic read with `read_committed` holds every expected record
//! once, and the windowed counts equal those of a run never interrupted (computed from the
//! input).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use executor::TopicLog;
use executor::log::{KafkaConfig, KafkaLog, Record, partitioner};
use tests::eddy_server::EddyServer;
use tests::kafka::KafkaBroker;

const USERS: u64 = 12;
const PARTITIONS: u32 = 4;
const ROUNDS: u64 = 12;
const PER_ROUND: u64 = 500;
/// Record `n` happens at `BASE + n * STEP` ms: windows of 10 s hold 100 records.
const BASE: i64 = 1_000_000;
const STEP: i64 = 100;

const STATEMENTS: &str = "\
    CREATE STREAM clicks (user VARCHAR KEY, n BIGINT) WITH (KAFKA_TOPIC='clicks', \
      VALUE_FORMAT='JSON'); \
    CREATE STREAM odd AS SELECT user, n FROM clicks WHERE n % 2 = 1; \
    CREATE TABLE per_window AS SELECT user, COUNT(*) AS c FROM clicks \
      WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 1 DAY) GROUP BY user; \
    CREATE TABLE per_rest AS SELECT n % 3 AS r, COUNT(*) AS c FROM clicks \
      WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 1 DAY) GROUP BY n % 3;";

/// A small seeded generator (the test is repeatable without a dependency).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

fn user(n: u64) -> String {
    format!("user{}", n % USERS)
}

fn produce(log: &KafkaLog, from: u64, count: u64) -> Result<()> {
    let records = (from..from + count)
        .map(|n| {
            let key = user(n);
            let partition = partitioner::partition_for_key(key.as_bytes(), PARTITIONS);
            let record = Record {
                key: Some(key.into_bytes()),
                value: Some(format!("{{\"N\":{n}}}").into_bytes()),
                timestamp: BASE + n as i64 * STEP,
                headers: Vec::new(),
            };
            (partition, record)
        })
        .collect();
    log.produce("clicks", records)?;
    Ok(())
}

/// Every record of `topic`, read committed.
fn read_all(log: &KafkaLog, topic: &str) -> Result<Vec<Record>> {
    let mut records = Vec::new();
    for (partition, (start, end)) in log.offsets(topic)?.into_iter().enumerate() {
        let mut next = start;
        while next < end {
            let read = log.read(topic, partition as u32, next, 10_000)?;
            let Some(last) = read.last() else { break };
            next = last.offset + 1;
            records.extend(read.into_iter().map(|consumed| consumed.record));
        }
    }
    Ok(records)
}

/// `(user, window start) -> count` of the input `0..total`.
fn expected_counts(total: u64) -> BTreeMap<(String, i64), i64> {
    let mut counts = BTreeMap::new();
    for n in 0..total {
        let time = BASE + n as i64 * STEP;
        *counts.entry((user(n), time - time % 10_000)).or_insert(0) += 1;
    }
    counts
}

/// `(n % 3, window start) -> count` of the input `0..total`.
fn expected_rest_counts(total: u64) -> BTreeMap<(i64, i64), i64> {
    let mut counts = BTreeMap::new();
    for n in 0..total {
        let time = BASE + n as i64 * STEP;
        *counts
            .entry(((n % 3) as i64, time - time % 10_000))
            .or_insert(0) += 1;
    }
    counts
}

/// `(n % 3, window start) -> count` as a pull query on `server` sees them.
fn pulled_rest_counts(server: &EddyServer) -> Result<BTreeMap<(i64, i64), i64>> {
    let rows = server.pull("SELECT r, WINDOWSTART, c FROM per_rest;")?;
    rows.iter()
        .map(|row| {
            let rest = row[0].as_i64().context("r")?;
            let start = row[1].as_i64().context("window start")?;
            let count = row[2].as_i64().context("count")?;
            Ok(((rest, start), count))
        })
        .collect()
}

/// Waits until a pull query on `server` sees every window with its expected count, of
/// both tables.
fn wait_for_pulled(server: &EddyServer, expected: &BTreeMap<(String, i64), i64>) -> Result<()> {
    // A partition's changelog can be held back by the open transaction of a killed task
    // until the broker aborts it (`transaction.timeout.ms`, 10 s, plus its abort interval).
    let deadline = Instant::now() + Duration::from_secs(120);
    let produced = expected.values().sum::<i64>() as u64;
    let expected_rest = expected_rest_counts(produced);
    loop {
        let counts = pulled_counts(server)?;
        let rest_counts = pulled_rest_counts(server)?;
        if &counts == expected && rest_counts == expected_rest {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "pull queries on {} see {} of {} windows right, {} of {} grouped by n % 3 \
                 (missing or wrong: {:?})\n{}",
                server.address(),
                counts
                    .iter()
                    .filter(|(key, count)| expected.get(*key) == Some(count))
                    .count(),
                expected.len(),
                rest_counts
                    .iter()
                    .filter(|(key, count)| expected_rest.get(*key) == Some(count))
                    .count(),
                expected_rest.len(),
                expected_rest
                    .iter()
                    .filter(|(key, count)| rest_counts.get(*key) != Some(count))
                    .map(|(key, count)| (key, count, rest_counts.get(key)))
                    .take(5)
                    .collect::<Vec<_>>(),
                server.log()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn pulled_counts(server: &EddyServer) -> Result<BTreeMap<(String, i64), i64>> {
    let rows = server.pull("SELECT user, WINDOWSTART, c FROM per_window;")?;
    rows.iter()
        .map(|row| {
            let user = row[0].as_str().context("user")?.to_string();
            let start = row[1].as_i64().context("window start")?;
            let count = row[2].as_i64().context("count")?;
            Ok(((user, start), count))
        })
        .collect()
}

/// The sink topics once every expected record arrived: no odd record twice or missing,
/// and the table's sink topic ending with the uninterrupted run's count for every window.
fn check_sinks(
    log: &KafkaLog,
    produced: u64,
    deadline: Instant,
    logs: &dyn Fn() -> String,
) -> Result<()> {
    let expected = expected_counts(produced);
    let odd_expected: BTreeSet<u64> = (0..produced).filter(|n| n % 2 == 1).collect();
    let mut expected_values: Vec<i64> = expected.values().copied().collect();
    expected_values.sort_unstable();
    let last_counts = || -> Result<Vec<i64>> {
        let mut last: BTreeMap<Vec<u8>, i64> = BTreeMap::new();
        for record in read_all(log, "PER_WINDOW")? {
            let value: serde_json::Value =
                serde_json::from_slice(record.value.as_deref().context("value")?)?;
            last.insert(
                record.key.context("key")?,
                value["C"].as_i64().context("C")?,
            );
        }
        let mut counts: Vec<i64> = last.into_values().collect();
        counts.sort_unstable();
        Ok(counts)
    };
    loop {
        let odd = read_all(log, "ODD")?;
        let counts = last_counts()?;
        if odd.len() >= odd_expected.len() && counts == expected_values {
            let mut seen = BTreeSet::new();
            for record in &odd {
                let value: serde_json::Value =
                    serde_json::from_slice(record.value.as_deref().context("value")?)?;
                let n = value["N"].as_u64().context("N")?;
                assert!(seen.insert(n), "record {n} appears twice in ODD");
            }
            assert_eq!(seen, odd_expected);
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "after the kills: {} of {} odd records; window counts {}\n{}",
                odd.len(),
                odd_expected.len(),
                if counts == expected_values {
                    "right"
                } else {
                    "wrong"
                },
                logs()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn connect(broker: &KafkaBroker) -> Result<KafkaLog> {
    let properties = BTreeMap::from([("bootstrap.servers".to_string(), broker.bootstrap())]);
    let config = KafkaConfig::from_properties(&properties)?.context("Kafka chosen")?;
    let log = KafkaLog::connect(config)?;
    log.create_topic("clicks", PARTITIONS, 1)?;
    Ok(log)
}

#[test]
fn two_servers_split_a_query_and_sigkills_of_either_lose_and_duplicate_nothing() -> Result<()> {
    let broker = KafkaBroker::start()?;
    let bootstrap = broker.bootstrap();
    let log = connect(&broker)?;
    let workspace = tempfile::tempdir()?;
    let data_dirs = [workspace.path().join("a"), workspace.path().join("b")];
    let args = ["--bootstrap-servers", bootstrap.as_str()];
    let mut servers: Vec<Option<EddyServer>> =
        vec![Some(EddyServer::start(&data_dirs[0], &args)?), None];
    servers[0].as_ref().context("started")?.ksql(STATEMENTS)?;
    // The second server learns the statements from the command topic.
    servers[1] = Some(EddyServer::start(&data_dirs[1], &args)?);

    let mut random = Lcg(0x025e_7e75);
    let mut produced = 0;
    for round in 0..ROUNDS {
        produce(&log, produced, PER_ROUND)?;
        produced += PER_ROUND;
        std::thread::sleep(Duration::from_millis(random.below(2_000)));
        let victim = random.below(2) as usize;
        if let Some(mut server) = servers[victim].take() {
            server.kill();
        }
        // Sometimes the other takes over for a while before the victim comes back.
        std::thread::sleep(Duration::from_millis(random.below(3_000)));
        servers[victim] = Some(
            EddyServer::start(&data_dirs[victim], &args)
                .with_context(|| format!("restart {victim} in round {round}"))?,
        );
    }
    let logs = || {
        servers
            .iter()
            .flatten()
            .map(EddyServer::log)
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
    check_sinks(
        &log,
        produced,
        Instant::now() + Duration::from_secs(240),
        &logs,
    )?;
    // Each query's changelog has a partition per input partition, whichever server made
    // it, so that both servers map input partitions to changelog partitions alike.
    for query in ["CTAS_PER_WINDOW_1", "CTAS_PER_REST_2"] {
        let changelog = format!("_confluent-ksql-default_query_{query}-changelog");
        assert_eq!(
            log.describe_topic(&changelog)?
                .map(|topic| topic.partitions),
            Some(PARTITIONS),
            "{changelog}"
        );
    }
    // Either server answers pull queries for every key: the partitions it does not own
    // follow their changelog into its state.
    let expected = expected_counts(produced);
    for server in servers.iter().flatten() {
        wait_for_pulled(server, &expected)?;
    }
    // The servers did split the partitions (the group assigned a server fewer than all).
    let mut split = false;
    for entry in std::fs::read_dir(workspace.path())? {
        let text = std::fs::read_to_string(entry?.path()).unwrap_or_default();
        split |= text.lines().any(|line| {
            line.contains("partitions assigned")
                && (1..PARTITIONS as usize).contains(&line.matches("(\"clicks\"").count())
        });
    }
    assert!(split, "no server ever owned only part of the partitions");
    Ok(())
}

#[test]
fn sigkilled_server_on_kafka_loses_and_duplicates_nothing() -> Result<()> {
    let broker = KafkaBroker::start()?;
    let bootstrap = broker.bootstrap();
    let log = connect(&broker)?;
    let workspace = tempfile::tempdir()?;
    let data_dir = workspace.path().join("data");
    let args = ["--bootstrap-servers", bootstrap.as_str()];

    let server = EddyServer::start(&data_dir, &args)?;
    server.ksql(STATEMENTS)?;
    drop(server);

    let mut random = Lcg(0x5eed_cafe);
    let mut produced = 0;
    for round in 0..ROUNDS {
        produce(&log, produced, PER_ROUND)?;
        produced += PER_ROUND;
        let mut server =
            EddyServer::start(&data_dir, &args).with_context(|| format!("start {round}"))?;
        // Kill at a moment from right after start-up to well into processing.
        std::thread::sleep(Duration::from_millis(random.below(2_500)));
        server.kill();
    }

    let server = EddyServer::start(&data_dir, &args)?;
    let expected = expected_counts(produced);
    let expected_rest = expected_rest_counts(produced);
    let odd_expected: BTreeSet<u64> = (0..produced).filter(|n| n % 2 == 1).collect();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let counts = pulled_counts(&server)?;
        let rest_counts = pulled_rest_counts(&server)?;
        let odd = read_all(&log, "ODD")?;
        if counts == expected && rest_counts == expected_rest && odd.len() == odd_expected.len() {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "after the kills: {} of {} windows right, {} of {} grouped by n % 3, {} of {} odd records\n{}",
                counts
                    .iter()
                    .filter(|(k, v)| expected.get(*k) == Some(v))
                    .count(),
                expected.len(),
                rest_counts
                    .iter()
                    .filter(|(k, v)| expected_rest.get(*k) == Some(v))
                    .count(),
                expected_rest.len(),
                odd.len(),
                odd_expected.len(),
                server.log()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }

    let logs = || server.log();
    check_sinks(&log, produced, deadline, &logs)
}
