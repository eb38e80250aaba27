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
        prefix.table(&node.state.groups),
        prefix.table(&node.state.time),
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
            time: "time".into()
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
