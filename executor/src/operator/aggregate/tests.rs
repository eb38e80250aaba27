use planner::plan::{AggregateNode, DataflowNode};

use super::*;
use crate::operator::testing::{Fixture, Harness, find, rows_at, written_tables};

fn aggregate_node(plan: &planner::plan::DataflowPlan) -> &AggregateNode {
    find(&plan.root, &|node| match node {
        DataflowNode::Aggregate(aggregate) => Some(aggregate),
        _ => None,
    })
    .expect("an aggregation")
}

fn operator(fixture: &Fixture, node: &AggregateNode) -> AggregateOperator {
    let prefix = fixture.prefix("q");
    AggregateOperator::new(
        node,
        AggregateState {
            groups: prefix.table(&node.state.groups),
            times: prefix.table(&node.state.time),
            open: node.state.open.as_ref().map(|name| prefix.table(name)),
        },
        fixture.metrics.counters("S"),
    )
    .expect("aggregate operator")
}

#[test]
fn tumbling_count_emits_the_last_row_per_window_and_drops_late_records() {
    let fixture = Fixture::new();
    let plan = fixture.plan(
        "CREATE TABLE C AS SELECT ID, COUNT(*) AS CNT FROM S \
         WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY ID;",
    );
    let node = aggregate_node(&plan);
    assert_eq!(
        node.state,
        planner::plan::AggregateStateTables {
            groups: "aggregate".into(),
            time: "time".into(),
            open: None,
        }
    );
    let mut harness = Harness::new(operator(&fixture, node));
    let source = fixture.decode(
        &plan,
        0,
        &[
            (Some("a"), Some(r#"{"N":1}"#), 1_000),
            (Some("b"), Some(r#"{"N":1}"#), 2_000),
            (Some("a"), Some(r#"{"N":1}"#), 3_000),
        ],
    );
    // Group key, count, window start and end.
    let columns = [0, 1, 2, 3];
    let output = harness.feed(0, source);
    assert_eq!(
        rows_at(&output, &columns),
        vec!["a|2|0|10000", "b|1|0|10000"]
    );
    let writes = harness.writes();
    assert_eq!(written_tables(&writes), vec!["q/aggregate", "q/time"]);

    let late = fixture.decode(
        &plan,
        0,
        &[
            (Some("a"), Some(r#"{"N":1}"#), 25_000),
            (Some("b"), Some(r#"{"N":1}"#), 5_000),
        ],
    );
    let output = harness.feed(0, late);
    assert_eq!(rows_at(&output, &columns), vec!["a|1|20000|30000"]);
    let late = fixture
        .metrics
        .counters("S")
        .late
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(late, 1, "one late record");
}

#[test]
fn stream_time_is_kept_per_partition() {
    let fixture = Fixture::new();
    let plan = fixture.plan(
        "CREATE TABLE C AS SELECT ID, COUNT(*) AS CNT FROM S \
         WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY ID;",
    );
    let mut harness = Harness::new(operator(&fixture, aggregate_node(&plan)));
    let record = |time| fixture.decode(&plan, 0, &[(Some("a"), Some(r#"{"N":1}"#), time)]);
    harness.partition = 0;
    harness.feed(0, record(50_000));
    // Partition 1 has not seen time 50 s: its record at 1 s is on time.
    harness.partition = 1;
    let output = harness.feed(0, record(1_000));
    assert_eq!(rows_at(&output, &[0, 1, 2]), vec!["a|1|0"]);
    assert_eq!(
        harness.advance_time(100_000),
        None,
        "emits nothing on time advance"
    );
}

/// `EMIT FINAL` closes the windows of each input partition by that partition's stream time
/// (Kafka Streams suppresses per task): a later record of partition 0 emits partition 0's
/// closed window, not partition 1's. A restart (a new operator over the committed state)
/// emits each window still open once, and no emitted one again.
#[test]
fn emit_final_closes_windows_by_the_stream_time_of_their_partition_across_restarts() {
    let fixture = Fixture::new();
    let plan = fixture.plan(
        "CREATE TABLE C AS SELECT ID, COUNT(*) AS CNT FROM S \
         WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY ID EMIT FINAL;",
    );
    let node = aggregate_node(&plan);
    assert_eq!(node.state.open.as_deref(), Some("open"));
    let record = |key, time| fixture.decode(&plan, 0, &[(Some(key), Some(r#"{"N":1}"#), time)]);
    // Group key, count, window start.
    let columns = [0, 1, 2];
    let mut harness = Harness::new(operator(&fixture, node));
    harness.partition = 0;
    assert!(harness.feed(0, record("a", 1_000)).num_rows() == 0);
    harness.partition = 1;
    assert!(harness.feed(0, record("b", 2_000)).num_rows() == 0);
    assert!(harness.feed(0, record("b", 3_000)).num_rows() == 0);
    harness.partition = 0;
    let output = harness.feed(0, record("a", 12_000));
    assert_eq!(rows_at(&output, &columns), vec!["a|1|0"]);
    let writes = harness.writes();
    assert_eq!(
        written_tables(&writes),
        vec!["q/aggregate", "q/time", "q/open"]
    );
    fixture.state.apply(&writes).expect("commits");

    // Restarted: partition 1's window opened before is emitted once its time passes it;
    // partition 0's emitted window is not emitted again.
    let mut harness = Harness::new(operator(&fixture, node));
    harness.partition = 1;
    let output = harness.feed(0, record("b", 15_000));
    assert_eq!(rows_at(&output, &columns), vec!["b|2|0"]);
    harness.partition = 0;
    let output = harness.feed(0, record("a", 25_000));
    assert_eq!(rows_at(&output, &columns), vec!["a|1|10000"]);
    fixture.state.apply(&harness.writes()).expect("commits");
    let mut harness = Harness::new(operator(&fixture, node));
    harness.partition = 1;
    assert_eq!(
        rows_at(&harness.feed(0, record("b", 28_000)), &columns),
        vec!["b|1|10000"]
    );
}

#[test]
fn each_emitted_row_names_the_input_row_that_last_updated_it() {
    let fixture = Fixture::new();
    let plan = fixture.plan("CREATE TABLE C AS SELECT ID, COUNT(*) AS CNT FROM S GROUP BY ID;");
    let mut operator = operator(&fixture, aggregate_node(&plan));
    let source = fixture.decode(
        &plan,
        0,
        &[
            (Some("a"), Some(r#"{"N":1}"#), 1_000),
            (Some("b"), Some(r#"{"N":1}"#), 2_000),
            (Some("a"), Some(r#"{"N":1}"#), 3_000),
        ],
    );
    // The rows' records are entries 10, 11 and 12; with a record cache, one row per group.
    let mut origins = vec![10, 11, 12];
    let mut produced = Vec::new();
    let mut context = OperatorContext::new(0, &mut produced);
    let output = operator
        .process_tracked(0, source, &mut origins, &mut context)
        .expect("tracks its rows")
        .expect("aggregates");
    assert_eq!(rows_at(&output, &[0, 1]), vec!["a|2", "b|1"]);
    assert_eq!(origins, vec![12, 11]);
}
