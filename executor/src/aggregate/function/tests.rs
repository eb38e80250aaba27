//! Tests of the run-time aggregate functions: adding, retracting, merging and storing states.

use super::*;
use arrow::array::{
    BinaryArray, Decimal128Array, Float64Array, Int32Array, ListArray, StringArray,
};
use arrow::datatypes::{Field, Float64Type};
use planner::functions::aggregate::resolve_aggregate;

fn function(name: &str, types: &[DataType], literals: &[ScalarValue]) -> AggregateFunction {
    let mut all_types = types.to_vec();
    let mut all_literals: Vec<Option<ScalarValue>> = vec![None; types.len()];
    for literal in literals {
        all_types.push(literal.data_type());
        all_literals.push(Some(literal.clone()));
    }
    let signature = resolve_aggregate(name, &all_types, &all_literals).expect("resolves");
    AggregateFunction::new(&signature).expect("compiles")
}

fn ints(values: &[Option<i32>]) -> ArrayRef {
    Arc::new(Int32Array::from(values.to_vec()))
}

fn longs(values: &[Option<i64>]) -> ArrayRef {
    Arc::new(Int64Array::from(values.to_vec()))
}

fn doubles(values: &[Option<f64>]) -> ArrayRef {
    Arc::new(Float64Array::from(values.to_vec()))
}

fn strings(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

fn decimals(values: &[Option<i128>], precision: u8, scale: i8) -> ArrayRef {
    Arc::new(
        Decimal128Array::from(values.to_vec())
            .with_precision_and_scale(precision, scale)
            .expect("decimal type"),
    )
}

/// Text of a result, with NaN spelled the same whatever its sign.
fn text(value: &ScalarValue) -> String {
    match value {
        ScalarValue::Float64(Some(v)) if v.is_nan() => "NaN".into(),
        other => other.to_string(),
    }
}

fn round_trip(function: &AggregateFunction, state: &AggState) -> AggState {
    let mut bytes = Vec::new();
    function.encode(state, &mut bytes);
    bytes.push(0xAB);
    let mut input = bytes.as_slice();
    let decoded = function.decode(&mut input).expect("decodes");
    assert_eq!(input, &[0xAB], "decode consumes exactly the state's bytes");
    decoded
}

/// Adds every row in order; after each, checks the result text and that the state
/// survives encode/decode.
fn run(function: &AggregateFunction, args: &[ArrayRef], expected: &[&str]) -> AggState {
    let mut state = function.init();
    for (row, expected) in expected.iter().enumerate() {
        function.add(&mut state, args, row);
        let result = function.result(&state);
        assert_eq!(text(&result), *expected, "row {row} of {:?}", function.kind);
        assert_eq!(
            result.data_type(),
            function.return_type,
            "{:?}",
            function.kind
        );
        let decoded = round_trip(function, &state);
        assert_eq!(text(&function.result(&decoded)), *expected);
    }
    state
}

/// (function, value arguments, results after each row)
type StreamCase<'a> = (AggregateFunction, Vec<ArrayRef>, Vec<&'a str>);
/// (function, value arguments, (row, retract?) steps, results after each step)
type TableCase<'a> = (
    AggregateFunction,
    Vec<ArrayRef>,
    Vec<(usize, bool)>,
    Vec<&'a str>,
);
/// (function, column, rows of session one, rows of session two, late row, result)
type SessionCase<'a> = (
    AggregateFunction,
    ArrayRef,
    Vec<usize>,
    Vec<usize>,
    usize,
    &'a str,
);

