use std::sync::Arc;

use super::*;
use crate::commit::MemoryCommitter;
use crate::graph::OperatorGraph;
use crate::log::{EmbeddedLog, Record, TopicLog};
use crate::operator::testing::{Fixture, consumed};
use crate::store::Store;

fn input(source: usize, records: &[(Option<&str>, Option<&str>, i64)]) -> Input {
    Input {
        spec: InputSpec {
            source,
            topic: format!("t{source}"),
            partition: 0,
            offset: 0,
            end: None,
        },
        assignment: source,
        next: 0,
        time: i64::MIN,
        time_changed: false,
        buffer: consumed(records).into(),
    }
}

#[test]
fn the_input_with_the_oldest_next_record_goes_first_up_to_the_others_next_record() {
    let value = Some("{}");
    let left = input(0, &[(None, value, 5), (None, value, 7), (None, value, 20)]);
    let right = input(1, &[(None, value, 6), (None, value, 30)]);
    // Left's 5 is oldest; it may run up to right's next record (6): one record. Then
    // right's 6 (left's next is 7); then left's 7 and 20, both no newer than right's 30;
    // then right's 30, alone.
    assert_eq!(
        plan_chunks(&[left, right], |_| false),
        vec![(0, 1), (1, 1), (0, 2), (1, 1)]
    );
    // Ties go to the first input; a single input takes its whole buffer.
    let tied = [input(0, &[(None, value, 1)]), input(1, &[(None, value, 1)])];
    assert_eq!(plan_chunks(&tied, |_| false), vec![(0, 1), (1, 1)]);
    let single = [input(0, &[(None, value, 9), (None, value, 3)])];
    assert_eq!(plan_chunks(&single, |_| true), vec![(0, 2)]);
    assert_eq!(plan_chunks(&[input(0, &[])], |_| false), vec![]);
}

#[test]
fn a_run_stops_before_an_input_with_nothing_buffered_but_more_in_its_partition() {
    let value = Some("{}");
    let inputs = [
        input(0, &[(None, value, 5), (None, value, 7)]),
        input(1, &[(None, value, 6)]),
    ];
    // Right runs dry after its 6; its partition has more, so left's 7 waits for it.
    assert_eq!(
        plan_chunks(&inputs, |input| input.spec.source == 1),
        vec![(0, 1), (1, 1)]
    );
    // An input with nothing buffered and more to read holds the group back at once.
    let waiting = [input(0, &[(None, value, 5)]), input(1, &[])];
    assert_eq!(plan_chunks(&waiting, |_| true), vec![]);
    // Without more to read, the other input's records go on.
    assert_eq!(plan_chunks(&waiting, |_| false), vec![(0, 1)]);
}

#[test]
fn group_time_is_the_minimum_of_its_inputs_times() {
    let mut inputs = vec![input(0, &[]), input(1, &[])];
    assert_eq!(group_time(&inputs), i64::MIN);
    inputs[0].time = 10;
    assert_eq!(
        group_time(&inputs),
        i64::MIN,
        "input 1 has delivered nothing"
    );
    inputs[1].time = 4;
    assert_eq!(group_time(&inputs), 4);
}

