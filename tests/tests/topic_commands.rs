//! `eddy topic ...`: kcat-style commands run as the `eddy` binary on the embedded log of a
//! data directory (and one test on a real Kafka broker): create, list, describe, delete,
//! produce lines from stdin and files, consume with kcat formats, follow, and errors.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use executor::log::partitioner::partition_for_key;
use tests::eddy_server::EddyServer;
use tests::kafka::KafkaBroker;
use tests::{describe_output, eddy_binary, run_command, wait_until};

const WAIT: Duration = Duration::from_secs(60);

/// `eddy [global] topic ARGS...` with `input` on stdin; must succeed. Returns stdout.
fn topic(global: &[&str], args: &[&str], input: &str) -> Result<String> {
    let output = run_topic(global, args, input)?;
    anyhow::ensure!(
        output.status.success(),
        "eddy topic {args:?} failed\n{}",
        describe_output(&output)
    );
    Ok(String::from_utf8(output.stdout)?)
}

/// `eddy [global] topic ARGS...` with `input` on stdin; must fail. Returns stderr.
fn topic_error(global: &[&str], args: &[&str], input: &str) -> Result<String> {
    let output = run_topic(global, args, input)?;
    anyhow::ensure!(
        !output.status.success(),
        "eddy topic {args:?} succeeded but should have failed\n{}",
        describe_output(&output)
    );
    Ok(String::from_utf8(output.stderr)?)
}

fn run_topic(global: &[&str], args: &[&str], input: &str) -> Result<Output> {
    run_command(
        Command::new(eddy_binary())
            .args(global)
            .arg("topic")
            .args(args),
        input.as_bytes(),
        WAIT,
    )
}

fn data_dir_args(data: &Path) -> Vec<&str> {
    vec![
        "--data-dir",
        data.to_str().expect("temporary paths are UTF-8"),
    ]
}

/// Asserts that `text` contains `expected`.
fn assert_contains(text: &str, expected: &str) {
    assert!(text.contains(expected), "expected {expected:?} in:\n{text}");
}

#[test]
fn topics_are_created_listed_described_and_deleted_with_clear_errors() -> Result<()> {
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    let global = data_dir_args(&data);

    let error = topic_error(&global, &["list"], "")?;
    assert_contains(&error, "no data directory at");

    assert_eq!(
        topic(&global, &["create", "orders", "--partitions", "3"], "")?,
        "created topic orders with 3 partitions\n"
    );
    topic(&global, &["create", "clicks"], "")?;
    let error = topic_error(&global, &["create", "orders", "--partitions", "3"], "")?;
    assert_contains(
        &error,
        "topic \"orders\" already exists (with 3 partitions)",
    );
    let error = topic_error(&global, &["create", "bad", "--partitions", "0"], "")?;
    assert_contains(&error, "must have between 1 and");

    topic(
        &global,
        &["produce", "orders", "-K", ":"],
        "a:1\nb:2\nc:3\nd:4\n",
    )?;
    assert_eq!(
        topic(&global, &["list"], "")?,
        "TOPIC   PARTITIONS  RECORDS\n\
         clicks  1           0\n\
         orders  3           4\n"
    );
    let described = topic(&global, &["describe", "orders"], "")?;
    let mut expected_counts = [0u64; 3];
    for key in ["a", "b", "c", "d"] {
        expected_counts[partition_for_key(key.as_bytes(), 3) as usize] += 1;
    }
    let mut expected = "topic orders: 3 partitions, 4 records\n\
                        PARTITION  START  END  RECORDS\n"
        .to_string();
    for (partition, count) in expected_counts.iter().enumerate() {
        expected.push_str(&format!("{partition}          0      {count}    {count}\n"));
    }
    assert_eq!(described, expected);
    let error = topic_error(&global, &["describe", "nope"], "")?;
    assert_contains(&error, "topic \"nope\" does not exist");

    // A topic a stream reads is not deleted; DROP STREAM ... DELETE TOPIC is the way.
    let output = tests::run_eddy(
        &data,
        &[
            "--execute",
            "CREATE STREAM clicks_stream (id VARCHAR KEY, url VARCHAR) \
             WITH (kafka_topic='clicks', value_format='JSON');",
        ],
        WAIT,
    )?;
    assert!(output.status.success(), "{}", describe_output(&output));
    let error = topic_error(&global, &["delete", "clicks"], "")?;
    assert_contains(
        &error,
        "cannot delete topic \"clicks\": it is in use by stream CLICKS_STREAM\n\
         hint: run DROP STREAM CLICKS_STREAM DELETE TOPIC;",
    );

    assert_eq!(
        topic(&global, &["delete", "orders"], "")?,
        "deleted topic orders\n"
    );
    let error = topic_error(&global, &["delete", "orders"], "")?;
    assert_contains(&error, "topic \"orders\" does not exist");
    assert_eq!(
        topic(&global, &["list"], "")?,
        "TOPIC   PARTITIONS  RECORDS\nclicks  1           0\n"
    );

    // A server holds the data directory: reading works, writing says who holds it.
    let server = EddyServer::start(&data, &[])?;
    // The server created its processing log's topic at start.
    assert_eq!(
        topic(&global, &["list"], "")?,
        "TOPIC                        PARTITIONS  RECORDS\n\
         clicks                       1           0\n\
         default_ksql_processing_log  1           0\n"
    );
    for args in [
        &["produce", "clicks"][..],
        &["create", "other"],
        &["delete", "clicks"],
    ] {
        let error = topic_error(&global, args, "x\n")?;
        assert_contains(&error, "is in use by another process (an eddy server, REPL");
    }
    drop(server);
    Ok(())
}

