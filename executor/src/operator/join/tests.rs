//! Join operator tests: join nodes built by hand over the fixture's sources (the planner does
//! not plan joins yet), records fed one side at a time. Expected outputs follow ksqlDB's
//! conformance cases (`qtt/joins.json`, `qtt/fk-join.json`) where one is named.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow::datatypes::{DataType, Field};
use arrow::record_batch::RecordBatch;
use datafusion::common::{Column, DFSchema, TableReference};
use datafusion::logical_expr::Expr;
use planner::catalog::OP_COLUMN;
use planner::plan::{
    DataflowNode, DataflowPlan, JOIN_TIME_COLUMN, JoinKind, JoinNode, JoinSide, JoinStateTables,
    JoinVariant, JoinWindow, join_key_column,
};

use super::*;
use crate::operator::testing::{Fixture, Harness, find, rows_at, written_tables};

/// One input of a join under test: the plan its records are decoded with, and its source.
struct Input {
    plan: DataflowPlan,
    node: DataflowNode,
}

impl Input {
    fn new(fixture: &Fixture, source: &str) -> Self {
        let plan = fixture.plan(&format!("SELECT * FROM {source} EMIT CHANGES;"));
        let node = find(&plan.root, &|node| match node {
            DataflowNode::Source(_) => Some(node),
            _ => None,
        })
        .expect("a source")
        .clone();
        Input { plan, node }
    }

    fn side(&self) -> JoinSide {
        let schema = self.node.schema();
        let index = |name: &str| schema.index_of_column_by_name(None, name);
        JoinSide {
            time_column: index("ROWTIME").expect("ROWTIME"),
            op_column: index(OP_COLUMN),
            // ID, N, V.
            columns: vec![0, 1, 2],
        }
    }
}

/// A join of `left` and `right` on `ID` (or the left's `V` for a foreign-key join).
struct Join {
    fixture: Fixture,
    left: Input,
    right: Input,
    node: JoinNode,
}

impl Join {
    fn new(left: &str, right: &str, kind: JoinKind, variant: JoinVariant) -> Self {
        let fixture = Fixture::new();
        let left = Input::new(&fixture, left);
        let right = Input::new(&fixture, right);
        let column = |name: &str| Expr::Column(Column::new_unqualified(name));
        let left_key = match variant {
            JoinVariant::ForeignKey => "V",
            _ => "ID",
        };
        let mut fields = Vec::new();
        for (alias, input) in [("L", &left), ("R", &right)] {
            for index in input.side().columns {
                let field = input.node.schema().field(index).as_ref().clone();
                fields.push((
                    Some(TableReference::bare(alias)),
                    Arc::new(field.with_nullable(true)),
                ));
            }
        }
        fields.push((
            None,
            Arc::new(Field::new(join_key_column(0), DataType::Utf8, true)),
        ));
        fields.push((
            None,
            Arc::new(Field::new(JOIN_TIME_COLUMN, DataType::Int64, false)),
        ));
        if variant.emits_table() {
            fields.push((None, Arc::new(Field::new(OP_COLUMN, DataType::Int8, false))));
        }
        let schema = DFSchema::new_with_metadata(fields, Default::default()).expect("schema");
        let node = JoinNode {
            left: Box::new(left.node.clone()),
            right: Box::new(right.node.clone()),
            kind,
            variant,
            left_keys: vec![column(left_key)],
            right_keys: vec![column("ID")],
            left_side: left.side(),
            right_side: right.side(),
            retract: false,
            state: JoinStateTables {
                left: "join-left".into(),
                right: "join-right".into(),
                pending: "join-pending".into(),
            },
            schema: Arc::new(schema),
        };
        Join {
            fixture,
            left,
            right,
            node,
        }
    }

    fn operator(&self) -> JoinOperator {
        let prefix = self.fixture.prefix("q");
        JoinOperator::new(
            &self.node,
            JoinState {
                left: prefix.table(&self.node.state.left),
                right: prefix.table(&self.node.state.right),
                pending: prefix.table(&self.node.state.pending),
            },
            self.fixture.metrics.counters("S"),
        )
        .expect("join operator")
    }

    /// Records of the left (`0`) or right (`1`) input as one batch.
    fn batch(&self, input: usize, records: &[(Option<&str>, Option<&str>, i64)]) -> RecordBatch {
        let source = if input == 0 { &self.left } else { &self.right };
        self.fixture.decode(&source.plan, 0, records)
    }

    fn late(&self) -> u64 {
        self.fixture
            .metrics
            .counters("S")
            .late
            .load(Ordering::Relaxed)
    }
}

/// One record: input (0 left, 1 right), key, `V` (`None`: a tombstone), time.
type Step = (usize, Option<&'static str>, Option<&'static str>, i64);

