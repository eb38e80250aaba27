//! Rows inserted without a key are spread over the topic's partitions, as a Kafka
//! producer spreads records with a null key, so every partition's task of a query gets work.

use executor::TopicLog;
use server::{Engine, Session};
use tests::execute;

/// Records in each partition of `topic`.
fn partition_counts(log: &dyn TopicLog, topic: &str) -> Vec<u64> {
    log.offsets(topic)
        .expect("offsets")
        .iter()
        .map(|(start, end)| end - start)
        .collect()
}

#[test]
fn keyless_insert_values_are_spread_over_partitions() {
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(directory.path()).expect("engine opens");
    let mut session = Session::default();
    execute(
        &engine,
        &mut session,
        "CREATE STREAM s (a INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=2);
         CREATE STREAM k (id INT KEY, a INT) WITH (KAFKA_TOPIC='k', VALUE_FORMAT='JSON', PARTITIONS=2);",
    );
    for a in 0..10 {
        execute(
            &engine,
            &mut session,
            &format!("INSERT INTO s (a) VALUES ({a}); INSERT INTO k (id, a) VALUES (7, {a});"),
        );
    }
    let log = engine.topic_log();
    let spread = partition_counts(log.as_ref(), "s");
    assert_eq!(spread.iter().sum::<u64>(), 10);
    assert!(
        spread.iter().all(|&count| count >= 4),
        "keyless rows should reach both partitions: {spread:?}"
    );
    // Keyed rows still go to their key's partition only.
    let keyed = partition_counts(log.as_ref(), "k");
    assert_eq!(keyed.iter().sum::<u64>(), 10);
    assert!(keyed.contains(&10), "one key, one partition: {keyed:?}");
}
