use super::*;
use crate::operator::testing::{Fixture, Harness, rows};

/// The filters and projections above the source of `plan`, as one operator.
fn stateless(fixture: &Fixture, plan: &planner::plan::DataflowPlan) -> StatelessOperator {
    StatelessOperator::compile(&plan.root, &fixture.metrics)
        .expect("compiles")
        .0
}

#[test]
fn stream_filter_drops_failing_rows_and_projection_computes_columns() {
    let fixture = Fixture::new();
    let plan =
        fixture.plan("SELECT ID, N * 2 AS D, UCASE(V) AS U FROM S WHERE N > 1 EMIT CHANGES;");
    let mut harness = Harness::new(stateless(&fixture, &plan));
    let input = fixture.decode(
        &plan,
        0,
        &[
            (Some("a"), Some(r#"{"N":1,"V":"x"}"#), 10),
            (Some("b"), Some(r#"{"N":2,"V":"y"}"#), 20),
            (Some("c"), Some(r#"{"N":null,"V":"z"}"#), 30),
            (Some("d"), Some(r#"{"N":5,"V":null}"#), 40),
        ],
    );
    let output = harness.feed(0, input);
    assert_eq!(
        rows(&output, &["ID", "D", "U", "$rowtime"]),
        vec!["b|4|Y|20", "d|10|null|40"]
    );
    assert!(
        harness.writes().is_empty(),
        "a stateless operator writes no state"
    );
}

#[test]
fn table_filter_turns_failing_upserts_into_deletes_of_their_key() {
    let fixture = Fixture::new();
    let plan = fixture.plan("CREATE TABLE BIG AS SELECT * FROM T WHERE N > 1;");
    let mut harness = Harness::new(stateless(&fixture, &plan));
    let input = fixture.decode(
        &plan,
        0,
        &[
            (Some("a"), Some(r#"{"N":5,"V":"x"}"#), 1),
            (Some("a"), Some(r#"{"N":0,"V":"x"}"#), 2),
            (Some("b"), None, 3),
        ],
    );
    let output = harness.feed(0, input);
    // Upsert, then the failing update becomes a delete (2), and the tombstone stays one.
    assert_eq!(
        rows(&output, &["ID", "N", planner::catalog::OP_COLUMN]),
        vec![
            format!("a|5|{}", planner::catalog::OP_UPSERT),
            format!("a|0|{OP_DELETE}"),
            format!("b|null|{OP_DELETE}"),
        ]
    );
}

#[test]
fn an_operator_without_steps_passes_batches_through() {
    let fixture = Fixture::new();
    let plan = fixture.plan("SELECT * FROM K EMIT CHANGES;");
    let source = plan.root.sources()[0].clone();
    let mut harness = Harness::new(StatelessOperator::new(
        Arc::new(source.schema.as_arrow().clone()),
        "k",
        fixture.metrics.counters("K"),
    ));
    let input = fixture.decode(&plan, 0, &[(None, Some(r#"{"N":7,"V":"v"}"#), 5)]);
    let output = harness.feed(0, input.clone());
    assert_eq!(output, input);
}

#[test]
fn table_functions_repeat_rows_zipped_and_track_their_records() {
    let fixture = Fixture::new();
    let plan = fixture.plan(
        "SELECT ID, EXPLODE(ARRAY[N, N * 10]) AS E, EXPLODE(SPLIT(V, ',')) AS W FROM S EMIT CHANGES;",
    );
    let operator = stateless(&fixture, &plan);
    let input = fixture.decode(
        &plan,
        0,
        &[
            (Some("a"), Some(r#"{"N":1,"V":"x,y,z"}"#), 10),
            (Some("b"), Some(r#"{"N":2,"V":null}"#), 20),
            (Some("c"), Some(r#"{"N":3,"V":"w"}"#), 30),
        ],
    );
    // Each row names the record it came from; repeated rows name it again.
    let mut origins = vec![4, 5, 6];
    let output = operator.run(input, Some(&mut origins)).expect("runs");
    assert_eq!(
        rows(&output, &["ID", "E", "W", "$rowtime"]),
        vec![
            "a|1|x|10",
            "a|10|y|10",
            "a|null|z|10",
            "b|2|null|20",
            "b|20|null|20",
            "c|3|w|30",
            "c|30|null|30",
        ]
    );
    assert_eq!(origins, [4, 4, 4, 5, 5, 6, 6]);
}
