//! ksqlDB's test functions, registered through Eddy's user-function API the way ksqlDB's
//! functional-test harness loads its test jar (`io.confluent.ksql.function.udf.*`,
//! `io.confluent.ksql.function.udaf.*` test classes). Each reproduces the behaviour of the
//! Java class of the same function name; a Java exception is an `Err`.

use std::sync::Once;

use arrow::array::Array;
use arrow::datatypes::{DataType, Field};
use datafusion::common::ScalarValue;
use datafusion::common::scalar::ScalarStructBuilder;
use planner::functions::user::{
    AggregateUdf, ScalarUdf, TableUdf, Udaf, UdafCall, UdafOverload, UdfResult, register_aggregate,
    register_scalar, register_table,
};

/// Registers the test functions once per process.
pub fn register_test_functions() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let results = [
            register_scalar(test_udf()),
            register_scalar(bad_udf()),
            register_scalar(to_struct()),
            register_scalar(when_condition()),
            register_scalar(when_result()),
            register_table(test_udtf()),
            register_table(throwing_udtf()),
            register_aggregate(test_udaf()),
            register_aggregate(var_arg()),
            register_aggregate(mid_var_arg()),
            register_aggregate(multi_arg()),
            register_aggregate(four_arg()),
            register_aggregate(five_arg()),
            register_aggregate(generic_var_arg()),
            register_aggregate(obj_col_arg()),
        ];
        for result in results {
            if let Err(error) = result {
                eprintln!("cannot register a test function: {error}");
            }
        }
    });
}

fn string(value: &str) -> ScalarValue {
    ScalarValue::Utf8(Some(value.to_string()))
}

/// `STRUCT<A VARCHAR>` with `A = value`.
fn struct_a(value: Option<String>) -> ScalarValue {
    ScalarStructBuilder::new()
        .with_scalar(
            Field::new("A", DataType::Utf8, true),
            ScalarValue::Utf8(value),
        )
        .build()
        .unwrap_or(ScalarValue::Null)
}

/// Field `name` of a struct value.
fn field(value: &ScalarValue, name: &str) -> Option<ScalarValue> {
    let ScalarValue::Struct(array) = value else {
        return None;
    };
    if array.is_null(0) {
        return None;
    }
    let column = array.column_by_name(name)?;
    ScalarValue::try_from_array(column, 0).ok()
}

