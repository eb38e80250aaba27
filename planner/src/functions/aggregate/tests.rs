//! Tests of aggregate function resolution: argument checks and result types.

use super::*;
use arrow::datatypes::TimeUnit;

fn resolve(name: &str, args: &[DataType], literals: &[Option<ScalarValue>]) -> AggregateSignature {
    resolve_aggregate(name, args, literals).expect("resolves")
}

#[test]
fn names_are_case_insensitive() {
    for (name, expected) in [
        ("count", true),
        ("TopK", true),
        ("ucase", false),
        ("SUM_LIST", true),
    ] {
        assert_eq!(is_aggregate_function(name), expected, "{name}");
    }
    let names = aggregate_function_names();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
}

/// (name, argument types, literals, value args, cast types, return type)
type TypeCase<'a> = (
    &'a str,
    Vec<DataType>,
    Vec<Option<ScalarValue>>,
    usize,
    Vec<DataType>,
    DataType,
);
/// (name, argument types, literals, argument SQL, message prefix)
type ErrorCase<'a> = (
    &'a str,
    Vec<DataType>,
    Vec<Option<ScalarValue>>,
    Vec<String>,
    &'a str,
);

#[test]
fn resolves_types_of_ksqldb_variants() {
    let decimal = DataType::Decimal128(4, 1);
    let timestamp = DataType::Timestamp(TimeUnit::Millisecond, None);
    let map = to_arrow(&SqlType::Map(
        Box::new(SqlType::String),
        Box::new(SqlType::Bigint),
    ))
    .expect("map");
    // (name, argument types, literals, value args, cast types, return type)
    let cases: Vec<TypeCase> = vec![
        ("COUNT", vec![], vec![], 0, vec![], DataType::Int64),
        (
            "count",
            vec![DataType::Utf8],
            vec![None],
            1,
            vec![DataType::Utf8],
            DataType::Int64,
        ),
        (
            "SUM",
            vec![DataType::Int32],
            vec![None],
            1,
            vec![DataType::Int32],
            DataType::Int32,
        ),
        (
            "SUM",
            vec![DataType::Int16],
            vec![None],
            1,
            vec![DataType::Int32],
            DataType::Int32,
        ),
        (
            "SUM",
            vec![DataType::Int64],
            vec![None],
            1,
            vec![DataType::Int64],
            DataType::Int64,
        ),
        (
            "SUM",
            vec![DataType::Float64],
            vec![None],
            1,
            vec![DataType::Float64],
            DataType::Float64,
        ),
        (
            "SUM",
            vec![decimal.clone()],
            vec![None],
            1,
            vec![decimal.clone()],
            decimal.clone(),
        ),
        (
            "SUM_LIST",
            vec![list_of(DataType::Int64)],
            vec![None],
            1,
            vec![list_of(DataType::Int64)],
            DataType::Int64,
        ),
        (
            "AVG",
            vec![DataType::Int32],
            vec![None],
            1,
            vec![DataType::Int32],
            DataType::Float64,
        ),
        (
            "AVG",
            vec![decimal.clone()],
            vec![None],
            1,
            vec![DataType::Float64],
            DataType::Float64,
        ),
        (
            "STDDEV_SAMPLE",
            vec![DataType::Int64],
            vec![None],
            1,
            vec![DataType::Int64],
            DataType::Float64,
        ),
        (
            "CORRELATION",
            vec![DataType::Int32, DataType::Float64],
            vec![None, None],
            2,
            vec![DataType::Float64, DataType::Float64],
            DataType::Float64,
        ),
        (
            "MIN",
            vec![timestamp.clone()],
            vec![None],
            1,
            vec![timestamp.clone()],
            timestamp.clone(),
        ),
        (
            "MAX",
            vec![DataType::Binary],
            vec![None],
            1,
            vec![DataType::Binary],
            DataType::Binary,
        ),
        (
            "MAX",
            vec![DataType::Utf8],
            vec![None],
            1,
            vec![DataType::Utf8],
            DataType::Utf8,
        ),
        (
            "COUNT_DISTINCT",
            vec![DataType::Utf8],
            vec![None],
            1,
            vec![DataType::Utf8],
            DataType::Int64,
        ),
        (
            "COLLECT_LIST",
            vec![map.clone()],
            vec![None],
            1,
            vec![map.clone()],
            list_of(map.clone()),
        ),
        (
            "COLLECT_SET",
            vec![DataType::Int32],
            vec![None],
            1,
            vec![DataType::Int32],
            list_of(DataType::Int32),
        ),
        (
            "HISTOGRAM",
            vec![DataType::Utf8],
            vec![None],
            1,
            vec![DataType::Utf8],
            map.clone(),
        ),
        (
            "LATEST_BY_OFFSET",
            vec![DataType::Int32],
            vec![None],
            1,
            vec![DataType::Int32],
            DataType::Int32,
        ),
        (
            "LATEST_BY_OFFSET",
            vec![DataType::Int32, DataType::Boolean],
            vec![None, Some(ScalarValue::Boolean(Some(false)))],
            1,
            vec![DataType::Int32],
            DataType::Int32,
        ),
        (
            "EARLIEST_BY_OFFSET",
            vec![DataType::Int32, DataType::Int64, DataType::Boolean],
            vec![
                None,
                Some(ScalarValue::Int64(Some(2))),
                Some(ScalarValue::Boolean(Some(true))),
            ],
            1,
            vec![DataType::Int32],
            list_of(DataType::Int32),
        ),
        (
            "TOPK",
            vec![DataType::Int32, DataType::Int64],
            vec![None, Some(ScalarValue::Int64(Some(3)))],
            1,
            vec![DataType::Int32],
            list_of(DataType::Int32),
        ),
        (
            "TOPKDISTINCT",
            vec![DataType::Date32, DataType::Int64],
            vec![None, Some(ScalarValue::Int64(Some(3)))],
            1,
            vec![DataType::Date32],
            list_of(DataType::Date32),
        ),
    ];
    for (name, args, literals, value_args, arg_types, return_type) in cases {
        let signature = resolve(name, &args, &literals);
        assert_eq!(signature.name, name.to_uppercase());
        assert_eq!(signature.value_args, value_args, "{name}");
        assert_eq!(signature.arg_types, arg_types, "{name}");
        assert_eq!(signature.return_type, return_type, "{name}");
        assert_eq!(signature.params.len(), args.len() - value_args, "{name}");
    }
}