#[test]
fn stream_aggregates_follow_ksqldb() {
    let int = [DataType::Int32];
    let long = [DataType::Int64];
    let double = [DataType::Float64];
    let string = [DataType::Utf8];
    let k3 = [ScalarValue::Int64(Some(3))];
    // (function, value arguments, results after each row) — from ksqlDB's QTT cases.
    let cases: Vec<StreamCase> = vec![
        (function("COUNT", &[], &[]), vec![], vec!["1", "2", "3"]),
        (
            function("COUNT", &string, &[]),
            vec![strings(&[Some("a"), None, Some("b")])],
            vec!["1", "1", "2"],
        ),
        (
            function("SUM", &int, &[]),
            vec![ints(&[Some(0), Some(100), None, Some(i32::MAX)])],
            vec!["0", "100", "100", "-2147483549"],
        ),
        (
            function("SUM", &[DataType::Decimal128(6, 2)], &[]),
            vec![decimals(&[Some(540), Some(10010), None], 6, 2)],
            vec!["5.40", "105.50", "105.50"],
        ),
        (
            function("AVG", &long, &[]),
            vec![longs(&[Some(-1), Some(i64::MAX), Some(1), None])],
            vec![
                "-1",
                "4611686018427388000",
                "3074457345618258400",
                "3074457345618258400",
            ],
        ),
        (
            function("MIN", &int, &[]),
            vec![ints(&[None, Some(-2147483647), Some(5), None])],
            vec!["NULL", "-2147483647", "-2147483647", "-2147483647"],
        ),
        (
            function("MAX", &[DataType::Decimal128(4, 2)], &[]),
            vec![decimals(&[Some(2179), Some(110), None], 4, 2)],
            vec!["21.79", "21.79", "21.79"],
        ),
        (
            function("MIN", &[DataType::Binary], &[]),
            vec![Arc::new(BinaryArray::from(vec![
                None,
                Some(b"B".as_slice()),
                Some(b"A".as_slice()),
                Some(b"\xff".as_slice()),
            ]))],
            vec!["NULL", "42", "41", "FF"],
        ),
        (
            function("MAX", &string, &[]),
            vec![strings(&[Some("b"), Some("a"), Some("c")])],
            vec!["b", "b", "c"],
        ),
        (
            function("STDDEV_SAMPLE", &int, &[]),
            vec![ints(&[Some(0), Some(10), Some(7), Some(6)])],
            vec![
                "0",
                "7.0710678118654755",
                "5.131601439446884",
                "4.193248541803041",
            ],
        ),
        (
            function("STDDEV_SAMP", &int, &[]),
            vec![ints(&[Some(0), Some(10), Some(7), Some(6)])],
            vec!["0", "50", "26.333333333333332", "17.583333333333332"],
        ),
        (
            function("STDDEV_SAMPLE", &long, &[]),
            vec![longs(&[Some(2147483648), Some(100), Some(-2), None])],
            vec![
                "0",
                "1518500179.2773468",
                "1239850233.9629574",
                "1239850233.9629574",
            ],
        ),
        (
            function("STDDEV_SAMPLE", &double, &[]),
            vec![doubles(&[
                Some(9223372036854.775),
                Some(300.8),
                Some(-200000.6),
                Some(0.0),
            ])],
            vec![
                "0",
                "6521908912453.693",
                "5325116385962.54",
                "4611686051710.689",
            ],
        ),
        (
            function("CORRELATION", &[DataType::Float64, DataType::Float64], &[]),
            vec![
                doubles(&[Some(1.5), Some(-1.0), Some(-4.5), None]),
                doubles(&[Some(8.0), Some(-2.0), Some(-1.0), Some(-6.0)]),
            ],
            vec!["NaN", "1", "0.7580764521133173", "0.7580764521133173"],
        ),
        (
            function("COUNT_DISTINCT", &string, &[]),
            vec![strings(&[Some("one"), Some("two"), Some("one"), None])],
            vec!["1", "2", "2", "2"],
        ),
        (
            function("COLLECT_LIST", &[DataType::Decimal128(4, 1)], &[]),
            vec![decimals(&[Some(5009), Some(3008), None, Some(3008)], 4, 1)],
            vec![
                "[500.9]",
                "[500.9, 300.8]",
                "[500.9, 300.8, ]",
                "[500.9, 300.8, , 300.8]",
            ],
        ),
        (
            function("COLLECT_SET", &string, &[]),
            vec![strings(&[
                Some("baz"),
                Some("baz"),
                Some("foo"),
                None,
                None,
            ])],
            vec![
                "[baz]",
                "[baz]",
                "[baz, foo]",
                "[baz, foo, ]",
                "[baz, foo, ]",
            ],
        ),
        (
            function("TOPK", &int, &k3),
            vec![ints(&[
                Some(0),
                Some(100),
                Some(99),
                Some(7),
                Some(100),
                None,
            ])],
            vec![
                "[0]",
                "[100, 0]",
                "[100, 99, 0]",
                "[100, 99, 7]",
                "[100, 100, 99]",
                "[100, 100, 99]",
            ],
        ),
        (
            function("TOPKDISTINCT", &string, &k3),
            vec![strings(&[
                Some("a"),
                Some("b"),
                Some("c"),
                Some("b"),
                Some("d"),
            ])],
            vec!["[a]", "[b, a]", "[c, b, a]", "[c, b, a]", "[d, c, b]"],
        ),
        (
            function("TOPK", &[DataType::Int32, DataType::Utf8], &k3),
            vec![
                ints(&[Some(0), Some(100), Some(99), None, Some(100)]),
                strings(&[Some("zero"), Some("one"), Some("two"), Some("three"), None]),
            ],
            vec![
                "[{sort_col: 0, col0: zero}]",
                "[{sort_col: 100, col0: one}, {sort_col: 0, col0: zero}]",
                "[{sort_col: 100, col0: one}, {sort_col: 99, col0: two}, {sort_col: 0, col0: zero}]",
                "[{sort_col: 100, col0: one}, {sort_col: 99, col0: two}, {sort_col: 0, col0: zero}]",
                "[{sort_col: 100, col0: one}, {sort_col: 100, col0: }, {sort_col: 99, col0: two}]",
            ],
        ),
        (
            function("HISTOGRAM", &string, &[]),
            vec![strings(&[Some("baz"), Some("baz"), Some("foo"), None])],
            vec![
                "[{baz:1}]",
                "[{baz:2}]",
                "[{baz:2,foo:1}]",
                "[{baz:2,foo:1}]",
            ],
        ),
        (
            function("LATEST_BY_OFFSET", &int, &[]),
            vec![ints(&[Some(12), None, Some(764)])],
            vec!["12", "12", "764"],
        ),
        (
            function(
                "LATEST_BY_OFFSET",
                &int,
                &[ScalarValue::Boolean(Some(false))],
            ),
            vec![ints(&[Some(12), None])],
            vec!["12", "NULL"],
        ),
        (
            function(
                "LATEST_BY_OFFSET",
                &int,
                &[
                    ScalarValue::Int64(Some(2)),
                    ScalarValue::Boolean(Some(false)),
                ],
            ),
            vec![ints(&[Some(1), None, Some(3)])],
            vec!["[1]", "[1, ]", "[, 3]"],
        ),
        (
            function(
                "EARLIEST_BY_OFFSET",
                &int,
                &[ScalarValue::Boolean(Some(false))],
            ),
            vec![ints(&[None, Some(13)])],
            vec!["NULL", "NULL"],
        ),
        (
            function("EARLIEST_BY_OFFSET", &int, &[ScalarValue::Int64(Some(2))]),
            vec![ints(&[Some(12), None, Some(13), Some(14)])],
            vec!["[12]", "[12]", "[12, 13]", "[12, 13]"],
        ),
        (
            function(
                "SUM_LIST",
                &[DataType::List(Arc::new(Field::new(
                    "item",
                    DataType::Float64,
                    true,
                )))],
                &[],
            ),
            vec![Arc::new(
                ListArray::from_iter_primitive::<Float64Type, _, _>(vec![
                    Some(vec![Some(1.0), Some(1.0)]),
                    None,
                    Some(vec![Some(2.0), None]),
                ]),
            )],
            vec!["2", "2", "4"],
        ),
    ];
    for (function, args, expected) in cases {
        run(&function, &args, &expected);
    }
}