fn int(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::Int8(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int16(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int32(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int64(Some(v)) => Some(*v),
        _ => None,
    }
}

fn text_len(value: &ScalarValue) -> i64 {
    match value {
        ScalarValue::Utf8(Some(text)) => text.chars().map(char::len_utf16).sum::<usize>() as i64,
        _ => 0,
    }
}

/// The elements of a list value.
fn list_values(value: &ScalarValue) -> Vec<ScalarValue> {
    match value {
        ScalarValue::List(list) if !list.is_null(0) => {
            let values = list.value(0);
            (0..values.len())
                .filter_map(|index| ScalarValue::try_from_array(&values, index).ok())
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The values of a map value, in entry order.
fn map_values(value: &ScalarValue) -> Vec<ScalarValue> {
    match value {
        ScalarValue::Map(map) if !map.is_null(0) => {
            let entries = map.value(0);
            let values = entries.column(1);
            (0..values.len())
                .filter_map(|index| ScalarValue::try_from_array(values, index).ok())
                .collect()
        }
        _ => Vec::new(),
    }
}

fn list_of(values: &[ScalarValue], element: &DataType) -> ScalarValue {
    ScalarValue::List(ScalarValue::new_list_nullable(values, element))
}

/// Java's `String.valueOf` of a value (`Struct{A=bar}` for structs).
fn java_string(value: &ScalarValue) -> UdfResult<String> {
    Ok(match value {
        value if value.is_null() => return Err("null".into()),
        ScalarValue::Float64(Some(v)) => {
            if v.fract() == 0.0 && v.abs() < 1e7 {
                format!("{v:.1}")
            } else {
                v.to_string()
            }
        }
        ScalarValue::Decimal128(Some(unscaled), _, scale) => {
            let scale = *scale as usize;
            let digits = unscaled.unsigned_abs().to_string();
            let digits = format!("{digits:0>width$}", width = scale + 1);
            let (whole, fraction) = digits.split_at(digits.len() - scale);
            let sign = if *unscaled < 0 { "-" } else { "" };
            if scale == 0 {
                format!("{sign}{whole}")
            } else {
                format!("{sign}{whole}.{fraction}")
            }
        }
        ScalarValue::Struct(array) => {
            let fields = array
                .fields()
                .iter()
                .zip(array.columns())
                .filter(|(_, column)| column.is_valid(0))
                .map(|(field, column)| {
                    let value = ScalarValue::try_from_array(column, 0)
                        .map_err(|error| error.to_string())?;
                    Ok(format!("{}={}", field.name(), java_string(&value)?))
                })
                .collect::<UdfResult<Vec<_>>>()?;
            format!("Struct{{{}}}", fields.join(","))
        }
        other => other.to_string(),
    })
}

/// `test_udf`: returns which Java method was chosen, or a struct field.
fn test_udf() -> ScalarUdf {
    let named = |name: &'static str| move |_: &[ScalarValue]| Ok(string(name));
    ScalarUdf::new("test_udf", "test")
        .overload(
            &["arg1 INT", "arg2 STRING"],
            "STRING",
            named("doStuffIntString"),
        )
        .overload(
            &["arg1 BIGINT", "arg2 STRING"],
            "STRING",
            named("doStuffLongString"),
        )
        .overload(
            &["arg1 BIGINT", "arg2 BIGINT", "arg3 STRING"],
            "STRING",
            named("doStuffLongLongString"),
        )
        .overload(&["longs BIGINT..."], "STRING", named("doStuffLongVarargs"))
        .overload(&["struct STRUCT<A VARCHAR>"], "STRING", |args| {
            let value = field(&args[0], "A").ok_or("null struct")?;
            Ok(value)
        })
        .overload(&[], "STRUCT<A VARCHAR>", |_| {
            Ok(struct_a(Some("foo".into())))
        })
}

/// `bad_udf`: throws, or returns null every other call (of its instance: one per call in a
/// query, as ksqlDB makes one instance of the class per call).
fn bad_udf() -> ScalarUdf {
    ScalarUdf::new("bad_udf", "throws exceptions when called")
        .overload(&["arg1 INT"], "STRING", |_| Err("boom!".into()))
        .overload(&["arg BOOLEAN"], "INT", |args| match &args[0] {
            ScalarValue::Boolean(Some(false)) => Ok(ScalarValue::Int32(Some(0))),
            _ => Err("You asked me to throw...".into()),
        })
        .overload_stateful(&["arg STRING"], "STRING", || {
            let mut calls = 0usize;
            Box::new(move |args: &[ScalarValue]| {
                calls += 1;
                if calls % 2 == 1 {
                    Ok(ScalarValue::Utf8(None))
                } else {
                    Ok(args[0].clone())
                }
            })
        })
}

/// `tostruct`: a `STRUCT<A VARCHAR>` holding the string.
fn to_struct() -> ScalarUdf {
    ScalarUdf::new("tostruct", "test").overload(
        &["STRING"],
        "STRUCT<A VARCHAR>",
        |args| match &args[0] {
            ScalarValue::Utf8(value) => Ok(struct_a(value.clone())),
            _ => Err("not a string".into()),
        },
    )
}

/// `whenCondition(value, shouldBeEvaluated)`: fails when it should not have been evaluated.
fn when_condition() -> ScalarUdf {
    ScalarUdf::new("WhenCondition", "UDF used in case-expression.json").overload(
        &["retValue BOOLEAN", "shouldBeEvaluated BOOLEAN"],
        "BOOLEAN",
        |args| match &args[1] {
            ScalarValue::Boolean(Some(true)) => Ok(args[0].clone()),
            _ => Err("When condition in case is not running lazily!".into()),
        },
    )
}

/// `whenResult(value, shouldBeEvaluated)`: fails when it should not have been evaluated.
fn when_result() -> ScalarUdf {
    ScalarUdf::new("WhenResult", "UDF used in case-expression.json").overload(
        &["retValue INT", "shouldBeEvaluated BOOLEAN"],
        "INT",
        |args| match &args[1] {
            ScalarValue::Boolean(Some(true)) => Ok(args[0].clone()),
            _ => Err("Then expression in case is not running lazily!".into()),
        },
    )
}

/// `test_udtf`: the arguments' values as strings, or the argument itself.
fn test_udtf() -> TableUdf {
    let strings = |values: Vec<ScalarValue>| -> UdfResult<Vec<ScalarValue>> {
        values
            .iter()
            .map(|value| Ok(string(&java_string(value)?)))
            .collect()
    };
    let first = |values: Vec<ScalarValue>| -> UdfResult<ScalarValue> {
        values.into_iter().next().ok_or_else(|| "empty".to_string())
    };
    let itself = |args: &[ScalarValue]| -> UdfResult<Vec<ScalarValue>> {
        if args[0].is_null() {
            // A Java primitive parameter cannot be null.
            return Err("null argument".into());
        }
        Ok(vec![args[0].clone()])
    };
    TableUdf::new("test_udtf", "test")
        .overload(
            &[
                "i INT",
                "l BIGINT",
                "d DOUBLE",
                "b BOOLEAN",
                "s STRING",
                "bd DECIMAL",
                "struct STRUCT<A VARCHAR>",
            ],
            "STRING",
            move |args| strings(args.to_vec()),
        )
        .overload(
            &[
                "i ARRAY<INT>",
                "l ARRAY<BIGINT>",
                "d ARRAY<DOUBLE>",
                "b ARRAY<BOOLEAN>",
                "s ARRAY<STRING>",
                "bd ARRAY<DECIMAL>",
                "struct ARRAY<STRUCT<A VARCHAR>>",
            ],
            "STRING",
            move |args| {
                strings(
                    args.iter()
                        .map(|list| first(list_values(list)))
                        .collect::<UdfResult<_>>()?,
                )
            },
        )
        .overload(
            &[
                "i MAP<STRING, INT>",
                "l MAP<STRING, BIGINT>",
                "d MAP<STRING, DOUBLE>",
                "b MAP<STRING, BOOLEAN>",
                "s MAP<STRING, STRING>",
                "bd MAP<STRING, DECIMAL>",
                "struct MAP<STRING, STRUCT<A VARCHAR>>",
            ],
            "STRING",
            move |args| {
                strings(
                    args.iter()
                        .map(|map| first(map_values(map)))
                        .collect::<UdfResult<_>>()?,
                )
            },
        )
        .overload(&["i INT"], "INT", itself)
        .overload(&["l BIGINT"], "BIGINT", itself)
        .overload(&["d DOUBLE"], "DOUBLE", itself)
        .overload(&["b BOOLEAN"], "BOOLEAN", itself)
        .overload(&["s STRING"], "STRING", |args| Ok(vec![args[0].clone()]))
        .overload(&["bd DECIMAL"], "DECIMAL(30, 10)", |args| {
            Ok(vec![args[0].clone()])
        })
        .overload(&["struct STRUCT<A VARCHAR>"], "STRUCT<A VARCHAR>", |args| {
            Ok(vec![args[0].clone()])
        })
}

/// `throwing_udtf`: fails when its argument is true.
fn throwing_udtf() -> TableUdf {
    TableUdf::new("throwing_udtf", "test UDTF that throws if param is true").overload(
        &["shouldThrow BOOLEAN"],
        "BOOLEAN",
        |args| match &args[0] {
            ScalarValue::Boolean(Some(false)) => Ok(vec![args[0].clone()]),
            _ => Err("You asked me to throw...".into()),
        },
    )
}

/// An aggregation from closures.
struct Closures<A, M>
where
    A: Fn(&[ScalarValue], ScalarValue) -> UdfResult<ScalarValue> + Send + Sync,
    M: Fn(&ScalarValue) -> UdfResult<ScalarValue> + Send + Sync,
{
    init: ScalarValue,
    aggregate: A,
    merge: fn(ScalarValue, ScalarValue) -> UdfResult<ScalarValue>,
    map: M,
    undo: Option<UndoFn>,
}

impl<A, M> Udaf for Closures<A, M>
where
    A: Fn(&[ScalarValue], ScalarValue) -> UdfResult<ScalarValue> + Send + Sync,
    M: Fn(&ScalarValue) -> UdfResult<ScalarValue> + Send + Sync,
{
    fn initialize(&self) -> ScalarValue {
        self.init.clone()
    }
    fn aggregate(&self, args: &[ScalarValue], aggregate: ScalarValue) -> UdfResult<ScalarValue> {
        (self.aggregate)(args, aggregate)
    }
    fn merge(&self, left: ScalarValue, right: ScalarValue) -> UdfResult<ScalarValue> {
        (self.merge)(left, right)
    }
    fn map(&self, aggregate: &ScalarValue) -> UdfResult<ScalarValue> {
        (self.map)(aggregate)
    }
    fn undo(&self, args: &[ScalarValue], aggregate: ScalarValue) -> UdfResult<ScalarValue> {
        match self.undo {
            Some(undo) => undo(args, aggregate),
            None => Ok(aggregate),
        }
    }
}

fn long(value: i64) -> ScalarValue {
    ScalarValue::Int64(Some(value))
}

fn add_longs(left: ScalarValue, right: ScalarValue) -> UdfResult<ScalarValue> {
    match (int(&left), int(&right)) {
        (Some(a), Some(b)) => Ok(long(a.wrapping_add(b))),
        _ => Err("null".into()),
    }
}

fn identity(aggregate: &ScalarValue) -> UdfResult<ScalarValue> {
    Ok(aggregate.clone())
}

type UndoFn = fn(&[ScalarValue], ScalarValue) -> UdfResult<ScalarValue>;

fn undo_long(args: &[ScalarValue], aggregate: ScalarValue) -> UdfResult<ScalarValue> {
    let value = int(&args[0]).ok_or("null")?;
    Ok(long(int(&aggregate).ok_or("null")?.wrapping_sub(value)))
}

/// A Java `Long` sum of a per-row number (null fails, as unboxing does).
fn sum_longs(undo: bool) -> impl Fn(&UdafCall<'_>) -> Box<dyn Udaf> + Send + Sync {
    move |_| {
        Box::new(Closures {
            init: long(0),
            aggregate: |args: &[ScalarValue], aggregate| {
                add_longs(aggregate, long(int(&args[0]).ok_or("null")?))
            },
            merge: add_longs,
            map: identity,
            undo: undo.then_some(undo_long as UndoFn),
        })
    }
}

/// `test_udaf`: sums (numbers, string lengths, struct fields).
fn test_udaf() -> AggregateUdf {
    let overload = |params, init_params, aggregate_type, returns, description| UdafOverload {
        params,
        init_params,
        aggregate_type,
        returns,
        description,
    };
    let struct_type = "STRUCT<A INTEGER, B INTEGER>";
    AggregateUdf::new("test_udaf", "test_udaf")
        .table_overload(
            overload(&["BIGINT"], &[], "BIGINT", "BIGINT", "sums longs"),
            sum_longs(true),
        )
        .table_overload(
            overload(&["INT"], &[], "BIGINT", "BIGINT", "sums int"),
            sum_longs(true),
        )
        .overload(
            overload(&["DOUBLE"], &[], "DOUBLE", "DOUBLE", "sums double"),
            |_| {
                fn add(left: ScalarValue, right: ScalarValue) -> UdfResult<ScalarValue> {
                    match (left, right) {
                        (ScalarValue::Float64(Some(a)), ScalarValue::Float64(Some(b))) => {
                            Ok(ScalarValue::Float64(Some(a + b)))
                        }
                        _ => Err("null".into()),
                    }
                }
                Box::new(Closures {
                    init: ScalarValue::Float64(Some(0.0)),
                    aggregate: |args: &[ScalarValue], aggregate| add(aggregate, args[0].clone()),
                    merge: add,
                    map: identity,
                    undo: None,
                })
            },
        )
        .overload(
            overload(
                &["STRING"],
                &["initialString STRING"],
                "BIGINT",
                "BIGINT",
                "sums the length of strings",
            ),
            |call: &UdafCall<'_>| {
                let initial = text_len(&call.init_args[0]);
                Box::new(Closures {
                    init: long(initial),
                    aggregate: |args: &[ScalarValue], aggregate| {
                        if args[0].is_null() {
                            return Err("null".into());
                        }
                        add_longs(aggregate, long(text_len(&args[0])))
                    },
                    merge: add_longs,
                    map: identity,
                    undo: None,
                })
            },
        )
        .overload(
            overload(
                &[struct_type],
                &[],
                struct_type,
                struct_type,
                "returns a struct with {SUM(in->A), SUM(in->B)}",
            ),
            |_| {
                fn ab(a: i64, b: i64) -> ScalarValue {
                    ScalarStructBuilder::new()
                        .with_scalar(
                            Field::new("A", DataType::Int32, true),
                            ScalarValue::Int32(Some(a as i32)),
                        )
                        .with_scalar(
                            Field::new("B", DataType::Int32, true),
                            ScalarValue::Int32(Some(b as i32)),
                        )
                        .build()
                        .unwrap_or(ScalarValue::Null)
                }
                fn add(left: ScalarValue, right: ScalarValue) -> UdfResult<ScalarValue> {
                    let get = |value: &ScalarValue, name| {
                        field(value, name)
                            .as_ref()
                            .and_then(int)
                            .ok_or_else(|| "null".to_string())
                    };
                    Ok(ab(
                        get(&left, "A")? + get(&right, "A")?,
                        get(&left, "B")? + get(&right, "B")?,
                    ))
                }
                Box::new(Closures {
                    init: ab(0, 0),
                    aggregate: |args: &[ScalarValue], aggregate| add(args[0].clone(), aggregate),
                    merge: add,
                    map: identity,
                    undo: None,
                })
            },
        )
}

/// The sum of a first BIGINT (null: 0) and the lengths of the strings after it.
fn long_and_lengths(args: &[ScalarValue], aggregate: ScalarValue) -> UdfResult<ScalarValue> {
    let first = int(&args[0]).unwrap_or(0);
    let lengths: i64 = args[1..].iter().map(text_len).sum();
    add_longs(aggregate, long(first + lengths))
}

fn plus_constant(constant: i64) -> impl Fn(&ScalarValue) -> UdfResult<ScalarValue> + Send + Sync {
    move |aggregate| add_longs(aggregate.clone(), long(constant))
}

fn counting(
    params: &'static [&'static str],
    init_params: &'static [&'static str],
) -> UdafOverload<'static> {
    UdafOverload {
        params,
        init_params,
        aggregate_type: "BIGINT",
        returns: "BIGINT",
        description: "Testing factory",
    }
}

/// The constant of the initial arguments: integers as they are, strings by length.
fn init_constant(call: &UdafCall<'_>) -> i64 {
    call.init_args
        .iter()
        .map(|value| int(value).unwrap_or_else(|| text_len(value)))
        .sum()
}

fn summing(call: &UdafCall<'_>) -> Box<dyn Udaf> {
    Box::new(Closures {
        init: long(0),
        aggregate: long_and_lengths,
        merge: add_longs,
        map: plus_constant(init_constant(call)),
        undo: None,
    })
}

/// `VAR_ARG(BIGINT, STRING...)`.
fn var_arg() -> AggregateUdf {
    AggregateUdf::new(
        "VAR_ARG",
        "Returns the sum of the provided longs and lengths of strings.",
    )
    .overload(counting(&["BIGINT", "STRING..."], &[]), summing)
}

/// `MID_VAR_ARG(BIGINT, STRING..., INT, INT)`.
fn mid_var_arg() -> AggregateUdf {
    AggregateUdf::new(
        "MID_VAR_ARG",
        "Returns the sum of the provided longs, lengths of strings, and initial arguments.",
    )
    .overload(
        counting(&["BIGINT", "STRING..."], &["first INT", "second INT"]),
        summing,
    )
}

/// `MULTI_ARG(BIGINT, STRING, INT, STRING...)`.
fn multi_arg() -> AggregateUdf {
    AggregateUdf::new(
        "MULTI_ARG",
        "Returns the sum of the provided longs, lengths of strings, and initial arguments.",
    )
    .overload(
        counting(&["BIGINT", "STRING"], &["INT", "STRING..."]),
        summing,
    )
}

/// `FOUR_ARG(BIGINT, STRING, STRING, STRING, INT, STRING...)`: starts from its initial
/// arguments' constant.
fn four_arg() -> AggregateUdf {
    AggregateUdf::new(
        "FOUR_ARG",
        "Returns the sum of the provided longs and lengths of strings.",
    )
    .overload(
        counting(
            &["BIGINT", "STRING", "STRING", "STRING"],
            &["INT", "STRING..."],
        ),
        |call: &UdafCall<'_>| {
            Box::new(Closures {
                init: long(init_constant(call)),
                aggregate: long_and_lengths,
                merge: add_longs,
                map: identity,
                undo: None,
            })
        },
    )
}

