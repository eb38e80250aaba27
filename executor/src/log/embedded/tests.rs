use std::sync::mpsc;
use std::thread;

use super::*;
use crate::log::Header;

const WAIT: Duration = Duration::from_secs(10);

fn open(directory: &tempfile::TempDir) -> EmbeddedLog {
    let store = Store::open(directory.path()).expect("open store");
    EmbeddedLog::new(store).expect("open log")
}

fn record(key: &str, value: &str, timestamp: i64) -> Record {
    Record {
        key: Some(key.as_bytes().to_vec()),
        value: Some(value.as_bytes().to_vec()),
        timestamp,
        headers: Vec::new(),
    }
}

fn values(consumed: &[ConsumedRecord]) -> Vec<(u64, String)> {
    consumed
        .iter()
        .map(|consumed| {
            let value = consumed.record.value.as_deref().unwrap_or_default();
            (consumed.offset, String::from_utf8_lossy(value).into_owned())
        })
        .collect()
}

fn user_error(result: Result<impl std::fmt::Debug>) -> String {
    match result {
        Err(ExecError::User(message)) => message,
        other => panic!("expected a user error, got {other:?}"),
    }
}

#[test]
fn produce_and_read_round_trip() {
    let directory = tempfile::tempdir().expect("temp dir");
    let log = open(&directory);
    log.create_topic("t", 2, 1).expect("create");
    let with_headers = Record {
        key: Some(b"k".to_vec()),
        value: Some(b"v".to_vec()),
        timestamp: 42,
        headers: vec![
            Header {
                key: "h1".into(),
                value: Some(b"x".to_vec()),
            },
            Header {
                key: "h2".into(),
                value: None,
            },
        ],
    };
    let tombstone = Record {
        key: Some(b"k".to_vec()),
        value: None,
        timestamp: -5,
        headers: Vec::new(),
    };
    let empty = Record::default();
    let produced = vec![
        (0, with_headers.clone()),
        (1, tombstone.clone()),
        (0, empty.clone()),
        (1, record("a", "b", i64::MAX)),
    ];
    assert_eq!(
        log.produce("t", produced).expect("produce"),
        vec![0, 0, 1, 1]
    );

    let partition0 = log.read("t", 0, 0, 100).expect("read");
    let expected0 = vec![
        ConsumedRecord {
            partition: 0,
            offset: 0,
            record: with_headers,
        },
        ConsumedRecord {
            partition: 0,
            offset: 1,
            record: empty,
        },
    ];
    assert_eq!(partition0, expected0);
    let partition1 = log.read("t", 1, 0, 100).expect("read");
    assert_eq!(partition1[0].record, tombstone);
    assert_eq!(partition1[1].record, record("a", "b", i64::MAX));
    assert_eq!(partition1[1].partition, 1);
    assert_eq!(log.offsets("t").expect("offsets"), vec![(0, 2), (0, 2)]);
}

#[test]
fn offsets_are_assigned_per_partition_across_calls() {
    let directory = tempfile::tempdir().expect("temp dir");
    let log = open(&directory);
    log.create_topic("t", 3, 1).expect("create");
    let cases: [(&[u32], &[u64]); 5] = [
        (&[0, 0, 0], &[0, 1, 2]),
        (&[1], &[0]),
        (&[0, 1, 2, 0], &[3, 1, 0, 4]),
        (&[], &[]),
        (&[2, 2, 1], &[1, 2, 2]),
    ];
    for (partitions, expected) in cases {
        let records = partitions
            .iter()
            .map(|&partition| (partition, record("k", "v", 0)))
            .collect();
        assert_eq!(
            log.produce("t", records).expect("produce"),
            expected,
            "producing to {partitions:?}"
        );
    }
    assert_eq!(
        log.offsets("t").expect("offsets"),
        vec![(0, 5), (0, 3), (0, 3)]
    );
}

