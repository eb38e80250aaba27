//! The walking skeleton end to end through the `eddy` binary: scripts, errors, output.

use std::time::Duration;

use tests::run_eddy;

const TIMEOUT: Duration = Duration::from_secs(120);

#[test]
fn script_creates_stream_runs_persistent_query_and_prints_push_rows() {
    let directory = tempfile::tempdir().expect("temp dir");
    let script = directory.path().join("script.sql");
    std::fs::write(
        &script,
        "CREATE STREAM pageviews (userid VARCHAR KEY, viewtime BIGINT, pageid VARCHAR)
  WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='JSON', PARTITIONS=2);
INSERT INTO pageviews (userid, viewtime, pageid) VALUES ('u1', 1000, 'home');
INSERT INTO pageviews (userid, viewtime, pageid) VALUES ('u2', 2000, 'cart');
INSERT INTO pageviews (userid, viewtime, pageid) VALUES ('u1', 3000, 'checkout');
CREATE STREAM views_upper AS SELECT userid, UCASE(pageid) AS page, viewtime * 2 AS t2
  FROM pageviews WHERE viewtime >= 1000 EMIT CHANGES;
SET 'auto.offset.reset' = 'earliest';
SELECT * FROM views_upper EMIT CHANGES LIMIT 3;
",
    )
    .expect("write script");
    let data = directory.path().join("data");
    let output = run_eddy(
        &data,
        &["--file", script.to_str().expect("utf-8 path")],
        TIMEOUT,
    )
    .expect("eddy runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut rows: Vec<Vec<String>> = stdout
        .lines()
        .filter(|line| line.starts_with('|'))
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_string())
                .collect()
        })
        .collect();
    assert_eq!(
        rows.first(),
        Some(&vec!["USERID".to_string(), "PAGE".into(), "T2".into()]),
        "{stdout}"
    );
    rows.remove(0);
    rows.sort();
    let expected: Vec<Vec<String>> = vec![
        vec!["u1".into(), "CHECKOUT".into(), "6000".into()],
        vec!["u1".into(), "HOME".into(), "2000".into()],
        vec!["u2".into(), "CART".into(), "4000".into()],
    ];
    assert_eq!(rows, expected, "{stdout}");
}

#[test]
fn syntax_error_names_line_and_column_and_changes_nothing() {
    let directory = tempfile::tempdir().expect("temp dir");
    let data = directory.path().join("data");
    let script = "CREATE STREAM s (a INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);\nSELECT a FROM s WHERE a = = 1 EMIT CHANGES;";
    let output = run_eddy(&data, &["--execute", script], TIMEOUT).expect("eddy runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 2:27"), "stderr: {stderr}");
    assert!(
        stderr.contains("Syntax error at or near '='"),
        "stderr: {stderr}"
    );
    // The whole script was rejected before anything ran.
    let output = run_eddy(&data, &["--execute", "SHOW STREAMS;"], TIMEOUT).expect("eddy runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(
        !stdout.contains(" S "),
        "stream S must not exist:\n{stdout}"
    );
}

#[test]
fn planning_error_stops_the_script_and_keeps_earlier_statements() {
    let directory = tempfile::tempdir().expect("temp dir");
    let data = directory.path().join("data");
    let script =
        "CREATE STREAM s (a INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);
CREATE STREAM t AS SELECT nope FROM s;
CREATE STREAM u AS SELECT a FROM s;";
    let output = run_eddy(&data, &["--execute", script], TIMEOUT).expect("eddy runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("SELECT column 'NOPE' cannot be resolved."),
        "stderr: {stderr}"
    );
    let output = run_eddy(
        &data,
        &["--execute", "SHOW STREAMS; SHOW QUERIES;"],
        TIMEOUT,
    )
    .expect("eddy runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(" S "), "{stdout}");
    assert!(!stdout.contains(" T "), "{stdout}");
    assert!(!stdout.contains(" U "), "{stdout}");
    assert!(!stdout.contains("CSAS_"), "{stdout}");
}
