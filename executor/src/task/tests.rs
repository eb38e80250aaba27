use std::sync::Arc;

use super::*;
use crate::commit::MemoryCommitter;
use crate::graph::OperatorGraph;
use crate::log::{EmbeddedLog, Record, TopicLog};
use crate::operator::testing::{Fixture, consumed, written_tables};
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
        buffer: consumed(records),
    }
}

#[test]
fn the_input_with_the_oldest_next_record_goes_first_up_to_the_others_next_record() {
    let value = Some("{}");
    let left = input(0, &[(None, value, 5), (None, value, 7), (None, value, 20)]);
    let right = input(1, &[(None, value, 6), (None, value, 30)]);
    let mut inputs = vec![left, right];
    // Left's 5 is oldest; it may run up to right's next record (6): one record.
    assert_eq!(next_batch(&inputs), Some((0, 1)));
    inputs[0].buffer.remove(0);
    // Right's 6 is oldest now; left's next is 7: one record.
    assert_eq!(next_batch(&inputs), Some((1, 1)));
    inputs[1].buffer.remove(0);
    // Left's 7 and 20 are both no newer than right's 30.
    assert_eq!(next_batch(&inputs), Some((0, 2)));
    inputs[0].buffer.clear();
    // Only right has records: all of them.
    assert_eq!(next_batch(&inputs), Some((1, 1)));
    inputs[1].buffer.clear();
    assert_eq!(next_batch(&inputs), None);
    // Ties go to the first input; a single input takes its whole buffer.
    let tied = vec![input(0, &[(None, value, 1)]), input(1, &[(None, value, 1)])];
    assert_eq!(next_batch(&tied), Some((0, 1)));
    let single = vec![input(0, &[(None, value, 9), (None, value, 3)])];
    assert_eq!(next_batch(&single), Some((0, 2)));
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

#[test]
fn each_partition_group_is_one_epoch_of_records_offsets_and_state() {
    let fixture = Fixture::new();
    let directory = tempfile::tempdir().expect("temp dir");
    let log =
        Arc::new(EmbeddedLog::new(Store::open(directory.path()).expect("store")).expect("log"));
    log.create_topic("s", 2, 1).expect("create");
    let record = |key: &str, n: i64, timestamp| Record {
        key: Some(key.as_bytes().to_vec()),
        value: Some(format!(r#"{{"N":{n}}}"#).into_bytes()),
        timestamp,
        headers: Vec::new(),
    };
    log.produce(
        "s",
        vec![
            (0, record("a", 1, 10)),
            (1, record("b", 2, 20)),
            (0, record("c", 0, 30)),
        ],
    )
    .expect("produce");

    let plan = fixture.plan("CREATE STREAM O AS SELECT ID, N FROM S WHERE N > 0;");
    let prefix = fixture.prefix("q");
    let graph =
        OperatorGraph::compile(&plan, &fixture.metrics, Some(&prefix), true).expect("graph");
    let committer = Arc::new(MemoryCommitter::default());
    let commit = TaskCommit {
        committer: Arc::clone(&committer) as Arc<dyn crate::commit::Committer>,
        group: "q".into(),
        times: prefix.table("task-time"),
        query_counters: fixture.metrics.counters("q"),
        sink_counters: fixture.metrics.counters("O"),
    };
    let inputs = (0..2)
        .map(|partition| InputSpec {
            source: 0,
            topic: "s".into(),
            partition,
            offset: 0,
            end: Some(log.offsets("s").expect("offsets")[partition as usize].1),
        })
        .collect();
    let config = TaskConfig {
        max_records: 100,
        idle_timeout: Duration::ZERO,
        poll_timeout: Duration::from_millis(10),
    };
    let consumer = Arc::clone(&log).consumer().expect("consumer");
    let mut task =
        Task::new("q/0".into(), graph, consumer, inputs, config, Some(commit)).expect("task");
    task.run(&AtomicBool::new(false), &mut |_| Ok(true))
        .expect("runs");

    let epochs = committer.epochs();
    assert_eq!(epochs.len(), 2, "one epoch per partition group: {epochs:?}");
    for (task, _) in &epochs {
        assert_eq!(task, "q/0");
    }
    let keys = |epoch: &Epoch| -> Vec<String> {
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
    };
    let (_, first) = &epochs[0];
    assert_eq!(keys(first), vec!["O:a"], "c fails the filter");
    assert_eq!(first.offsets, vec![("q".into(), "s".into(), 0, 2)]);
    assert_eq!(written_tables(&first.state), vec!["q/task-time"]);
    let (_, second) = &epochs[1];
    assert_eq!(keys(second), vec!["O:b"]);
    assert_eq!(second.offsets, vec![("q".into(), "s".into(), 1, 1)]);

    // The stream times reach the state store once the epochs are applied.
    for (_, epoch) in &epochs {
        fixture.state.apply(&epoch.state).expect("apply");
    }
    let mut times = prefix.table("task-time");
    let time = |times: &mut crate::state::StateTable, partition: u32| {
        times
            .get(&time_key(0, partition))
            .expect("get")
            .map(|bytes| i64::from_be_bytes(bytes.try_into().expect("8 bytes")))
    };
    assert_eq!(time(&mut times, 0), Some(30));
    assert_eq!(time(&mut times, 1), Some(20));
}