/// `FIVE_ARG(BIGINT, STRING, STRING, STRING, INT, INT, STRING...)`.
fn five_arg() -> AggregateUdf {
    AggregateUdf::new(
        "FIVE_ARG",
        "Returns the sum of the provided longs, integers, lengths of strings, and initial arguments.",
    )
    .overload(
        counting(
            &["BIGINT", "STRING", "STRING", "STRING", "INT"],
            &["INT", "STRING..."],
        ),
        |call: &UdafCall<'_>| {
            Box::new(Closures {
                init: long(0),
                aggregate: |args: &[ScalarValue], aggregate| {
                    let first = int(&args[0]).unwrap_or(0);
                    let lengths: i64 = args[1..4].iter().map(text_len).sum();
                    let fifth = int(&args[4]).unwrap_or(0);
                    add_longs(aggregate, long(first + lengths + fifth))
                },
                merge: add_longs,
                map: plus_constant(init_constant(call)),
                undo: None,
            })
        },
    )
}

/// Collects the first argument of rows whose arguments are all non-null.
fn collect_first(call: &UdafCall<'_>) -> Box<dyn Udaf> {
    let element = match call.return_type {
        DataType::List(field) => field.data_type().clone(),
        other => other.clone(),
    };
    let init = list_of(&[], &element);
    Box::new(Closures {
        init,
        aggregate: move |args: &[ScalarValue], aggregate| {
            if args.iter().any(ScalarValue::is_null) {
                return Ok(aggregate);
            }
            let mut values = list_values(&aggregate);
            values.push(args[0].clone());
            Ok(list_of(&values, &element))
        },
        merge: |left, right| {
            let element = match left.data_type() {
                DataType::List(field) => field.data_type().clone(),
                other => other,
            };
            let mut values = list_values(&left);
            values.extend(list_values(&right));
            Ok(list_of(&values, &element))
        },
        map: identity,
        undo: None,
    })
}