#[test]
fn produced_lines_get_keys_partitions_headers_and_are_read_by_consume_and_by_a_stream() -> Result<()>
{
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    let global = data_dir_args(&data);
    topic(&global, &["create", "clicks", "--partitions", "4"], "")?;

    // stdin, keys split at the first delimiter; a line without one has a null key.
    let output = run_topic(
        &global,
        &["produce", "clicks", "--key-delimiter", "::"],
        "u1::{\"url\":\"/a::b\"}\nu2::{\"url\":\"/b\"}\n{\"url\":\"/keyless\"}\nu1::{\"url\":\"/c\"}\n",
    )?;
    assert!(output.status.success(), "{}", describe_output(&output));
    assert_contains(
        &String::from_utf8_lossy(&output.stderr),
        "produced 4 records to",
    );
    // A file, to one partition, with headers and a timestamp.
    let file = directory.path().join("lines.json");
    std::fs::write(&file, "u9|{\"url\":\"/f1\"}\nu8|{\"url\":\"/f2\"}")?;
    topic(
        &global,
        &[
            "produce",
            "clicks",
            "--file",
            file.to_str().context("UTF-8 path")?,
            "-K",
            "|",
            "--partition",
            "3",
            "-H",
            "source=file",
            "-H",
            "batch=7",
            "--timestamp",
            "1700000000000",
        ],
        "",
    )?;

    let format = ["-f", "%p|%k|%s|%K|%h\\n"];
    let consumed = topic(&global, &[&["consume", "clicks"][..], &format].concat(), "")?;
    let mut lines: Vec<&str> = consumed.lines().collect();
    lines.sort();
    let p = |key: &str| partition_for_key(key.as_bytes(), 4);
    let mut expected = vec![
        format!("{}|u1|{{\"url\":\"/a::b\"}}|2|", p("u1")),
        format!("{}|u2|{{\"url\":\"/b\"}}|2|", p("u2")),
        // The first keyless record of a producer goes to partition 0 (round robin).
        "0||{\"url\":\"/keyless\"}|-1|".to_string(),
        format!("{}|u1|{{\"url\":\"/c\"}}|2|", p("u1")),
        "3|u9|{\"url\":\"/f1\"}|2|source=file,batch=7".to_string(),
        "3|u8|{\"url\":\"/f2\"}|2|source=file,batch=7".to_string(),
    ];
    expected.sort();
    assert_eq!(lines, expected);

    // One partition, from an offset, at most one record; offsets and timestamps.
    assert_eq!(
        topic(
            &global,
            &[
                "consume",
                "clicks",
                "--partition",
                "3",
                "--offset",
                "1",
                "--max",
                "1",
                "-f",
                "%t %p %o %T %s\\n"
            ],
            ""
        )?,
        "clicks 3 1 1700000000000 {\"url\":\"/f2\"}\n"
    );
    // --max over all partitions, and the default format (the value and a newline).
    let two = topic(
        &global,
        &["consume", "clicks", "--from-beginning", "-c", "2"],
        "",
    )?;
    assert_eq!(two.lines().count(), 2, "{two}");
    assert_eq!(
        topic(&global, &["consume", "clicks", "-p", "3", "-o", "-1"], "")?,
        "{\"url\":\"/f2\"}\n"
    );
    assert_eq!(topic(&global, &["consume", "clicks", "-o", "end"], "")?, "");

    // A stream over the topic reads what was produced, in the partitions chosen.
    let output = tests::run_eddy(
        &data,
        &[
            "--execute",
            "SET 'auto.offset.reset'='earliest';\
             CREATE STREAM clicks (user_id VARCHAR KEY, url VARCHAR) \
             WITH (kafka_topic='clicks', value_format='JSON');\
             SELECT user_id, url, ROWPARTITION FROM clicks WHERE ROWPARTITION = 3 \
             EMIT CHANGES LIMIT 2;",
        ],
        WAIT,
    )?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", describe_output(&output));
    assert_contains(&stdout, "|u9          |/f1         |3           |");
    assert_contains(&stdout, "|u8          |/f2         |3           |");

    // -Z: empty keys and values are null (a tombstone); without it they are empty.
    topic(&global, &["create", "tombstones"], "")?;
    topic(
        &global,
        &["produce", "tombstones", "-K", ":", "-Z"],
        "k1:\n:v\n",
    )?;
    topic(&global, &["produce", "tombstones", "-K", ":"], "k2:\n\n")?;
    assert_eq!(
        topic(&global, &["consume", "tombstones", "-f", "%K %S|"], "")?,
        "2 -1|-1 1|2 0|-1 0|"
    );

    // Errors: unknown topic, partition, bad header, format and offset.
    for (args, message) in [
        (&["produce", "nope"][..], "topic \"nope\" does not exist"),
        (
            &["produce", "clicks", "--partition", "4"],
            "partition 4 of topic \"clicks\" does not exist: it has 4",
        ),
        (
            &["produce", "clicks", "-H", "novalue"],
            "header \"novalue\" must be NAME=VALUE",
        ),
        (
            &["produce", "clicks", "--file", "/nonexistent/lines"],
            "cannot read /nonexistent/lines",
        ),
        (&["consume", "nope"], "topic \"nope\" does not exist"),
        (
            &["consume", "clicks", "-f", "%q"],
            "unknown format token %q",
        ),
        (
            &["consume", "clicks", "-o", "soon"],
            "bad --offset \"soon\"",
        ),
        (
            &["consume", "clicks", "-p", "9"],
            "partition 9 of topic \"clicks\" does not exist",
        ),
    ] {
        assert_contains(&topic_error(&global, args, "x\n")?, message);
    }
    Ok(())
}