#[test]
fn a_read_stops_once_its_records_hold_read_bytes() {
    let directory = tempfile::tempdir().expect("temp dir");
    let mut log = open(&directory);
    log.read_bytes = 2_500;
    log.create_topic("t", 1, 1).expect("create");
    let big = "v".repeat(999);
    let records = (0..10).map(|n| (0, record("k", &big, n))).collect();
    log.produce("t", records).expect("produce");
    // 1,000 bytes a record (key and value): the third reaches the limit.
    let offsets = |consumed: Vec<ConsumedRecord>| -> Vec<u64> {
        consumed.iter().map(|consumed| consumed.offset).collect()
    };
    assert_eq!(offsets(log.read("t", 0, 0, 100).expect("read")), [0, 1, 2]);
    assert_eq!(offsets(log.read("t", 0, 8, 100).expect("read")), [8, 9]);
    assert_eq!(offsets(log.read("t", 0, 4, 2).expect("read")), [4, 5]);
    // A record larger than the limit is still read, alone.
    log.read_bytes = 10;
    assert_eq!(offsets(log.read("t", 0, 5, 100).expect("read")), [5]);
}

#[test]
fn reads_start_anywhere_in_and_across_chunks() {
    let directory = tempfile::tempdir().expect("temp dir");
    let log = open(&directory);
    log.create_topic("t", 1, 1).expect("create");
    // One small chunk, one call split into several chunks, then single-record chunks.
    let mut next = 0u64;
    for count in [10, 2 * appender::MAX_CHUNK_RECORDS as u64 + 100, 1, 1, 1] {
        let records = (next..next + count)
            .map(|offset| (0, record("k", &offset.to_string(), offset as i64)))
            .collect();
        log.produce("t", records).expect("produce");
        next += count;
    }
    let cases: [(u64, usize); 10] = [
        (0, 3),
        (3, 4),
        (5, 10),
        (9, 2),
        (10, 1),
        (500, 2000),
        (1033, 1),
        (next - 3, 100),
        (next, 10),
        (next + 5, 10),
    ];
    for (from, max) in cases {
        let expected: Vec<(u64, String)> = (from..next)
            .take(max)
            .map(|offset| (offset, offset.to_string()))
            .collect();
        let consumed = log.read("t", 0, from, max).expect("read");
        assert_eq!(values(&consumed), expected, "read from {from}, max {max}");
        assert!(
            consumed
                .iter()
                .all(|consumed| consumed.record.timestamp == consumed.offset as i64)
        );
    }
    assert!(log.read("t", 0, 0, 0).expect("read").is_empty());
}

#[test]
fn commit_writes_records_and_offsets_atomically() {
    let directory = tempfile::tempdir().expect("temp dir");
    let log = open(&directory);
    log.create_topic("in", 2, 1).expect("create");
    log.create_topic("out", 1, 1).expect("create");
    assert_eq!(
        log.committed_offsets("q1", "in").expect("committed"),
        vec![None, None]
    );
    let epoch = Epoch {
        records: vec![
            ("out".into(), 0, record("a", "1", 1)),
            ("out".into(), 0, record("b", "2", 2)),
        ],
        offsets: vec![("q1".into(), "in".into(), 1, 7)],
        ..Default::default()
    };
    log.commit_epoch(&epoch).expect("commit");
    assert_eq!(
        values(&log.read("out", 0, 0, 10).expect("read")),
        vec![(0, "1".to_string()), (1, "2".to_string())]
    );
    assert_eq!(
        log.committed_offsets("q1", "in").expect("committed"),
        vec![None, Some(7)]
    );
    assert_eq!(
        log.committed_offsets("q2", "in").expect("committed"),
        vec![None, None]
    );

    // A commit with one bad part writes nothing at all.
    let bad_commits = [
        (
            vec![("q1".to_string(), "nope".to_string(), 0, 9)],
            "topic \"nope\" does not exist",
        ),
        (
            vec![("q1".to_string(), "in".to_string(), 2, 9)],
            "partition 2 of topic \"in\" does not exist",
        ),
        (
            vec![("q\0".to_string(), "in".to_string(), 0, 9)],
            "consumer group \"q\\u{0}\" must not contain NUL characters",
        ),
    ];
    for (offsets, message) in bad_commits {
        let epoch = Epoch {
            records: vec![("out".into(), 0, record("c", "3", 3))],
            offsets,
            ..Default::default()
        };
        assert_eq!(user_error(log.commit_epoch(&epoch)), message);
    }
    let epoch = Epoch {
        records: vec![
            ("out".into(), 0, record("c", "3", 3)),
            ("missing".into(), 0, record("c", "3", 3)),
        ],
        offsets: vec![("q1".into(), "in".into(), 0, 9)],
        ..Default::default()
    };
    assert_eq!(
        user_error(log.commit_epoch(&epoch)),
        "topic \"missing\" does not exist"
    );
    assert_eq!(log.offsets("out").expect("offsets"), vec![(0, 2)]);
    assert_eq!(log.read("out", 0, 0, 10).expect("read").len(), 2);
    assert_eq!(
        log.committed_offsets("q1", "in").expect("committed"),
        vec![None, Some(7)]
    );

    log.delete_group("q1").expect("delete group");
    assert_eq!(
        log.committed_offsets("q1", "in").expect("committed"),
        vec![None, None]
    );
}