/// `GENERIC_VAR_ARG(A, B, C...)`: ARRAY<A>.
fn generic_var_arg() -> AggregateUdf {
    AggregateUdf::new(
        "GENERIC_VAR_ARG",
        "Returns an array of rows where all the given columns are non-null.",
    )
    .overload(
        UdafOverload {
            params: &["A", "B", "C..."],
            init_params: &[],
            aggregate_type: "ARRAY<A>",
            returns: "ARRAY<A>",
            description: "Testing factory",
        },
        collect_first,
    )
}

/// `OBJ_COL_ARG(INT, ANY...)`: ARRAY<INT>.
fn obj_col_arg() -> AggregateUdf {
    AggregateUdf::new(
        "OBJ_COL_ARG",
        "Returns an array of rows where all the given columns are non-null.",
    )
    .overload(
        UdafOverload {
            params: &["INT", "ANY..."],
            init_params: &[],
            aggregate_type: "ARRAY<INT>",
            returns: "ARRAY<INT>",
            description: "Testing factory",
        },
        collect_first,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_strings_of_values() {
        assert_eq!(
            java_string(&ScalarValue::Float64(Some(3.1))).unwrap(),
            "3.1"
        );
        assert_eq!(
            java_string(&ScalarValue::Float64(Some(3.0))).unwrap(),
            "3.0"
        );
        assert_eq!(
            java_string(&ScalarValue::Decimal128(Some(1234560000000), 20, 10)).unwrap(),
            "123.4560000000"
        );
        assert_eq!(
            java_string(&struct_a(Some("bar".into()))).unwrap(),
            "Struct{A=bar}"
        );
    }
}
