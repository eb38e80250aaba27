//! Example user-defined functions: a scalar function with overloads (`MULTIPLY`), an
//! aggregate that can also aggregate tables (`SUM_SQUARES`) and a table function
//! (`SPLIT_WORDS`). `register` adds them to the engine; call it before running any
//! statement (`src/main.rs` does, then runs the `eddy` command line).

use datafusion::common::ScalarValue;
use planner::functions::user::{
    AggregateUdf, ScalarUdf, TableUdf, Udaf, UdafOverload, UdfResult, register_aggregate,
    register_scalar, register_table,
};

/// Registers `MULTIPLY`, `SUM_SQUARES` and `SPLIT_WORDS`.
pub fn register() -> UdfResult<()> {
    register_scalar(multiply())?;
    register_aggregate(sum_squares())?;
    register_table(split_words())?;
    Ok(())
}

fn as_i64(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::Int32(value) => value.map(i64::from),
        ScalarValue::Int64(value) => *value,
        _ => None,
    }
}

/// `MULTIPLY(a, b)`: the product of two INTs or BIGINTs (a BIGINT) or two DOUBLEs; null
/// when either is null. As with ksqlDB's `@Udf` overloads, a call takes the overload that
/// matches exactly, else the one its arguments widen to: `MULTIPLY(DECIMAL, INT)` is the
/// DOUBLE one, `MULTIPLY(INT, BIGINT)` is ambiguous (BIGINT or DOUBLE) and needs a CAST.
fn multiply() -> ScalarUdf {
    let integers = |args: &[ScalarValue]| -> UdfResult<ScalarValue> {
        Ok(ScalarValue::Int64(
            match (as_i64(&args[0]), as_i64(&args[1])) {
                (Some(a), Some(b)) => Some(a.checked_mul(b).ok_or("BIGINT overflow")?),
                _ => None,
            },
        ))
    };
    ScalarUdf::new("multiply", "Multiplies two numbers.")
        .author("me", "1.0")
        .category("mathematical")
        .overload(&["a INT", "b INT"], "BIGINT", integers)
        .overload(&["a BIGINT", "b BIGINT"], "BIGINT", integers)
        .overload(&["a DOUBLE", "b DOUBLE"], "DOUBLE", |args| {
            Ok(ScalarValue::Float64(match (&args[0], &args[1]) {
                (ScalarValue::Float64(Some(a)), ScalarValue::Float64(Some(b))) => Some(a * b),
                _ => None,
            }))
        })
}

/// The running sum of squares: a BIGINT aggregate.
struct SumSquares;

impl SumSquares {
    fn add(aggregate: ScalarValue, value: &ScalarValue, sign: i64) -> UdfResult<ScalarValue> {
        let sum = as_i64(&aggregate).unwrap_or(0);
        Ok(ScalarValue::Int64(Some(match as_i64(value) {
            Some(value) => sum.wrapping_add(sign.wrapping_mul(value.wrapping_mul(value))),
            // Nulls do not count.
            None => sum,
        })))
    }
}

impl Udaf for SumSquares {
    fn initialize(&self) -> ScalarValue {
        ScalarValue::Int64(Some(0))
    }

    fn aggregate(&self, args: &[ScalarValue], aggregate: ScalarValue) -> UdfResult<ScalarValue> {
        Self::add(aggregate, &args[0], 1)
    }

    fn merge(&self, left: ScalarValue, right: ScalarValue) -> UdfResult<ScalarValue> {
        let (left, right) = (as_i64(&left).unwrap_or(0), as_i64(&right).unwrap_or(0));
        Ok(ScalarValue::Int64(Some(left.wrapping_add(right))))
    }

    fn map(&self, aggregate: &ScalarValue) -> UdfResult<ScalarValue> {
        Ok(aggregate.clone())
    }

    /// Tables: an updated or deleted row takes its square back out.
    fn undo(&self, args: &[ScalarValue], aggregate: ScalarValue) -> UdfResult<ScalarValue> {
        Self::add(aggregate, &args[0], -1)
    }
}

/// `SUM_SQUARES(n)`: the sum of the squares of an INT or BIGINT column, over streams and
/// tables.
fn sum_squares() -> AggregateUdf {
    AggregateUdf::new("sum_squares", "Sums the squares of the values.")
        .author("me", "1.0")
        .table_overload(
            UdafOverload {
                params: &["n BIGINT"],
                init_params: &[],
                aggregate_type: "BIGINT",
                returns: "BIGINT",
                description: "Sums the squares of the values.",
            },
            |_| Box::new(SumSquares),
        )
}

/// `SPLIT_WORDS(text)`: one row per word of the text (split at whitespace); none for null.
fn split_words() -> TableUdf {
    TableUdf::new("split_words", "One row per word of the text.")
        .author("me", "1.0")
        .overload(&["text STRING"], "STRING", |args| match &args[0] {
            ScalarValue::Utf8(Some(text)) => Ok(text
                .split_whitespace()
                .map(|word| ScalarValue::Utf8(Some(word.to_string())))
                .collect()),
            _ => Ok(Vec::new()),
        })
}