#[test]
fn reopened_log_keeps_topics_records_and_offsets() {
    let directory = tempfile::tempdir().expect("temp dir");
    {
        let log = open(&directory);
        log.create_topic("a", 2, 3).expect("create");
        log.create_topic("b", 1, 1).expect("create");
        log.create_topic("gone", 1, 1).expect("create");
        log.produce("gone", vec![(0, record("x", "old", 0))])
            .expect("produce");
        log.delete_topic("gone").expect("delete");
        log.produce(
            "a",
            vec![(0, record("k", "a0", 0)), (1, record("k", "a1", 0))],
        )
        .expect("produce");
        log.produce("a", vec![(1, record("k", "a2", 0))])
            .expect("produce");
        log.commit_epoch(&Epoch {
            records: vec![("b".into(), 0, record("k", "b0", 0))],
            offsets: vec![("q".into(), "a".into(), 1, 2)],
            ..Default::default()
        })
        .expect("commit");
    }
    let log = open(&directory);
    let described: Vec<(String, u32, u16)> = log
        .list_topics()
        .expect("list")
        .into_iter()
        .map(|topic| (topic.name, topic.partitions, topic.replicas))
        .collect();
    assert_eq!(
        described,
        vec![("a".to_string(), 2, 3), ("b".to_string(), 1, 1)]
    );
    assert_eq!(log.offsets("a").expect("offsets"), vec![(0, 1), (0, 2)]);
    assert_eq!(log.offsets("b").expect("offsets"), vec![(0, 1)]);
    assert_eq!(
        values(&log.read("a", 1, 0, 10).expect("read")),
        vec![(0, "a1".to_string()), (1, "a2".to_string())]
    );
    assert_eq!(
        log.committed_offsets("q", "a").expect("committed"),
        vec![None, Some(2)]
    );
    assert_eq!(
        log.produce("a", vec![(1, record("k", "a3", 0))])
            .expect("produce"),
        vec![2]
    );
    // The deleted topic's id is not reused: a new topic starts empty.
    log.create_topic("gone", 1, 1).expect("create");
    log.create_topic("c", 1, 1).expect("create");
    for topic in ["gone", "c"] {
        assert_eq!(log.offsets(topic).expect("offsets"), vec![(0, 0)]);
        assert!(log.read(topic, 0, 0, 10).expect("read").is_empty());
    }
}

#[test]
fn deleted_topic_loses_records_and_committed_offsets() {
    let directory = tempfile::tempdir().expect("temp dir");
    let log = open(&directory);
    log.create_topic("t", 1, 1).expect("create");
    log.create_topic("keep", 1, 1).expect("create");
    log.commit_epoch(&Epoch {
        records: vec![
            ("t".into(), 0, record("k", "v", 0)),
            ("keep".into(), 0, record("k", "v", 0)),
        ],
        offsets: vec![
            ("q".into(), "t".into(), 0, 1),
            ("q".into(), "keep".into(), 0, 1),
        ],
        ..Default::default()
    })
    .expect("commit");
    log.delete_topic("t").expect("delete");
    assert_eq!(log.describe_topic("t").expect("describe"), None);
    assert_eq!(
        user_error(log.read("t", 0, 0, 10)),
        "topic \"t\" does not exist"
    );
    assert_eq!(
        user_error(log.delete_topic("t")),
        "topic \"t\" does not exist"
    );
    log.create_topic("t", 1, 1).expect("recreate");
    assert!(log.read("t", 0, 0, 10).expect("read").is_empty());
    assert_eq!(
        log.committed_offsets("q", "t").expect("committed"),
        vec![None]
    );
    assert_eq!(
        log.committed_offsets("q", "keep").expect("committed"),
        vec![Some(1)]
    );
    assert_eq!(log.read("keep", 0, 0, 10).expect("read").len(), 1);
}