#[test]
fn table_aggregates_undo_like_ksqldb() {
    let int = [DataType::Int32];
    let string = [DataType::Utf8];
    // (function, rows, (row, retract?) steps, results after each step)
    let cases: Vec<TableCase> = vec![
        (
            function("COUNT", &[], &[]),
            vec![],
            vec![(0, false), (0, true), (1, false)],
            vec!["1", "0", "1"],
        ),
        (
            function("AVG", &int, &[]),
            vec![ints(&[Some(1), Some(2), None, Some(4)])],
            vec![
                (0, false),
                (1, false),
                (0, true),
                (2, false),
                (2, true),
                (3, false),
            ],
            vec!["1", "1.5", "2", "2", "2", "3"],
        ),
        (
            function("SUM", &[DataType::Float64], &[]),
            vec![doubles(&[Some(1.5), Some(2.0)])],
            vec![(0, false), (1, false), (0, true)],
            vec!["1.5", "3.5", "2"],
        ),
        (
            function("COLLECT_LIST", &string, &[]),
            vec![strings(&[Some("foo"), Some("bar"), Some("foo")])],
            vec![(0, false), (1, false), (2, false), (0, true)],
            vec!["[foo]", "[foo, bar]", "[foo, bar, foo]", "[foo, bar]"],
        ),
        (
            function("HISTOGRAM", &string, &[]),
            vec![strings(&[Some("alice"), Some("bob")])],
            vec![(0, false), (1, false), (1, true), (0, true)],
            vec!["[{alice:1}]", "[{alice:1,bob:1}]", "[{alice:1}]", "[{}]"],
        ),
        (
            function("CORRELATION", &[DataType::Float64, DataType::Float64], &[]),
            vec![
                doubles(&[Some(1.5), Some(-3.5), Some(-1.0), Some(-4.5)]),
                doubles(&[Some(8.0), Some(-2.0), Some(-2.0), Some(-1.0)]),
            ],
            vec![(0, false), (1, false), (0, true), (2, false), (3, false)],
            vec!["NaN", "1", "NaN", "NaN", "-0.7205766921228921"],
        ),
        (
            function("STDDEV_SAMPLE", &[DataType::Float64], &[]),
            vec![doubles(&[Some(10.0), Some(12.0), Some(13.0)])],
            vec![(0, false), (1, false), (2, false), (2, true)],
            vec![
                "0",
                "1.4142135623730951",
                "1.5275252316519465",
                "1.414213562373095",
            ],
        ),
        (
            function("MIN", &int, &[]),
            vec![ints(&[Some(3), Some(1)])],
            vec![(0, false), (1, false), (1, true)],
            vec!["3", "1", "1"],
        ),
    ];
    for (function, args, steps, expected) in cases {
        let mut state = function.init();
        for ((row, retract), expected) in steps.into_iter().zip(expected) {
            if retract {
                function.retract(&mut state, &args, row);
            } else {
                function.add(&mut state, &args, row);
            }
            assert_eq!(
                text(&function.result(&state)),
                expected,
                "{:?}",
                function.kind
            );
            let decoded = round_trip(&function, &state);
            assert_eq!(text(&function.result(&decoded)), expected);
        }
    }
}