#[test]
fn list_type_matches_to_arrow() {
    assert_eq!(
        list_of(DataType::Int32),
        to_arrow(&SqlType::Array(Box::new(SqlType::Int))).expect("array")
    );
}

#[test]
fn topk_with_other_columns_returns_structs() {
    let signature = resolve(
        "TOPK",
        &[DataType::Int64, DataType::Utf8, DataType::Int64],
        &[None, None, Some(ScalarValue::Int64(Some(3)))],
    );
    assert_eq!(signature.value_args, 2);
    assert_eq!(signature.params, vec![ScalarValue::Int64(Some(3))]);
    let DataType::List(item) = &signature.return_type else {
        panic!("list expected: {:?}", signature.return_type);
    };
    let DataType::Struct(fields) = item.data_type() else {
        panic!("struct expected: {item:?}");
    };
    let names: Vec<_> = fields.iter().map(|field| field.name().as_str()).collect();
    assert_eq!(names, vec!["sort_col", "col0"]);
    assert_eq!(fields[0].data_type(), &DataType::Int64);
}

#[test]
fn table_support_and_intermediate_types_follow_ksqldb() {
    let int = [DataType::Int32];
    let none = [None];
    for (name, table, complex) in [
        ("COUNT", true, false),
        ("SUM", true, false),
        ("AVG", true, true),
        ("MIN", false, false),
        ("COLLECT_LIST", true, true),
        ("COLLECT_SET", false, true),
        ("LATEST_BY_OFFSET", false, true),
        ("STDDEV_SAMP", true, true),
    ] {
        let signature = resolve(name, &int, &none);
        assert_eq!(signature.table_supported, table, "{name}");
        assert_eq!(signature.complex_intermediate, complex, "{name}");
    }
    let list = resolve("COLLECT_LIST", &int, &none);
    assert_eq!(
        list.limit_property(),
        Some("ksql.functions.collect_list.limit")
    );
    assert_eq!(resolve("SUM", &int, &none).limit_property(), None);
}

#[test]
fn bad_arguments_give_ksqldb_messages() {
    let cases: Vec<ErrorCase> = vec![
        (
            "EARLIEST_BY_OFFSET",
            vec![DataType::Int32, DataType::Int32],
            vec![None, None],
            vec!["F0".into(), "F0".into()],
            "Parameter 2 passed to function EARLIEST_BY_OFFSET must be a literal constant, but was expression: 'F0'",
        ),
        (
            "SUM",
            vec![DataType::Utf8],
            vec![None],
            vec![],
            "Function 'SUM' does not accept parameters (STRING); valid alternatives are: (INT), (BIGINT), (DOUBLE), (DECIMAL)",
        ),
        (
            "HISTOGRAM",
            vec![DataType::Int32],
            vec![None],
            vec![],
            "Function 'HISTOGRAM' does not accept parameters (INTEGER)",
        ),
        (
            "TOPK",
            vec![DataType::Int32],
            vec![None],
            vec![],
            "Function 'TOPK' does not accept parameters (INTEGER)",
        ),
        (
            "LATEST_BY_OFFSET",
            vec![DataType::Int32, DataType::Int64],
            vec![None, Some(ScalarValue::Int64(Some(0)))],
            vec![],
            "latestN must be 1 or greater",
        ),
        (
            "MIN",
            vec![list_of(DataType::Int32)],
            vec![None],
            vec![],
            "Function 'MIN' does not accept parameters (ARRAY<INTEGER>)",
        ),
        (
            "AVG",
            vec![],
            vec![],
            vec![],
            "Function 'AVG' does not accept parameters ()",
        ),
        (
            "NOPE",
            vec![],
            vec![],
            vec![],
            "unknown aggregate function 'NOPE'",
        ),
    ];
    for (name, args, literals, sql, expected) in cases {
        let error =
            resolve_aggregate_with_sql(name, &args, &literals, &sql).expect_err("must fail");
        assert!(error.starts_with(expected), "{name}: {error}");
    }
}