#[test]
fn topic_errors() {
    let directory = tempfile::tempdir().expect("temp dir");
    let log = open(&directory);
    log.create_topic("t", 2, 1).expect("create");
    log.create_topic("t", 2, 1)
        .expect("same partitions is a no-op");
    let cases: [(Result<()>, &str); 6] = [
        (
            log.create_topic("t", 3, 1),
            "topic \"t\" already exists with 2 partitions, not 3",
        ),
        (
            log.create_topic("z", 0, 1),
            "topic \"z\" must have between 1 and 100000 partitions, not 0",
        ),
        (log.create_topic("", 1, 1), "topic name must not be empty"),
        (
            log.produce("T", vec![(0, Record::default())]).map(drop),
            "topic \"T\" does not exist",
        ),
        (
            log.produce("t", vec![(0, Record::default()), (2, Record::default())])
                .map(drop),
            "partition 2 of topic \"t\" does not exist",
        ),
        (
            log.read("t", 5, 0, 1).map(drop),
            "partition 5 of topic \"t\" does not exist",
        ),
    ];
    for (result, message) in cases {
        assert_eq!(user_error(result), message);
    }
    assert_eq!(log.offsets("t").expect("offsets"), vec![(0, 0), (0, 0)]);
    assert_eq!(log.describe_topic("T").expect("describe"), None);
}

#[test]
fn consumers_poll_their_assignments_and_wake_on_produce_and_on_their_waker() {
    let directory = tempfile::tempdir().expect("temp dir");
    let log = Arc::new(open(&directory));
    log.create_topic("t", 2, 1).expect("create");
    log.create_topic("u", 1, 1).expect("create");
    log.produce(
        "t",
        vec![(0, record("a", "1", 1)), (1, record("b", "2", 2))],
    )
    .expect("produce");
    let mut consumer = Arc::clone(&log).consumer().expect("consumer");
    assert_eq!(consumer.assign("t", 1, 0).expect("assign"), 0);
    assert_eq!(consumer.assign("u", 0, 0).expect("assign"), 1);
    assert_eq!(
        user_error(consumer.assign("t", 2, 0)),
        "partition 2 of topic \"t\" does not exist"
    );
    let polled = consumer.poll(10, Duration::ZERO).expect("poll");
    assert_eq!(polled.len(), 1);
    assert_eq!(polled[0].assignment, 0);
    assert_eq!(values(&polled[0].records), vec![(0, "2".to_string())]);
    // Positions moved past what was polled; partition 0 of t is not assigned.
    assert!(consumer.poll(10, Duration::ZERO).expect("poll").is_empty());

    // A waiting poll returns with the records produced meanwhile.
    let (sender, receiver) = mpsc::channel();
    let waker = consumer.waker();
    let poller = thread::spawn(move || {
        let polled = consumer.poll(10, Duration::MAX).expect("poll");
        sender.send(polled.len()).expect("send");
        // ... and a waker ends a waiting poll with nothing.
        let polled = consumer.poll(10, Duration::MAX).expect("poll");
        sender.send(polled.len()).expect("send");
        consumer
    });
    log.produce("u", vec![(0, record("c", "3", 3))])
        .expect("produce");
    assert_eq!(receiver.recv_timeout(WAIT).expect("poll woke up"), 1);
    // A wake before the poll waits is not lost: the next poll returns at once.
    waker.wake();
    assert_eq!(receiver.recv_timeout(WAIT).expect("poll woke up"), 0);
    let mut consumer = poller.join().expect("poller thread");

    // Paused assignments are not read until resumed.
    log.produce("t", vec![(1, record("d", "4", 4))])
        .expect("produce");
    consumer.pause(0, true);
    assert!(consumer.poll(10, Duration::ZERO).expect("poll").is_empty());
    consumer.pause(0, false);
    let polled = consumer.poll(10, Duration::ZERO).expect("poll");
    assert_eq!(values(&polled[0].records), vec![(1, "4".to_string())]);
}