#[test]
fn session_merges_follow_ksqldb() {
    let int = [DataType::Int32];
    // (function, rows of session one, rows of session two, late row, merged result):
    // as Kafka Streams merges sessions: init, merge each old session, add the late row.
    let cases: Vec<SessionCase> = vec![
        (
            function("LATEST_BY_OFFSET", &int, &[]),
            ints(&[Some(1), Some(3), Some(2)]),
            vec![0],
            vec![1],
            2,
            "2",
        ),
        (
            function("EARLIEST_BY_OFFSET", &int, &[]),
            ints(&[Some(1), Some(3), Some(2)]),
            vec![0],
            vec![1],
            2,
            "1",
        ),
        (
            function(
                "EARLIEST_BY_OFFSET",
                &int,
                &[
                    ScalarValue::Int64(Some(2)),
                    ScalarValue::Boolean(Some(false)),
                ],
            ),
            ints(&[None, Some(1), None]),
            vec![0],
            vec![1],
            2,
            "[, 1]",
        ),
        (
            function(
                "LATEST_BY_OFFSET",
                &int,
                &[
                    ScalarValue::Int64(Some(2)),
                    ScalarValue::Boolean(Some(false)),
                ],
            ),
            ints(&[None, None, None]),
            vec![0],
            vec![1],
            2,
            "[, ]",
        ),
        (
            function("LATEST_BY_OFFSET", &int, &[]),
            ints(&[Some(1), None]),
            vec![0],
            vec![],
            1,
            "1",
        ),
        (
            function("COUNT", &int, &[]),
            ints(&[Some(1), Some(2), Some(3)]),
            vec![0, 1],
            vec![2],
            0,
            "4",
        ),
        (
            function("SUM", &int, &[]),
            ints(&[Some(1), Some(2), Some(3)]),
            vec![0, 1],
            vec![2],
            0,
            "7",
        ),
        (
            function("MAX", &int, &[]),
            ints(&[Some(1), Some(5), Some(3)]),
            vec![0],
            vec![1],
            2,
            "5",
        ),
        (
            function("TOPK", &int, &[ScalarValue::Int64(Some(3))]),
            ints(&[Some(1), Some(5), Some(3), Some(4)]),
            vec![0, 2],
            vec![1, 3],
            0,
            "[5, 4, 3]",
        ),
        (
            function("TOPKDISTINCT", &int, &[ScalarValue::Int64(Some(3))]),
            ints(&[Some(5), Some(3), Some(5), Some(1)]),
            vec![0, 1],
            vec![2, 3],
            3,
            "[5, 3, 1]",
        ),
        (
            function("COLLECT_SET", &int, &[]),
            ints(&[Some(1), Some(2), Some(1)]),
            vec![0],
            vec![1, 2],
            2,
            "[1, 2]",
        ),
        (
            function("COLLECT_LIST", &int, &[]),
            ints(&[Some(1), Some(2), Some(1)]),
            vec![0],
            vec![1],
            2,
            "[1, 2, 1]",
        ),
        (
            function("COUNT_DISTINCT", &int, &[]),
            ints(&[Some(1), Some(2), Some(1)]),
            vec![0],
            vec![1],
            2,
            "2",
        ),
        (
            function("AVG", &int, &[]),
            ints(&[Some(1), Some(2), Some(6)]),
            vec![0],
            vec![1],
            2,
            "3",
        ),
        (
            function("STDDEV_SAMPLE", &[DataType::Float64], &[]),
            doubles(&[Some(10.0), Some(12.0), Some(13.0)]),
            vec![0, 1],
            vec![2],
            0,
            "1.5",
        ),
    ];
    for (function, column, first, second, late, expected) in cases {
        let args = vec![column];
        let mut one = function.init();
        first
            .iter()
            .for_each(|row| function.add(&mut one, &args, *row));
        let mut two = function.init();
        second
            .iter()
            .for_each(|row| function.add(&mut two, &args, *row));
        let (one, two) = (round_trip(&function, &one), round_trip(&function, &two));
        let mut merged = function.init();
        function.merge(&mut merged, &one);
        function.merge(&mut merged, &two);
        function.add(&mut merged, &args, late);
        assert_eq!(
            text(&function.result(&merged)),
            expected,
            "{:?}",
            function.kind
        );
    }
}