/// Feeds each record as a batch of its own; returns every output row as
/// `left V|right V|join key|time` (and `|op` for tables).
fn run(join: &Join, harness: &mut Harness, steps: &[Step]) -> Vec<String> {
    let mut output = Vec::new();
    for (input, key, value, time) in steps {
        let value = value.map(|value| format!(r#"{{"N":1,"V":"{value}"}}"#));
        let batch = join.batch(*input, &[(*key, value.as_deref(), *time)]);
        output.extend(rows_of(&harness.feed(*input, batch)));
    }
    output
}

fn rows_of(batch: &RecordBatch) -> Vec<String> {
    // L.V, R.V, $joinkey0, $jointime (, $op).
    let mut columns = vec![2, 5, 6, 7];
    if batch.num_columns() > 8 {
        columns.push(8);
    }
    rows_at(batch, &columns)
}

fn stream_stream(kind: JoinKind, before: i64, after: i64, grace: Option<i64>) -> Join {
    Join::new(
        "S",
        "S",
        kind,
        JoinVariant::StreamStream(JoinWindow {
            before,
            after,
            grace,
        }),
    )
}

#[test]
fn stream_stream_left_join_without_grace_emits_unmatched_rows_at_once() {
    // joins/stream stream left join/JSON: WITHIN 11 SECONDS.
    let join = stream_stream(JoinKind::Left, 11_000, 11_000, None);
    let mut harness = Harness::new(join.operator());
    let output = run(
        &join,
        &mut harness,
        &[
            (0, Some("0"), Some("zero"), 0),
            (1, Some("0"), Some("blah"), 10_000),
            (0, Some("10"), Some("100"), 11_000),
            (0, Some("0"), Some("foo"), 13_000),
            (1, Some("0"), Some("a"), 15_000),
            (1, Some("100"), Some("newblah"), 16_000),
            (0, Some("90"), Some("ninety"), 17_000),
            (0, Some("0"), Some("bar"), 30_000),
        ],
    );
    assert_eq!(
        output,
        vec![
            "zero|null|0|0",
            "zero|blah|0|10000",
            "100|null|10|11000",
            "foo|blah|0|13000",
            "foo|a|0|15000",
            "ninety|null|90|17000",
            "bar|null|0|30000",
        ]
    );
    assert_eq!(
        written_tables(&harness.writes()),
        vec!["q/join-left", "q/join-right", "q/join-pending"]
    );
}

#[test]
fn stream_stream_inner_join_with_different_before_and_after() {
    // joins/stream stream inner join with different before and after windows/JSON.
    let join = stream_stream(JoinKind::Inner, 11_000, 10_000, None);
    let mut harness = Harness::new(join.operator());
    let output = run(
        &join,
        &mut harness,
        &[
            (0, Some("0"), Some("zero"), 0),
            (1, Some("0"), Some("blah"), 11_000),
            (0, Some("10"), Some("100"), 12_000),
            (0, Some("0"), Some("foo"), 13_000),
            (1, Some("0"), Some("a"), 15_000),
            (1, Some("100"), Some("newblah"), 16_000),
            (0, Some("90"), Some("ninety"), 17_000),
            (0, Some("0"), Some("bar"), 30_000),
        ],
    );
    assert_eq!(output, vec!["foo|blah|0|13000", "foo|a|0|15000"]);
}

#[test]
fn stream_stream_inner_join_ignores_records_older_than_the_retention() {
    // joins/stream stream inner join with out of order and custom grace period/JSON.
    let join = stream_stream(JoinKind::Inner, 60_000, 60_000, Some(60_000));
    let mut harness = Harness::new(join.operator());
    let output = run(
        &join,
        &mut harness,
        &[
            (0, Some("0"), Some("A"), 0),
            (1, Some("0"), Some("a"), 60_000),
            (0, Some("1"), Some("B"), 330_000),
            (0, Some("2"), Some("C"), 90_000),
            (1, Some("2"), Some("c"), 90_000),
            (0, Some("3"), Some("D"), 60_000),
            (1, Some("3"), Some("d"), 60_000),
        ],
    );
    assert_eq!(output, vec!["A|a|0|60000"]);
    assert_eq!(join.late(), 2, "the left records at 90 s and 60 s are late");
}

#[test]
fn stream_stream_store_keeps_records_newer_than_observed_time_minus_retention() {
    // Retention 2 s: after a left record at 10 s, the left store keeps times from 8.001 s.
    let join = stream_stream(JoinKind::Inner, 1_000, 1_000, Some(0));
    let mut harness = Harness::new(join.operator());
    let output = run(
        &join,
        &mut harness,
        &[
            (0, Some("a"), Some("A"), 10_000),
            (0, Some("a"), Some("B"), 8_000),
            (0, Some("a"), Some("C"), 8_001),
            (1, Some("a"), Some("x"), 8_500),
        ],
    );
    assert_eq!(output, vec!["C|x|a|8500"]);
    assert_eq!(join.late(), 1, "the record at 8 s is late");
}

#[test]
fn stream_stream_full_join_with_grace_emits_late_unmatched_rows_at_once() {
    // joins/stream stream full outer join with out of order and custom grace period/JSON.
    let join = stream_stream(JoinKind::Full, 60_000, 60_000, Some(60_000));
    let mut harness = Harness::new(join.operator());
    let output = run(
        &join,
        &mut harness,
        &[
            (0, Some("0"), Some("A"), 0),
            (1, Some("0"), Some("a"), 60_000),
            (1, Some("1"), Some("b"), 330_000),
            (1, Some("2"), Some("c"), 90_000),
            (0, Some("2"), Some("C"), 90_000),
            (1, Some("3"), Some("d"), 60_000),
            (0, Some("3"), Some("D"), 60_000),
        ],
    );
    assert_eq!(
        output,
        vec![
            "A|a|0|60000",
            "null|c|2|90000",
            "C|null|2|90000",
            "null|d|3|60000",
            "D|null|3|60000",
        ]
    );
    assert_eq!(
        join.late(),
        2,
        "the right records at 90 s and 60 s are late"
    );
}

#[test]
fn stream_stream_right_join_with_grace_joins_late_left_records() {
    // joins/stream stream right join with out of order and custom grace period/JSON.
    let join = stream_stream(JoinKind::Right, 60_000, 60_000, Some(60_000));
    let mut harness = Harness::new(join.operator());
    let output = run(
        &join,
        &mut harness,
        &[
            (0, Some("0"), Some("A"), 0),
            (1, Some("0"), Some("a"), 60_000),
            (0, Some("1"), Some("B"), 330_000),
            (0, Some("2"), Some("C"), 90_000),
            (1, Some("2"), Some("c"), 90_000),
            (1, Some("3"), Some("d"), 60_000),
            (0, Some("3"), Some("D"), 90_000),
        ],
    );
    assert_eq!(
        output,
        vec![
            "A|a|0|60000",
            "null|c|2|90000",
            "null|d|3|60000",
            "D|d|3|90000"
        ]
    );
}

#[test]
fn stream_stream_inner_join_matches_out_of_order_records_within_the_retention() {
    // joins/stream stream inner join with out of order messages/JSON.
    let join = stream_stream(JoinKind::Inner, 10_000, 10_000, None);
    let mut harness = Harness::new(join.operator());
    let output = run(
        &join,
        &mut harness,
        &[
            (0, Some("0"), Some("zero"), 0),
            (1, Some("0"), Some("blah"), 9_999),
            (0, Some("10"), Some("100"), 11_000),
            (0, Some("0"), Some("foo"), 13_000),
            (1, Some("0"), Some("a"), 15_000),
            (1, Some("100"), Some("newblah"), 16_000),
            (0, Some("90"), Some("ninety"), 17_000),
            (0, Some("0"), Some("bar"), 30_000),
            (0, Some("0"), Some("late"), 6_000),
        ],
    );
    assert_eq!(
        output,
        vec![
            "zero|blah|0|9999",
            "foo|blah|0|13000",
            "foo|a|0|15000",
            "late|blah|0|9999",
            "late|a|0|15000",
        ]
    );
}

#[test]
fn stream_stream_reads_the_same_from_window_copies_and_from_the_store() {
    // Out-of-order and late records, expiry of segments (retention 20 s, segments of 60 s:
    // times 130 s and 125 s expire each side's first segment) and a restart over committed
    // state.
    let steps: &[Step] = &[
        (0, Some("0"), Some("zero"), 0),
        (1, Some("0"), Some("blah"), 9_999),
        (0, Some("0"), Some("foo"), 13_000),
        (1, Some("0"), Some("a"), 15_000),
        (0, Some("0"), Some("late"), 6_000),
        (1, Some("1"), Some("b"), 70_000),
        (0, Some("1"), Some("c"), 75_000),
        (0, Some("0"), Some("d"), 130_000),
        (1, Some("0"), Some("e"), 125_000),
        (1, Some("1"), Some("f"), 80_000),
    ];
    let mut results = Vec::new();
    // Copies that hold everything, none, and ones dropped once they hold a few entries.
    for budget in [usize::MAX / 2, 0, 400] {
        let join = stream_stream(JoinKind::Inner, 10_000, 10_000, Some(0));
        let mut harness = Harness::new(join.operator().with_window_budget(budget));
        let mut output = run(&join, &mut harness, &steps[..6]);
        join.fixture.state.apply(&harness.writes()).expect("commit");
        let mut harness = Harness::new(join.operator().with_window_budget(budget));
        output.extend(run(&join, &mut harness, &steps[6..]));
        let writes = harness.writes();
        results.push((output, writes, join.late()));
    }
    assert_eq!(
        results[0].0,
        vec![
            "zero|blah|0|9999",
            "foo|blah|0|13000",
            "foo|a|0|15000",
            "late|blah|0|9999",
            "late|a|0|15000",
            "c|b|1|75000",
            "d|e|0|130000",
        ]
    );
    assert_eq!(results[0].2, 1, "f is too old for the right store");
    let expired = |side: &[u8]| {
        results[0]
            .1
            .iter()
            .filter(|(key, value)| key.starts_with(side) && value.is_none())
            .count()
    };
    assert_eq!(expired(b"q/join-left\0"), 3, "zero, foo and late");
    assert_eq!(expired(b"q/join-right\0"), 2, "blah and a");
    assert_eq!(results[0], results[1], "no copies");
    assert_eq!(results[0], results[2], "copies dropped on the way");
}

#[test]
fn a_join_given_runs_of_both_inputs_emits_what_it_would_one_run_at_a_time() {
    let join = stream_stream(JoinKind::Full, 5_000, 5_000, None);
    let left = join.batch(
        0,
        &[
            (Some("a"), Some(r#"{"N":1,"V":"l1"}"#), 1_000),
            (Some("b"), Some(r#"{"N":1,"V":"l2"}"#), 3_000),
            (Some("a"), Some(r#"{"N":1,"V":"l3"}"#), 9_000),
        ],
    );
    let right = join.batch(
        1,
        &[
            (Some("a"), Some(r#"{"N":1,"V":"r1"}"#), 2_000),
            (Some("b"), Some(r#"{"N":1,"V":"r2"}"#), 4_000),
        ],
    );
    let runs = [(0, 0..1), (1, 0..1), (0, 1..2), (1, 1..2), (0, 2..3)];
    let mut one_at_a_time = Vec::new();
    let mut harness = Harness::new(join.operator());
    for (input, rows) in &runs {
        let batch = [&left, &right][*input].slice(rows.start, rows.len());
        one_at_a_time.extend(rows_of(&harness.feed(*input, batch)));
    }
    let mut operator = join.operator();
    let mut produced = Vec::new();
    let mut context = OperatorContext::new(0, &mut produced);
    let together = operator
        .process_runs(&[left, right], &runs, &mut context)
        .expect("processes");
    assert_eq!(rows_of(&together), one_at_a_time);
    assert_eq!(
        one_at_a_time,
        vec![
            "l1|null|a|1000",
            "l1|r1|a|2000",
            "l2|null|b|3000",
            "l2|r2|b|4000",
            "l3|null|a|9000"
        ]
    );
}

#[test]
fn stream_stream_full_join_without_grace_emits_both_sides_unmatched() {
    // joins/stream stream outer join/JSON.
    let join = stream_stream(JoinKind::Full, 11_000, 11_000, None);
    let mut harness = Harness::new(join.operator());
    let output = run(
        &join,
        &mut harness,
        &[
            (0, Some("0"), Some("zero"), 0),
            (1, Some("0"), Some("blah"), 10_000),
            (0, Some("10"), Some("100"), 11_000),
            (0, Some("0"), Some("foo"), 13_000),
            (1, Some("0"), Some("a"), 15_000),
            (0, Some("0"), Some("bar"), 30_000),
            (0, Some("90"), Some("ninety"), 17_000),
            (1, Some("100"), Some("newblah"), 20_000),
        ],
    );
    assert_eq!(
        output,
        vec![
            "zero|null|0|0",
            "zero|blah|0|10000",
            "100|null|10|11000",
            "foo|blah|0|13000",
            "foo|a|0|15000",
            "bar|null|0|30000",
            "ninety|null|90|17000",
            "null|newblah|100|20000",
        ]
    );
}

#[test]
fn stream_stream_left_join_with_grace_emits_unmatched_rows_when_their_window_closes() {
    // Window 10 s, grace 5 s: a left record at t closes once stream time passes t + 15 s.
    let join = stream_stream(JoinKind::Left, 10_000, 10_000, Some(5_000));
    let mut harness = Harness::new(join.operator());
    let output = run(
        &join,
        &mut harness,
        &[
            (0, Some("a"), Some("A"), 0),
            (0, Some("b"), Some("B"), 1_000),
            (0, Some("b"), Some("B2"), 1_000),
            // Matches b's rows: they are no longer pending.
            (1, Some("b"), Some("x"), 2_000),
            // Stream time 15 s: a's window (0 + 10 + 5) is still open.
            (1, Some("z"), Some("z"), 15_000),
            // Out of order (not at stream time): emits nothing pending.
            (1, Some("z"), Some("z"), 15_001 - 10_000),
            (1, Some("z"), Some("z"), 15_001),
        ],
    );
    assert_eq!(
        output,
        vec!["B|x|b|2000", "B2|x|b|2000", "A|null|a|0"],
        "a is emitted once stream time is past 15 s, before the record that advanced it"
    );
    // Nothing is emitted twice, and a later record of a closed key is on its own.
    let output = run(&join, &mut harness, &[(1, Some("z"), Some("z"), 40_000)]);
    assert_eq!(output, Vec::<String>::new());
}

#[test]
fn stream_stream_right_join_holds_right_rows_for_the_before_window() {
    // A right record at t is matched by left records up to t + before: its window closes
    // at t + before + grace.
    let join = stream_stream(JoinKind::Right, 10_000, 2_000, Some(0));
    let mut harness = Harness::new(join.operator());
    let output = run(
        &join,
        &mut harness,
        &[
            (1, Some("a"), Some("x"), 0),
            (0, Some("z"), Some("Z"), 5_000),
            (0, Some("a"), Some("A"), 10_000),
            (1, Some("b"), Some("y"), 11_000),
            (0, Some("z"), Some("Z"), 21_001),
        ],
    );
    assert_eq!(
        output,
        vec!["A|x|a|10000", "null|y|b|11000"],
        "x matched; y closed at 21 s"
    );
}

#[test]
fn stream_stream_null_keys_are_kept_only_by_outer_sides() {
    let join = stream_stream(JoinKind::Left, 1_000, 1_000, Some(0));
    let mut harness = Harness::new(join.operator());
    let output = run(
        &join,
        &mut harness,
        &[(0, None, Some("A"), 0), (1, None, Some("x"), 0)],
    );
    assert_eq!(output, vec!["A|null|null|0"]);
}

#[test]
fn stream_stream_batch_rows_are_processed_in_order() {
    let join = stream_stream(JoinKind::Inner, 1_000, 1_000, None);
    let mut harness = Harness::new(join.operator());
    let value = |v: &str| format!(r#"{{"N":1,"V":"{v}"}}"#);
    let (x, y, a) = (value("x"), value("y"), value("A"));
    harness.feed(
        1,
        join.batch(1, &[(Some("a"), Some(&x), 100), (Some("a"), Some(&y), 50)]),
    );
    let output = harness.feed(0, join.batch(0, &[(Some("a"), Some(&a), 60)]));
    assert_eq!(
        rows_of(&output),
        vec!["A|y|a|60", "A|x|a|100"],
        "matches in time order"
    );
}

#[test]
fn stream_stream_state_expires_and_stream_times_resume_after_restart() {
    // Retention 3 min: segments of 90 s.
    let join = stream_stream(JoinKind::Full, 60_000, 60_000, Some(60_000));
    let mut harness = Harness::new(join.operator());
    let output = run(
        &join,
        &mut harness,
        &[
            (0, Some("a"), Some("A"), 0),
            (0, Some("b"), Some("B"), 100_000),
        ],
    );
    assert_eq!(output, Vec::<String>::new(), "both wait for their windows");
    let writes = harness.writes();
    join.fixture.state.apply(&writes).expect("commit");

    // A new operator over the committed state: a's window closed at 120 s.
    let mut harness = Harness::new(join.operator());
    let output = run(&join, &mut harness, &[(1, Some("c"), Some("x"), 200_000)]);
    assert_eq!(output, vec!["A|null|a|0"]);
    // The left store's observed time is 100 s: a record at 20 s is still kept, one at
    // -80 s would not be; the right store has seen 200 s: 20 s is too old for it.
    let late = join.late();
    let output = run(&join, &mut harness, &[(1, Some("b"), Some("y"), 20_000)]);
    assert_eq!(output, vec!["null|y|b|20000"], "late, emitted at once");
    assert_eq!(join.late(), late + 1);
    // Left time 400 s drops the segments up to 220 s of the left store: a is gone.
    let output = run(&join, &mut harness, &[(0, Some("q"), Some("Q"), 400_000)]);
    assert_eq!(
        output,
        vec!["B|null|b|100000", "null|x|c|200000"],
        "the pending rows close in time order"
    );
    let deleted_left_rows = harness
        .writes()
        .iter()
        .filter(|(key, value)| key.starts_with(b"q/join-left\0") && value.is_none())
        .count();
    assert_eq!(deleted_left_rows, 2, "a and b expired");
}

#[test]
fn stream_stream_partitions_keep_their_own_stream_times_and_stores() {
    // Window 1 s, grace 0: retention 2 s, segments of 60 s. Kafka Streams runs a task per
    // partition: partition 0 far ahead in time neither closes partition 1's windows nor
    // expires its stores.
    let join = stream_stream(JoinKind::Left, 1_000, 1_000, Some(0));
    let mut harness = Harness::new(join.operator());
    let mut in_partition = |partition: u32, steps: &[Step]| {
        harness.partition = partition;
        run(&join, &mut harness, steps)
    };
    assert_eq!(
        in_partition(1, &[(0, Some("a"), Some("A"), 0)]),
        Vec::<String>::new()
    );
    let output = in_partition(0, &[(0, Some("b"), Some("B"), 100_000)]);
    assert_eq!(
        output,
        Vec::<String>::new(),
        "partition 1's window of A is open"
    );
    let output = in_partition(
        1,
        &[
            (1, Some("a"), Some("x"), 500),
            (0, Some("c"), Some("C"), 1_000),
        ],
    );
    assert_eq!(
        output,
        vec!["A|x|a|500"],
        "A is still in partition 1's store"
    );
    let output = in_partition(0, &[(0, Some("d"), Some("D"), 200_000)]);
    assert_eq!(
        output,
        vec!["B|null|b|100000"],
        "only partition 0's window closes"
    );
    let output = in_partition(1, &[(1, Some("z"), Some("z"), 3_001)]);
    assert_eq!(output, vec!["C|null|c|1000"]);
    let writes = harness.writes();
    let deleted_left_rows = writes
        .iter()
        .filter(|(key, value)| key.starts_with(b"q/join-left\0") && value.is_none())
        .count();
    assert_eq!(
        deleted_left_rows, 1,
        "B expired; A and C (partition 1) did not"
    );
    join.fixture.state.apply(&writes).expect("commit");
    assert_eq!(join.late(), 0);

    // A new operator over the committed state resumes each partition's times.
    let mut harness = Harness::new(join.operator());
    harness.partition = 1;
    let output = run(
        &join,
        &mut harness,
        &[
            // Partition 1's stream time is 3 s: E's window is open, and C is kept.
            (0, Some("e"), Some("E"), 2_500),
            (1, Some("e"), Some("v"), 3_000),
            (1, Some("c"), Some("w"), 1_500),
        ],
    );
    assert_eq!(output, vec!["E|v|e|3000", "C|w|c|1500"]);
    assert_eq!(join.late(), 0);
    harness.partition = 0;
    let output = run(&join, &mut harness, &[(0, Some("f"), Some("F"), 150_000)]);
    assert_eq!(
        output,
        vec!["F|null|f|150000"],
        "partition 0's window closed long ago: padded at once"
    );
    assert_eq!(join.late(), 1, "too old for partition 0's left store");
}

fn stream_table(kind: JoinKind) -> Join {
    Join::new("S", "T", kind, JoinVariant::StreamTable)
}

#[test]
fn stream_table_left_join_looks_up_the_table_at_the_stream_record() {
    let join = stream_table(JoinKind::Left);
    let mut harness = Harness::new(join.operator());
    let output = run(
        &join,
        &mut harness,
        &[
            (0, Some("a"), Some("A"), 0),
            (1, Some("a"), Some("x"), 10_000),
            (0, Some("a"), Some("A2"), 5_000),
            // A table tombstone.
            (1, Some("a"), None, 11_000),
            (0, Some("a"), Some("A3"), 12_000),
            (0, None, Some("N"), 13_000),
        ],
    );
    assert_eq!(
        output,
        vec![
            "A|null|a|0",
            "A2|x|a|5000",
            "A3|null|a|12000",
            "N|null|null|13000"
        ]
    );
}

#[test]
fn stream_table_inner_join_emits_only_matches() {
    let join = stream_table(JoinKind::Inner);
    let mut harness = Harness::new(join.operator());
    let output = run(
        &join,
        &mut harness,
        &[
            (0, Some("a"), Some("A"), 0),
            (1, Some("a"), Some("x"), 10_000),
            (1, Some("a"), Some("y"), 10_000),
            (0, Some("a"), Some("A2"), 5_000),
            (0, Some("b"), Some("B"), 5_000),
            (0, None, Some("N"), 13_000),
        ],
    );
    assert_eq!(output, vec!["A2|y|a|5000"]);
}

fn table_table(kind: JoinKind) -> Join {
    Join::new("T", "T", kind, JoinVariant::TableTable)
}

/// joins/table table {left,right,outer} join/JSON inputs, then deletes.
const TABLE_STEPS: &[Step] = &[
    (0, Some("0"), Some("zero"), 0),
    (1, Some("0"), Some("blah"), 10_000),
    (0, Some("10"), Some("100"), 11_000),
    (0, Some("0"), Some("foo"), 13_000),
    (1, Some("0"), Some("a"), 15_000),
    (1, Some("15"), Some("c"), 15_500),
    (0, Some("0"), Some("bar"), 16_000),
    (1, Some("0"), None, 17_000),
    (0, Some("0"), None, 18_000),
    (0, Some("10"), None, 19_000),
    (1, Some("15"), None, 20_000),
    // Deletes of keys no side holds.
    (0, Some("7"), None, 21_000),
    (1, Some("7"), None, 22_000),
];

#[test]
fn table_table_inner_join_emits_upserts_and_deletes_while_both_sides_exist() {
    let join = table_table(JoinKind::Inner);
    let mut harness = Harness::new(join.operator());
    assert_eq!(
        run(&join, &mut harness, TABLE_STEPS),
        vec![
            "zero|blah|0|10000|0",
            "foo|blah|0|13000|0",
            "foo|a|0|15000|0",
            "bar|a|0|16000|0",
            "null|null|0|17000|1",
        ]
    );
}

#[test]
fn table_table_left_join_keeps_left_rows() {
    let join = table_table(JoinKind::Left);
    let mut harness = Harness::new(join.operator());
    assert_eq!(
        run(&join, &mut harness, TABLE_STEPS),
        vec![
            "zero|null|0|0|0",
            "zero|blah|0|10000|0",
            "100|null|10|11000|0",
            "foo|blah|0|13000|0",
            "foo|a|0|15000|0",
            "bar|a|0|16000|0",
            "bar|null|0|17000|0",
            "null|null|0|18000|1",
            "null|null|10|19000|1",
        ]
    );
}

#[test]
fn table_table_right_join_keeps_right_rows() {
    let join = table_table(JoinKind::Right);
    let mut harness = Harness::new(join.operator());
    assert_eq!(
        run(&join, &mut harness, TABLE_STEPS),
        vec![
            "zero|blah|0|10000|0",
            "foo|blah|0|13000|0",
            "foo|a|0|15000|0",
            "null|c|15|15500|0",
            "bar|a|0|16000|0",
            "null|null|0|17000|1",
            "null|null|15|20000|1",
        ]
    );
}

#[test]
fn table_table_full_join_deletes_once_both_sides_are_gone() {
    let join = table_table(JoinKind::Full);
    let mut harness = Harness::new(join.operator());
    assert_eq!(
        run(&join, &mut harness, TABLE_STEPS),
        vec![
            "zero|null|0|0|0",
            "zero|blah|0|10000|0",
            "100|null|10|11000|0",
            "foo|blah|0|13000|0",
            "foo|a|0|15000|0",
            "null|c|15|15500|0",
            "bar|a|0|16000|0",
            "bar|null|0|17000|0",
            "null|null|0|18000|1",
            "null|null|10|19000|1",
            "null|null|15|20000|1",
        ]
    );
}

fn foreign_key(kind: JoinKind) -> Join {
    // The left's V is the foreign key of the right's ID.
    Join::new("T", "T", kind, JoinVariant::ForeignKey)
}

/// fk-join/Should support {inner,left} join with left value-column expression - with
/// aliases, then a foreign-key change.
const FOREIGN_KEY_STEPS: &[Step] = &[
    (0, Some("1"), Some("0"), 0),
    (1, Some("0"), Some("blah"), 10_000),
    (0, Some("1"), Some("0"), 11_000),
    (0, Some("0"), Some("100"), 13_000),
    (1, Some("0"), Some("a"), 15_000),
    (0, Some("10"), Some("0"), 16_000),
    (1, Some("0"), None, 17_000),
    (0, Some("1"), None, 18_000),
    // A delete of a right key that has no row (0's foreign key): nothing changes.
    (1, Some("100"), None, 18_500),
    (0, Some("0"), None, 19_000),
    // 10 moves from 0 (deleted) to 5, then back to 0.
    (1, Some("5"), Some("five"), 20_000),
    (0, Some("10"), Some("5"), 21_000),
    (0, Some("10"), Some("0"), 22_000),
    (1, Some("5"), Some("cinq"), 23_000),
    (1, Some("0"), Some("zero"), 24_000),
];

/// The output rows of a foreign-key join: left ID|left V (the foreign key)|right V|join
/// key|time|op.
fn foreign_key_rows(batch: &RecordBatch) -> Vec<String> {
    rows_at(batch, &[0, 2, 5, 6, 7, 8])
}

fn run_foreign_key(join: &Join, harness: &mut Harness) -> Vec<String> {
    let mut output = Vec::new();
    for (input, key, value, time) in FOREIGN_KEY_STEPS {
        let value = value.map(|value| format!(r#"{{"N":1,"V":"{value}"}}"#));
        let batch = join.batch(*input, &[(*key, value.as_deref(), *time)]);
        output.extend(foreign_key_rows(&harness.feed(*input, batch)));
    }
    output
}

#[test]
fn foreign_key_inner_join_retracts_rows_that_lose_their_match() {
    let join = foreign_key(JoinKind::Inner);
    let mut harness = Harness::new(join.operator());
    assert_eq!(
        run_foreign_key(&join, &mut harness),
        vec![
            "1|0|blah|0|10000|0",
            "1|0|blah|0|11000|0",
            "1|0|a|0|15000|0",
            "10|0|a|0|16000|0",
            // The right row 0 is deleted: both left rows are retracted.
            "1|0|null|0|17000|1",
            "10|0|null|0|17000|1",
            // Left deletes: tombstones of the rows that existed.
            "1|null|null|0|18000|1",
            "0|null|null|100|19000|1",
            "10|5|five|5|21000|0",
            // Back to 0, which has no row: a delete.
            "10|0|null|0|22000|1",
            "10|0|zero|0|24000|0",
        ]
    );
}

#[test]
fn foreign_key_left_join_keeps_left_rows() {
    let join = foreign_key(JoinKind::Left);
    let mut harness = Harness::new(join.operator());
    assert_eq!(
        run_foreign_key(&join, &mut harness),
        vec![
            "1|0|null|0|0|0",
            "1|0|blah|0|10000|0",
            "1|0|blah|0|11000|0",
            "0|100|null|100|13000|0",
            "1|0|a|0|15000|0",
            "10|0|a|0|16000|0",
            "1|0|null|0|17000|0",
            "10|0|null|0|17000|0",
            "1|null|null|0|18000|1",
            "0|null|null|100|19000|1",
            "10|5|five|5|21000|0",
            "10|0|null|0|22000|0",
            "10|0|zero|0|24000|0",
        ]
    );
    assert_eq!(
        written_tables(&harness.writes()),
        vec!["q/join-left", "q/join-right", "q/join-pending"]
    );
}

#[test]
fn table_table_join_resumes_from_committed_state() {
    let join = table_table(JoinKind::Left);
    let mut harness = Harness::new(join.operator());
    run(&join, &mut harness, &[(0, Some("a"), Some("A"), 5)]);
    let writes = harness.writes();
    join.fixture.state.apply(&writes).expect("commit");
    let mut harness = Harness::new(join.operator());
    assert_eq!(
        run(&join, &mut harness, &[(1, Some("a"), Some("x"), 3)]),
        vec!["A|x|a|5|0"],
        "the left row survives a restart, with its time"
    );
}

#[test]
fn rows_whose_join_key_fails_are_skipped_and_counted() {
    let mut join = stream_table(JoinKind::Left);
    // The stream's key is CAST(V AS BIGINT), turned back into the join key's type (STRING).
    join.node.left_keys = vec![Expr::Cast(datafusion::logical_expr::Cast::new(
        Box::new(Expr::Column(Column::new_unqualified("V"))),
        DataType::Int64,
    ))];
    let mut harness = Harness::new(join.operator());
    run(&join, &mut harness, &[(1, Some("5"), Some("five"), 0)]);
    let value = |v: &str| format!(r#"{{"N":1,"V":"{v}"}}"#);
    let (good, bad) = (value("5"), value("not a number"));
    let batch = join.batch(
        0,
        &[
            (Some("a"), Some(&good), 1),
            (Some("b"), Some(&bad), 2),
            (Some("c"), Some(&good), 3),
        ],
    );
    let output = harness.feed(0, batch);
    assert_eq!(rows_of(&output), vec!["5|five|5|1", "5|five|5|3"]);
    let failed = join
        .fixture
        .metrics
        .counters("S")
        .failed
        .load(Ordering::Relaxed);
    assert_eq!(failed, 1);
}

#[test]
fn operator_graph_feeds_the_left_source_to_input_0_and_the_right_to_input_1() {
    let join = stream_table(JoinKind::Left);
    let plan = DataflowPlan {
        root: DataflowNode::Join(join.node.clone()),
        sink: None,
        limit: None,
        max_poll_records: None,
    };
    let prefix = join.fixture.prefix("q");
    let mut graph =
        crate::graph::OperatorGraph::compile(&plan, &join.fixture.metrics, Some(&prefix), false)
            .expect("compiles");
    let mut produced = Vec::new();
    let mut context = crate::operator::OperatorContext::new(0, &mut produced);
    let table = crate::operator::testing::consumed(&[(Some("a"), Some(r#"{"N":2,"V":"x"}"#), 1)]);
    let output = graph.push(1, &table, &mut context).expect("table row");
    assert_eq!(output.num_rows(), 0, "table rows emit nothing");
    let stream = crate::operator::testing::consumed(&[(Some("a"), Some(r#"{"N":1,"V":"A"}"#), 2)]);
    let output = graph.push(0, &stream, &mut context).expect("stream row");
    assert_eq!(rows_of(&output), vec!["A|x|a|2"]);
    assert_eq!(
        written_tables(&graph.take_writes().expect("writes")),
        vec!["q/join-right"]
    );
}