#[test]
fn concurrent_producers_get_dense_unique_offsets() {
    const THREADS: usize = 4;
    const CALLS: usize = 200;
    const PER_CALL: usize = 5;
    let directory = tempfile::tempdir().expect("temp dir");
    let log = Arc::new(open(&directory));
    log.create_topic("t", 1, 1).expect("create");
    let producers: Vec<_> = (0..THREADS)
        .map(|thread_index| {
            let log = Arc::clone(&log);
            thread::spawn(move || {
                let mut offsets = Vec::new();
                for call in 0..CALLS {
                    let records = (0..PER_CALL)
                        .map(|i| {
                            let value = format!("{thread_index}:{}", call * PER_CALL + i);
                            (0, record("k", &value, 0))
                        })
                        .collect();
                    let produced = log.produce("t", records).expect("produce");
                    // One call's records are consecutive.
                    assert!(produced.windows(2).all(|pair| pair[1] == pair[0] + 1));
                    offsets.extend(produced);
                }
                offsets
            })
        })
        .collect();
    let mut all: Vec<u64> = producers
        .into_iter()
        .flat_map(|producer| producer.join().expect("producer thread"))
        .collect();
    all.sort_unstable();
    let total = (THREADS * CALLS * PER_CALL) as u64;
    assert_eq!(all, (0..total).collect::<Vec<_>>());

    // Each thread's records come back in the order it produced them.
    let consumed = log.read("t", 0, 0, usize::MAX).expect("read");
    assert_eq!(consumed.len() as u64, total);
    let mut next_per_thread = [0usize; THREADS];
    for (offset, value) in values(&consumed) {
        let (thread_index, sequence) = value.split_once(':').expect("value shape");
        let thread_index: usize = thread_index.parse().expect("thread");
        let sequence: usize = sequence.parse().expect("sequence");
        assert_eq!(
            sequence, next_per_thread[thread_index],
            "at offset {offset}"
        );
        next_per_thread[thread_index] += 1;
    }
}

/// Throughput of produce + read of 1M 100-byte records, in calls of 1000 records.
/// Run with `cargo test --release -p executor -- --ignored --nocapture throughput`.
#[test]
#[ignore = "benchmark"]
fn throughput_of_one_million_records() {
    const RECORDS: usize = 1_000_000;
    const BATCH: usize = 1000;
    let directory = tempfile::tempdir().expect("temp dir");
    let log = open(&directory);
    log.create_topic("bench", 1, 1).expect("create");
    let value = vec![b'x'; 100];
    let started = Instant::now();
    for batch in 0..RECORDS / BATCH {
        let records = (0..BATCH)
            .map(|i| {
                let record = Record {
                    key: Some(((batch * BATCH + i) as u64).to_be_bytes().to_vec()),
                    value: Some(value.clone()),
                    timestamp: 1_700_000_000_000 + i as i64,
                    headers: Vec::new(),
                };
                (0, record)
            })
            .collect();
        log.produce("bench", records).expect("produce");
    }
    let produced = started.elapsed();
    let started = Instant::now();
    let mut from = 0;
    while from < RECORDS as u64 {
        let consumed = log.read("bench", 0, from, BATCH).expect("read");
        assert!(!consumed.is_empty());
        from = consumed.last().expect("not empty").offset + 1;
    }
    let read = started.elapsed();
    let rate = |elapsed: Duration| RECORDS as f64 / elapsed.as_secs_f64();
    println!(
        "produce: {produced:?} ({:.0} records/s), read: {read:?} ({:.0} records/s), \
         both: {:.0} records/s",
        rate(produced),
        rate(read),
        rate(produced + read)
    );
}