/// `eddy topic consume --follow` running in the background, its stdout collected.
struct Follower {
    child: std::process::Child,
    output: Arc<Mutex<Vec<u8>>>,
}

impl Follower {
    fn start(global: &[&str], args: &[&str]) -> Result<Follower> {
        let mut child = Command::new(eddy_binary())
            .args(global)
            .arg("topic")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut stdout = child.stdout.take().context("a stdout pipe")?;
        let output = Arc::new(Mutex::new(Vec::new()));
        let collected = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut buffer = [0; 4096];
            while let Ok(read) = stdout.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                collected
                    .lock()
                    .expect("the collector never panics")
                    .extend_from_slice(&buffer[..read]);
            }
        });
        Ok(Follower { child, output })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().expect("not poisoned")).into_owned()
    }

    /// Waits until the output holds `expected`.
    fn wait_for(&self, expected: &str) -> Result<()> {
        wait_until(WAIT, expected, || Ok(self.text().contains(expected)))
            .with_context(|| format!("the follower printed:\n{}", self.text()))
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn consume_follow_prints_records_produced_later_by_other_processes() -> Result<()> {
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    let global = data_dir_args(&data);
    topic(&global, &["create", "events", "--partitions", "2"], "")?;
    topic(&global, &["produce", "events", "-K", ","], "k1,first\n")?;

    let follower = Follower::start(
        &global,
        &["consume", "events", "--follow", "-f", "%k=%s@%p:%o\\n"],
    )?;
    let p = |key: &str| partition_for_key(key.as_bytes(), 2);
    follower.wait_for(&format!("k1=first@{}:0\n", p("k1")))?;

    // Another `eddy topic produce`: the follower reads without holding the data directory.
    topic(
        &global,
        &["produce", "events", "-K", ","],
        "k2,second\nk3,third\n",
    )?;
    follower.wait_for("k2=second@")?;
    follower.wait_for("k3=third@")?;

    // A server opens the data directory meanwhile and inserts through a stream.
    let server = EddyServer::start(&data, &[])?;
    server.ksql(
        "CREATE STREAM events (id VARCHAR KEY, n INT) \
         WITH (kafka_topic='events', value_format='JSON');",
    )?;
    server.ksql("INSERT INTO events (id, n) VALUES ('k4', 4);")?;
    follower.wait_for(&format!("k4={{\"N\":4}}@{}:", p("k4")))?;
    assert_eq!(follower.text().lines().count(), 4, "{}", follower.text());
    drop(server);
    Ok(())
}

#[test]
fn topic_commands_produce_consume_and_list_on_a_kafka_broker() -> Result<()> {
    let broker = KafkaBroker::start()?;
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    let bootstrap = broker.bootstrap();
    let global = [
        "--data-dir",
        data.to_str().context("UTF-8 path")?,
        "--bootstrap-servers",
        &bootstrap,
    ];
    topic(&global, &["create", "kclicks", "--partitions", "3"], "")?;
    assert_contains(
        &topic_error(&global, &["create", "kclicks", "--partitions", "3"], "")?,
        "topic \"kclicks\" already exists (with 3 partitions)",
    );
    let lines: String = (0..300)
        .map(|n| format!("user{}|{{\"n\":{n}}}\n", n % 7))
        .collect();
    topic(&global, &["produce", "kclicks", "-K", "|"], &lines)?;
    let listed = topic(&global, &["list"], "")?;
    assert!(
        listed
            .lines()
            .any(|line| line.split_whitespace().eq(["kclicks", "3", "300"])),
        "{listed}"
    );

    let consumed = topic(&global, &["consume", "kclicks", "-f", "%p %k %s\\n"], "")?;
    assert_eq!(consumed.lines().count(), 300, "{consumed}");
    for line in consumed.lines() {
        let mut parts = line.splitn(3, ' ');
        let (partition, key) = (parts.next(), parts.next());
        let key = key.context("a key")?;
        assert_eq!(
            partition,
            Some(partition_for_key(key.as_bytes(), 3).to_string().as_str()),
            "{line}"
        );
    }
    assert_eq!(
        topic(&global, &["consume", "kclicks", "-c", "5"], "")?
            .lines()
            .count(),
        5
    );
    let described = topic(&global, &["describe", "kclicks"], "")?;
    assert_contains(&described, "topic kclicks: 3 partitions, 300 records");

    // Follow on Kafka: records produced later arrive.
    let follower = Follower::start(
        &global,
        &["consume", "kclicks", "--follow", "-f", "%k %s\\n"],
    )?;
    follower.wait_for("user5 {\"n\":299}\n")?;
    topic(
        &global,
        &["produce", "kclicks", "-K", "|"],
        "late|{\"n\":-1}\n",
    )?;
    follower.wait_for("late {\"n\":-1}\n")?;
    drop(follower);

    topic(&global, &["delete", "kclicks"], "")?;
    assert!(!broker.list_topics()?.iter().any(|name| name == "kclicks"));
    Ok(())
}
