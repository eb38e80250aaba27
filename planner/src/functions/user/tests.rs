use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;

use super::*;

fn name_of(args: &[ScalarValue]) -> UdfResult<ScalarValue> {
    Ok(ScalarValue::Utf8(Some(format!("{} args", args.len()))))
}

#[test]
fn declarations_name_parameters_and_read_ksqldb_types() {
    let (names, overload) = overload_params(&["a BIGINT", "STRUCT<A VARCHAR>", "rest T..."]);
    assert_eq!(names, ["a", "", "rest"]);
    assert_eq!(overload.variadic, Some(2));
    assert_eq!(overload.params[0], ParamType::Bigint);
    assert_eq!(overload.params[2], ParamType::Generic('T'));
    assert_eq!(param_type_name(&overload.params[1]), "STRUCT<`A` STRING>");
    assert_eq!(
        parse_type("MAP<STRING, ARRAY<T>>").unwrap(),
        ParamType::Map(
            Box::new(ParamType::String),
            Box::new(ParamType::Array(Box::new(ParamType::Generic('T'))))
        )
    );
}

#[test]
fn scalar_calls_pick_the_exact_overload_then_the_non_variadic_one() {
    let udf = UserScalarFunction::new(
        &ScalarUdf::new("pick_test", "test")
            .overload(&["INT", "STRING"], "STRING", name_of)
            .overload(&["BIGINT", "STRING"], "STRING", name_of)
            .overload(&["BIGINT", "BIGINT", "STRING"], "STRING", name_of)
            .overload(&["BIGINT..."], "STRING", name_of),
    );
    let chosen = |types: &[DataType]| udf.choose(types).map(|(index, _)| index);
    assert_eq!(chosen(&[DataType::Int32, DataType::Utf8]).unwrap(), 0);
    assert_eq!(chosen(&[DataType::Int64, DataType::Null]).unwrap(), 1);
    assert_eq!(
        chosen(&[DataType::Int64, DataType::Int64, DataType::Null]).unwrap(),
        2
    );
    assert_eq!(chosen(&vec![DataType::Int64; 5]).unwrap(), 3);
    let error = chosen(&[DataType::Utf8, DataType::Boolean])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("Function 'pick_test' does not accept parameters (STRING, BOOLEAN)."),
        "{error}"
    );
}

#[test]
fn equally_good_overloads_after_implicit_casts_are_ambiguous() {
    let udf = UserScalarFunction::new(
        &ScalarUdf::new("multiply", "test")
            .overload(&["a INT", "b INT"], "BIGINT", name_of)
            .overload(&["a BIGINT", "b BIGINT"], "BIGINT", name_of)
            .overload(&["a DOUBLE", "b DOUBLE"], "DOUBLE", name_of),
    );
    // INT, INT is exact; INT, BIGINT widens to the BIGINT and to the DOUBLE overloads alike.
    assert_eq!(
        udf.choose(&[DataType::Int32, DataType::Int32]).unwrap().0,
        0
    );
    let error = udf
        .choose(&[DataType::Int32, DataType::Int64])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(
            "Function 'multiply' cannot be resolved due to ambiguous method parameters (INTEGER, BIGINT).\n\
             Use CAST() to explicitly cast your parameters to one of the supported function calls.\n\
             Valid function calls are:\n\
             multiply(INTEGER a, INTEGER b)\n\
             multiply(BIGINT a, BIGINT b)\n\
             multiply(DOUBLE a, DOUBLE b)\n\
             For detailed information on a function run: DESCRIBE FUNCTION <Function-Name>;"
        ),
        "{error}"
    );
}

struct Sum;

impl Udaf for Sum {
    fn initialize(&self) -> ScalarValue {
        ScalarValue::Int64(Some(0))
    }
    fn aggregate(&self, _: &[ScalarValue], aggregate: ScalarValue) -> UdfResult<ScalarValue> {
        Ok(aggregate)
    }
    fn merge(&self, left: ScalarValue, _: ScalarValue) -> UdfResult<ScalarValue> {
        Ok(left)
    }
    fn map(&self, aggregate: &ScalarValue) -> UdfResult<ScalarValue> {
        Ok(aggregate.clone())
    }
}