fn json(key: &str, n: i64, timestamp: i64) -> Record {
    Record {
        key: Some(key.as_bytes().to_vec()),
        value: Some(format!(r#"{{"N":{n}}}"#).into_bytes()),
        timestamp,
        headers: Vec::new(),
    }
}

/// Runs `CREATE STREAM O AS SELECT ID, N FROM S WHERE N > 0` over `inputs` (every record up
/// to the end each input has now) with an in-memory committer; returns the epochs and the
/// query's state tables.
fn run_task(
    fixture: &Fixture,
    log: &Arc<EmbeddedLog>,
    inputs: &[(&str, u32)],
) -> (Vec<(String, Epoch)>, crate::graph::StatePrefix) {
    let committer = Arc::new(MemoryCommitter::default());
    let prefix = run_task_committing(fixture, log, inputs, Arc::clone(&committer) as _);
    (committer.epochs(), prefix)
}

/// `run_task`, committing through `committer`; returns the query's state tables.
fn run_task_committing(
    fixture: &Fixture,
    log: &Arc<EmbeddedLog>,
    inputs: &[(&str, u32)],
    committer: Arc<dyn crate::commit::Committer>,
) -> crate::graph::StatePrefix {
    let plan = fixture.plan("CREATE STREAM O AS SELECT ID, N FROM S WHERE N > 0;");
    let prefix = fixture.prefix("q");
    let graph =
        OperatorGraph::compile(&plan, &fixture.metrics, Some(&prefix), true).expect("graph");
    let commit = TaskCommit {
        committer,
        group: "q".into(),
        times: prefix.table("task-time"),
        query_counters: fixture.metrics.counters("q"),
        sink_counters: fixture.metrics.counters("O"),
    };
    let inputs = inputs
        .iter()
        .map(|(topic, partition)| InputSpec {
            source: 0,
            topic: (*topic).into(),
            partition: *partition,
            offset: 0,
            end: Some(log.offsets(topic).expect("offsets")[*partition as usize].1),
        })
        .collect();
    let config = TaskConfig {
        max_records: 100,
        idle_timeout: Duration::ZERO,
        poll_timeout: Duration::from_millis(10),
    };
    let consumer = Arc::clone(log).consumer().expect("consumer");
    let mut task =
        Task::new("q/0".into(), graph, consumer, inputs, config, Some(commit)).expect("task");
    task.run(&AtomicBool::new(false), &mut |_| Ok(true))
        .expect("runs");
    prefix
}

/// `topic:key` of each record an epoch produced, in produce order.
fn produced_keys(epoch: &Epoch) -> Vec<String> {
    epoch
        .records
        .iter()
        .map(|(topic, _, record)| {
            format!(
                "{topic}:{}",
                String::from_utf8_lossy(record.key.as_deref().unwrap_or_default())
            )
        })
        .collect()
}

/// A log in `directory` whose topic `s` has records a (N 1) and c (N 0) in partition 0 and
/// b (N 2) in partition 1.
fn two_partition_input(directory: &std::path::Path) -> Arc<EmbeddedLog> {
    let log = Arc::new(EmbeddedLog::new(Store::open(directory).expect("store")).expect("log"));
    log.create_topic("s", 2, 1).expect("create");
    log.produce(
        "s",
        vec![
            (0, json("a", 1, 10)),
            (1, json("b", 2, 20)),
            (0, json("c", 0, 30)),
        ],
    )
    .expect("produce");
    log
}

#[test]
fn each_partition_group_is_one_epoch_of_records_and_offsets() {
    let fixture = Fixture::new();
    let directory = tempfile::tempdir().expect("temp dir");
    let log = two_partition_input(directory.path());
    let (epochs, _) = run_task(&fixture, &log, &[("s", 0), ("s", 1)]);
    assert_eq!(epochs.len(), 2, "one epoch per partition group: {epochs:?}");
    for (task, _) in &epochs {
        assert_eq!(task, "q/0");
    }
    let (_, first) = &epochs[0];
    assert_eq!(produced_keys(first), vec!["O:a"], "c fails the filter");
    assert_eq!(first.offsets, vec![("q".into(), "s".into(), 0, 2)]);
    assert!(
        first.state.is_empty(),
        "a stateless single-input group writes no state"
    );
    let (_, second) = &epochs[1];
    assert_eq!(produced_keys(second), vec!["O:b"]);
    assert_eq!(second.offsets, vec![("q".into(), "s".into(), 1, 1)]);
}

#[test]
fn a_group_of_several_inputs_feeds_them_in_time_order_and_keeps_their_stream_times() {
    let fixture = Fixture::new();
    let directory = tempfile::tempdir().expect("temp dir");
    let log =
        Arc::new(EmbeddedLog::new(Store::open(directory.path()).expect("store")).expect("log"));
    log.create_topic("s", 1, 1).expect("create");
    log.create_topic("s2", 1, 1).expect("create");
    log.produce("s", vec![(0, json("a", 1, 10)), (0, json("c", 3, 30))])
        .expect("produce");
    log.produce("s2", vec![(0, json("b", 2, 20)), (0, json("d", 4, 40))])
        .expect("produce");
    // Both topics feed the plan's one source: a group of two inputs.
    let (epochs, prefix) = run_task(&fixture, &log, &[("s", 0), ("s2", 0)]);
    let records: Vec<String> = epochs.iter().flat_map(|(_, e)| produced_keys(e)).collect();
    assert_eq!(
        records,
        vec!["O:a", "O:b", "O:c", "O:d"],
        "oldest record first"
    );
    let (_, last) = epochs.last().expect("an epoch");
    assert_eq!(
        last.offsets,
        vec![
            ("q".into(), "s".into(), 0, 2),
            ("q".into(), "s2".into(), 0, 2)
        ]
    );
    for (_, epoch) in &epochs {
        fixture.state.apply(&epoch.state).expect("apply");
    }
    let mut times = prefix.table("task-time");
    let mut time = |topic: &str| {
        let spec = InputSpec {
            source: 0,
            topic: topic.into(),
            partition: 0,
            offset: 0,
            end: None,
        };
        times
            .get(&time_key(&spec))
            .expect("get")
            .map(|bytes| i64::from_be_bytes(bytes.try_into().expect("8 bytes")))
    };
    assert_eq!(time("s"), Some(30));
    assert_eq!(time("s2"), Some(40));
}

/// Notes, at each commit, the source's consumed and the sink's produced counts.
struct CountsAtCommit {
    metrics: crate::metrics::Metrics,
    seen: std::sync::Mutex<Vec<(u64, u64)>>,
}

impl crate::commit::Committer for CountsAtCommit {
    fn commit(&self, _task: &str, _epoch: Epoch) -> Result<()> {
        let count =
            |name: &str, field: fn(&crate::metrics::Counters) -> &std::sync::atomic::AtomicU64| {
                field(&self.metrics.counters(name)).load(Ordering::SeqCst)
            };
        let seen = (count("S", |c| &c.consumed), count("O", |c| &c.produced));
        self.seen.lock().expect("lock").push(seen);
        Ok(())
    }
}

#[test]
fn records_are_counted_once_their_epoch_has_committed() {
    let fixture = Fixture::new();
    let directory = tempfile::tempdir().expect("temp dir");
    let log = two_partition_input(directory.path());
    let committer = Arc::new(CountsAtCommit {
        metrics: fixture.metrics.clone(),
        seen: Default::default(),
    });
    run_task_committing(
        &fixture,
        &log,
        &[("s", 0), ("s", 1)],
        Arc::clone(&committer) as _,
    );
    // While an epoch commits, the counts hold only the epochs before it.
    assert_eq!(*committer.seen.lock().expect("lock"), [(0, 0), (2, 1)]);
    let counters = fixture.metrics.counters("S");
    assert_eq!(counters.consumed.load(Ordering::SeqCst), 3);
    assert_eq!(
        fixture
            .metrics
            .counters("O")
            .produced
            .load(Ordering::SeqCst),
        2
    );
}

#[test]
fn output_records_carry_the_headers_of_the_records_they_come_from() {
    let fixture = Fixture::new();
    let directory = tempfile::tempdir().expect("temp dir");
    let log =
        Arc::new(EmbeddedLog::new(Store::open(directory.path()).expect("store")).expect("log"));
    log.create_topic("s", 1, 1).expect("create");
    let header = |value: &str| crate::log::Header {
        key: "h".into(),
        value: Some(value.as_bytes().to_vec()),
    };
    let with_headers = |mut record: Record, headers: Vec<crate::log::Header>| {
        record.headers = headers;
        record
    };
    // c fails the filter; d has no headers.
    log.produce(
        "s",
        vec![
            (
                0,
                with_headers(json("a", 1, 10), vec![header("1"), header("2")]),
            ),
            (0, with_headers(json("c", 0, 20), vec![header("3")])),
            (0, json("d", 5, 30)),
        ],
    )
    .expect("produce");
    let (epochs, _) = run_task(&fixture, &log, &[("s", 0)]);
    let produced: Vec<(String, Vec<crate::log::Header>)> = epochs
        .iter()
        .flat_map(|(_, epoch)| &epoch.records)
        .map(|(_, _, record)| {
            (
                String::from_utf8_lossy(record.key.as_deref().unwrap_or_default()).into_owned(),
                record.headers.clone(),
            )
        })
        .collect();
    assert_eq!(
        produced,
        vec![
            ("a".to_string(), vec![header("1"), header("2")]),
            ("d".to_string(), Vec::new()),
        ]
    );
}
