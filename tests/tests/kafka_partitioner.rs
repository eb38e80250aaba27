//! Eddy's partitioner against the real Java producer on a real Kafka broker, and the broker
//! harness itself across restarts.

use std::path::PathBuf;

use executor::log::partitioner::partition_for_key;
use tests::kafka::{KafkaBroker, java_tool};

/// The Java program that prints the partitions the Java producer picks.
fn partition_of_source() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("kafka/java/PartitionOf.java")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// For each of `topics`, the partition count the Java producer sees and the partition of each
/// key in its `RecordMetadata`.
fn java_partitions(
    broker: &KafkaBroker,
    topics: &[&str],
    keys: &[Vec<u8>],
) -> Vec<(String, u32, Vec<u32>)> {
    let hex_keys: Vec<String> = keys.iter().map(|key| hex(key)).collect();
    let topic_list = topics.join(",");
    let bootstrap = broker.bootstrap();
    let mut args = vec![bootstrap.as_str(), topic_list.as_str()];
    args.extend(hex_keys.iter().map(String::as_str));
    let output = java_tool(&partition_of_source(), "PartitionOf", &args)
        .unwrap_or_else(|error| panic!("PartitionOf: {error:#}"));
    let lines: Vec<(String, u32, Vec<u32>)> = output
        .lines()
        .map(|line| {
            let mut fields = line.split(' ');
            let topic = fields
                .next()
                .expect("a line starts with the topic")
                .to_owned();
            let numbers: Vec<u32> = fields
                .map(|field| field.parse().expect("PartitionOf prints numbers"))
                .collect();
            (topic, numbers[0], numbers[1..].to_vec())
        })
        .collect();
    assert_eq!(
        lines.len(),
        topics.len(),
        "one line per topic in:\n{output}"
    );
    lines
}

/// Keys of every shape that reaches the partitioner: empty, text, binary, long, and the
/// big-endian integers of ksqlDB's `KAFKA` format.
fn sample_keys() -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = vec![Vec::new()];
    for word in [
        "a",
        "ab",
        "abc",
        "21",
        "foobar",
        "user_1",
        "hello world",
        "a-little-bit-long-string",
        "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
        "é",
        "ünïcödé",
        "日本語のキー",
        "🦀 crab",
    ] {
        keys.push(word.as_bytes().to_vec());
    }
    keys.extend([
        vec![0x00],
        vec![0xff],
        vec![0x00, 0x00, 0x00, 0x00],
        vec![0xff, 0xff, 0xff, 0xff, 0xff],
        vec![0x00, 0xff, 0x00, 0xff, 0x80, 0x7f],
        vec![0x80, 0x7f, 0x01],
        (0..=255).collect(),
        (0..1024u32).map(|i| (i * 31 % 251) as u8).collect(),
    ]);
    for int in [0, 1, -1, 42, 1_000_000, i32::MAX, i32::MIN] {
        keys.push(int.to_be_bytes().to_vec());
    }
    for bigint in [0, -1, 1_700_000_000_000, i64::MAX, i64::MIN] {
        keys.push(bigint.to_be_bytes().to_vec());
    }
    keys
}

#[test]
fn eddy_partitions_keys_like_the_java_producer() {
    let broker = KafkaBroker::start().unwrap_or_else(|error| panic!("{error:#}"));
    let counts = [1u32, 3, 4, 7, 12];
    let topics: Vec<String> = counts
        .iter()
        .map(|count| format!("partitions-{count}"))
        .collect();
    for (topic, count) in topics.iter().zip(counts) {
        broker
            .create_topic(topic, count)
            .unwrap_or_else(|error| panic!("{error:#}\nbroker log:\n{}", broker.log_tail(40)));
    }
    let keys = sample_keys();
    let topic_names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let java = java_partitions(&broker, &topic_names, &keys);
    for ((topic, seen_count, partitions), count) in java.into_iter().zip(counts) {
        assert_eq!(seen_count, count, "partition count of {topic}");
        for (key, java_partition) in keys.iter().zip(partitions) {
            assert_eq!(
                partition_for_key(key, count),
                java_partition,
                "key {} over {count} partitions: Eddy vs the Java producer",
                hex(key)
            );
        }
    }
}

#[test]
fn broker_keeps_topics_across_restart_and_kill() {
    let mut broker = KafkaBroker::start().unwrap_or_else(|error| panic!("{error:#}"));
    broker.create_topic("orders", 3).expect("create orders");
    let keys = vec![b"k1".to_vec(), b"k2".to_vec(), b"k3".to_vec()];
    let before = java_partitions(&broker, &["orders"], &keys);
    assert_eq!(before[0].1, 3, "orders has 3 partitions");

    let bootstrap = broker.bootstrap();
    broker.stop();
    broker
        .restart()
        .unwrap_or_else(|error| panic!("restart after stop: {error:#}"));
    assert_eq!(broker.bootstrap(), bootstrap, "a restart keeps the port");
    assert_eq!(broker.list_topics().expect("list topics"), vec!["orders"]);
    assert_eq!(java_partitions(&broker, &["orders"], &keys), before);

    broker.kill();
    broker
        .restart()
        .unwrap_or_else(|error| panic!("restart after kill: {error:#}"));
    assert_eq!(broker.list_topics().expect("list topics"), vec!["orders"]);
    assert_eq!(java_partitions(&broker, &["orders"], &keys), before);
}

#[test]
fn restart_fails_with_the_broker_log_when_its_port_is_taken() {
    let mut broker = KafkaBroker::start().unwrap_or_else(|error| panic!("{error:#}"));
    broker.kill();
    let _squatter = std::net::TcpListener::bind(broker.bootstrap()).expect("the port is free");
    let Err(error) = broker.restart() else {
        panic!(
            "a broker cannot start on a port that is taken; log tail:\n{}",
            broker.log_tail(40)
        );
    };
    let message = format!("{error:#}");
    assert!(
        message.contains("exited") && message.contains("Address already in use"),
        "the error names the exit and shows the log: {message}"
    );
}
