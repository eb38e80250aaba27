//! ksqlDB null-handling functions: COALESCE, IFNULL and NULLIF.
//!
//! All are generic: the arguments widen to one common type, which is also the result type.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, make_comparator};
use datafusion::arrow::compute::kernels::zip::zip;
use datafusion::arrow::compute::{SortOptions, is_not_null, nullif};
use datafusion::common::{Result, internal_err};

use super::FunctionCategory;
use super::signature::{Overload, ParamType, ReturnType};
use super::udf::{EvalArgs, FunctionDefinition, null_result};

pub(super) fn definitions() -> Vec<FunctionDefinition> {
    let generic = || ParamType::Generic('T');
    let category = FunctionCategory::Conditional;
    vec![
        FunctionDefinition::new(
            "COALESCE",
            category,
            "Returns the first non-null argument",
            vec![Overload::variadic(vec![generic()], ReturnType::Arg(0))],
            eval_coalesce,
        ),
        FunctionDefinition::new(
            "IFNULL",
            category,
            "Returns the first argument, or the second when the first is null",
            vec![Overload::new(
                vec![generic(), generic()],
                ReturnType::Arg(0),
            )],
            eval_coalesce,
        ),
        FunctionDefinition::new(
            "NULLIF",
            category,
            "Returns null when both arguments are equal, otherwise the first",
            vec![Overload::new(
                vec![generic(), generic()],
                ReturnType::Arg(0),
            )],
            eval_nullif,
        ),
    ]
}

fn eval_coalesce(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let Some(last) = args.args.last() else {
        return Ok(null_result(args));
    };
    if last.data_type().is_null() && args.return_type.is_null() {
        return Ok(null_result(args));
    }
    // Fold from the last argument: each earlier argument wins where it is not null.
    let mut result = Arc::clone(last);
    for candidate in args.args.iter().rev().skip(1) {
        result = zip(&is_not_null(candidate)?, candidate, &result)?;
    }
    Ok(result)
}

/// Row-wise equality of two arrays of the same type, nested types included.
pub(super) fn rows_equal(left: &dyn Array, right: &dyn Array) -> Result<BooleanArray> {
    if left.len() != right.len() {
        return internal_err!("rows_equal on arrays of different lengths");
    }
    let comparator = make_comparator(left, right, SortOptions::default())?;
    Ok((0..left.len())
        .map(|row| Some(left.is_valid(row) && right.is_valid(row) && comparator(row, row).is_eq()))
        .collect())
}

fn eval_nullif(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let [left, right] = args.args else {
        return internal_err!("NULLIF takes two arguments");
    };
    if left.data_type().is_null() {
        return Ok(null_result(args));
    }
    Ok(nullif(left, &rows_equal(left, right)?)?)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int32Array, Int64Array, NullArray, StringArray};
    use datafusion::arrow::datatypes::DataType;

    use super::*;
    use crate::functions::testing::{call, return_type, rows};

    #[test]
    fn coalesce_takes_the_first_non_null() {
        let result = call(
            "COALESCE",
            vec![
                Arc::new(Int32Array::from(vec![Some(1), None, None])),
                Arc::new(NullArray::new(3)),
                Arc::new(Int64Array::from(vec![Some(5), Some(6), None])),
            ],
        )
        .expect("coalesce");
        assert_eq!(result.data_type(), &DataType::Int64);
        assert_eq!(rows(&result), vec!["1", "6", "NULL"]);
        let result = call("COALESCE", vec![Arc::new(NullArray::new(2))]).expect("all null");
        assert_eq!(rows(&result), vec!["NULL", "NULL"]);
    }

    #[test]
    fn ifnull_and_nullif() {
        let left: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None, Some("c")]));
        let right: ArrayRef = Arc::new(StringArray::from(vec![Some("x"), Some("y"), Some("c")]));
        let result = call("IFNULL", vec![Arc::clone(&left), Arc::clone(&right)]).expect("ifnull");
        assert_eq!(rows(&result), vec!["a", "y", "c"]);
        let result = call("NULLIF", vec![left, right]).expect("nullif");
        assert_eq!(rows(&result), vec!["a", "NULL", "NULL"]);
        assert!(return_type("IFNULL", &[DataType::Utf8, DataType::Int32]).is_err());
        assert_eq!(
            return_type("IFNULL", &[DataType::Int32, DataType::Null]).expect("ifnull"),
            DataType::Int32
        );
    }
}