#[test]
fn collect_limits_cap_the_result() {
    let list = function("COLLECT_LIST", &[DataType::Int32], &[]).with_limit(1);
    run(&list, &[ints(&[Some(0), Some(100)])], &["[0]", "[0]"]);
    let set = function("COLLECT_SET", &[DataType::Int32], &[]).with_limit(2);
    run(
        &set,
        &[ints(&[Some(0), Some(1), Some(2)])],
        &["[0]", "[0, 1]", "[0, 1]"],
    );
    let unlimited = function("COLLECT_LIST", &[DataType::Int32], &[]).with_limit(-1);
    run(&unlimited, &[ints(&[Some(0), Some(0)])], &["[0]", "[0, 0]"]);
}

#[test]
fn decimal_sum_overflow_fails_like_ksqldb() {
    let sum = function("SUM", &[DataType::Decimal128(4, 1)], &[]);
    let args = [decimals(&[Some(5009), Some(3008), Some(4008)], 4, 1)];
    let mut state = sum.init();
    sum.add(&mut state, &args, 0);
    sum.add(&mut state, &args, 1);
    assert_eq!(text(&sum.result(&state)), "801.7");
    assert!(sum.check(&state).is_ok());
    sum.add(&mut state, &args, 2);
    let state = round_trip(&sum, &state);
    let error = sum.check(&state).expect_err("overflows").to_string();
    assert!(error.starts_with("Numeric field overflow"), "{error}");
}

#[test]
fn collect_set_of_maps_ignores_entry_order() {
    let map_type = DataType::Map(
        Arc::new(Field::new(
            "entries",
            DataType::Struct(arrow::datatypes::Fields::from(vec![
                Field::new("key", DataType::Utf8, false),
                Field::new("value", DataType::Int64, true),
            ])),
            false,
        )),
        false,
    );
    let names = arrow::array::MapFieldNames {
        entry: "entries".into(),
        key: "key".into(),
        value: "value".into(),
    };
    let mut builder = arrow::array::MapBuilder::new(
        Some(names),
        arrow::array::StringBuilder::new(),
        arrow::array::Int64Builder::new(),
    );
    for entries in [[("a", 1), ("b", 2)], [("b", 2), ("a", 1)]] {
        for (key, value) in entries {
            builder.keys().append_value(key);
            builder.values().append_value(value);
        }
        builder.append(true).expect("row");
    }
    let maps: ArrayRef = Arc::new(builder.finish());
    assert_eq!(maps.data_type(), &map_type);
    let set = function("COLLECT_SET", &[map_type], &[]);
    let state = run(&set, &[maps], &["[{a: 1, b: 2}]", "[{a: 1, b: 2}]"]);
    assert!(matches!(state, AggState::Values(values) if values.len() == 1));
}

#[test]
fn simple_states_stay_small() {
    assert!(
        std::mem::size_of::<AggState>() <= 64,
        "{}",
        std::mem::size_of::<AggState>()
    );
    let count = function("COUNT", &[], &[]);
    let mut bytes = Vec::new();
    count.encode(&AggState::Int(5), &mut bytes);
    assert_eq!(bytes, vec![10]);
}