#[test]
fn aggregates_split_row_arguments_from_initial_ones_around_a_middle_variadic() {
    let udaf = AggregateUdf::new("MID_TEST", "test").overload(
        UdafOverload {
            params: &["BIGINT", "STRING..."],
            init_params: &["first INT", "second INT"],
            aggregate_type: "BIGINT",
            returns: "BIGINT",
            description: "",
        },
        |_| Box::new(Sum),
    );
    let (_, coerced, value_args) = udaf
        .resolve(&[
            DataType::Int64,
            DataType::Utf8,
            DataType::Utf8,
            DataType::Int32,
            DataType::Int32,
        ])
        .unwrap();
    assert_eq!(value_args, 3);
    assert_eq!(coerced[4], DataType::Int32);
    let (_, _, value_args) = udaf
        .resolve(&[DataType::Int64, DataType::Int32, DataType::Int32])
        .unwrap();
    assert_eq!(value_args, 1);
    let error = udaf
        .resolve(&[
            DataType::Int64,
            DataType::Int32,
            DataType::Int32,
            DataType::Int32,
        ])
        .err()
        .unwrap();
    assert_eq!(
        error,
        "Function 'MID_TEST' does not accept parameters (BIGINT, INTEGER, INTEGER, INTEGER).\n\
         Valid alternatives are:\n\
         MID_TEST(BIGINT, STRING..., INTEGER first, INTEGER second)\n\
         For detailed information on a function run: DESCRIBE FUNCTION <Function-Name>;"
    );
}

#[test]
fn generic_results_bind_to_the_arguments() {
    let udaf = AggregateUdf::new("GEN_TEST", "test").overload(
        UdafOverload {
            params: &["A", "B", "C..."],
            init_params: &[],
            aggregate_type: "ARRAY<A>",
            returns: "ARRAY<A>",
            description: "",
        },
        |_| Box::new(Sum),
    );
    let (overload, coerced, _) = udaf
        .resolve(&[
            DataType::Decimal128(5, 1),
            DataType::Int32,
            DataType::Float64,
        ])
        .unwrap();
    assert_eq!(
        overload
            .returns
            .resolve(&overload.overload, &coerced)
            .unwrap(),
        super::super::signature::list_type(DataType::Decimal128(5, 1))
    );
    assert!(
        udaf.resolve(&[
            DataType::Decimal128(5, 1),
            DataType::Int32,
            DataType::Float64,
            DataType::Utf8
        ])
        .is_err()
    );
}

#[test]
fn attr_gives_the_single_distinct_value_and_undoes_rows() {
    let signature =
        crate::functions::aggregate::resolve_aggregate("attr", &[DataType::Utf8], &[None])
            .expect("ATTR takes a string");
    assert_eq!(signature.name, "ATTR");
    assert_eq!(signature.return_type, DataType::Utf8);
    assert!(signature.table_supported);
    assert!(signature.complex_intermediate);
    let attr = create_aggregate(&signature)
        .expect("ATTR is built on this API")
        .unwrap();
    let text = |value: &str| ScalarValue::Utf8(Some(value.to_string()));
    let udaf = &attr.udaf;
    let mut state = udaf.initialize();
    assert_eq!(udaf.map(&state).unwrap(), ScalarValue::Utf8(None));
    state = udaf.aggregate(&[text("a")], state).unwrap();
    state = udaf.aggregate(&[text("a")], state).unwrap();
    assert_eq!(udaf.map(&state).unwrap(), text("a"));
    // A second value (null counts as one) makes it null until it is undone.
    state = udaf.aggregate(&[ScalarValue::Utf8(None)], state).unwrap();
    assert_eq!(udaf.map(&state).unwrap(), ScalarValue::Utf8(None));
    state = udaf.undo(&[ScalarValue::Utf8(None)], state).unwrap();
    assert_eq!(udaf.map(&state).unwrap(), text("a"));
    // Merging adds the counts: a(2) + b(1) is two values.
    let other = udaf.aggregate(&[text("b")], udaf.initialize()).unwrap();
    let merged = udaf.merge(state.clone(), other).unwrap();
    assert_eq!(udaf.map(&merged).unwrap(), ScalarValue::Utf8(None));
    assert_eq!(merged.data_type(), attr.aggregate_type);
}

#[test]
fn each_call_of_a_stateful_function_has_its_own_instance() {
    let udf = ScalarUdf::new("counter", "test").overload_stateful(&[], "BIGINT", || {
        let mut calls = 0i64;
        Box::new(move |_: &[ScalarValue]| {
            calls += 1;
            Ok(ScalarValue::Int64(Some(calls)))
        })
    });
    let first = UserScalarFunction::new(&udf);
    let second = UserScalarFunction::new(&udf);
    let count = |function: &UserScalarFunction| (function.bodies[0])(&[]).unwrap();
    assert_eq!(count(&first), ScalarValue::Int64(Some(1)));
    assert_eq!(count(&first), ScalarValue::Int64(Some(2)));
    assert_eq!(count(&second), ScalarValue::Int64(Some(1)));
}
