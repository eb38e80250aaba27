//! ARRAY_DISTINCT, ARRAY_EXCEPT, ARRAY_INTERSECT, ARRAY_UNION, ARRAY_CONCAT and ARRAY_REMOVE:
//! lists built by picking elements of the argument lists, compared by their encoded rows.

use std::collections::HashSet;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::row::Rows;
use datafusion::common::Result;
use datafusion::common::cast::as_list_array;

use super::{Pick, build_list, list_and_elements, list_field, positions};
use crate::functions::udf::{EvalArgs, null_result};

/// Combines the element ranges of two lists (by their encoded rows) into picks.
type CombineFn = fn(&Rows, std::ops::Range<usize>, &Rows, std::ops::Range<usize>) -> Vec<Pick>;
pub(super) fn eval_array_distinct(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let Some((list, _, rows)) = list_and_elements(&args.args[0])? else {
        return Ok(null_result(args));
    };
    let picks = (0..args.rows)
        .map(|row| {
            positions(list, row).map(|range| {
                let mut seen = HashSet::new();
                range
                    .filter(|&index| seen.insert(rows.row(index)))
                    .map(|index| (0, index))
                    .collect()
            })
        })
        .collect();
    build_list(
        list_field(args.return_type)?,
        &[list.values().as_ref()],
        picks,
    )
}

/// ARRAY_EXCEPT, ARRAY_INTERSECT, ARRAY_UNION and ARRAY_CONCAT over both lists of a row.
fn eval_two_lists(args: &EvalArgs<'_>, combine: CombineFn, concat_nulls: bool) -> Result<ArrayRef> {
    let field = list_field(args.return_type)?;
    let (Some((left, elements, left_rows)), DataType::List(_)) =
        (list_and_elements(&args.args[0])?, args.args[1].data_type())
    else {
        return Ok(null_result(args));
    };
    let right = as_list_array(&args.args[1])?;
    let right_rows = elements.rows(right.values())?;
    let picks = (0..args.rows)
        .map(|row| match (positions(left, row), positions(right, row)) {
            (Some(left_range), Some(right_range)) => {
                Some(combine(&left_rows, left_range, &right_rows, right_range))
            }
            (Some(left_range), None) if concat_nulls => {
                Some(left_range.map(|index| (0, index)).collect())
            }
            (None, Some(right_range)) if concat_nulls => {
                Some(right_range.map(|index| (1, index)).collect())
            }
            _ => None,
        })
        .collect();
    build_list(
        field,
        &[left.values().as_ref(), right.values().as_ref()],
        picks,
    )
}

pub(super) fn eval_array_except(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    eval_two_lists(
        args,
        |left, left_range, right, right_range| {
            let excluded: HashSet<_> = right_range.map(|index| right.row(index)).collect();
            let mut seen = HashSet::new();
            left_range
                .filter(|&index| {
                    let value = left.row(index);
                    !excluded.contains(&value) && seen.insert(value)
                })
                .map(|index| (0, index))
                .collect()
        },
        false,
    )
}

pub(super) fn eval_array_intersect(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    eval_two_lists(
        args,
        |left, left_range, right, right_range| {
            let included: HashSet<_> = right_range.map(|index| right.row(index)).collect();
            let mut seen = HashSet::new();
            left_range
                .filter(|&index| {
                    let value = left.row(index);
                    included.contains(&value) && seen.insert(value)
                })
                .map(|index| (0, index))
                .collect()
        },
        false,
    )
}

pub(super) fn eval_array_union(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    eval_two_lists(
        args,
        |left, left_range, right, right_range| {
            let mut seen = HashSet::new();
            let mut picks = Vec::new();
            for index in left_range {
                if seen.insert(left.row(index)) {
                    picks.push((0, index));
                }
            }
            for index in right_range {
                if seen.insert(right.row(index)) {
                    picks.push((1, index));
                }
            }
            picks
        },
        false,
    )
}

pub(super) fn eval_array_concat(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    eval_two_lists(
        args,
        |_, left_range, _, right_range| {
            left_range
                .map(|index| (0, index))
                .chain(right_range.map(|index| (1, index)))
                .collect()
        },
        true,
    )
}

pub(super) fn eval_array_remove(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let Some((list, elements, rows)) = list_and_elements(&args.args[0])? else {
        return Ok(null_result(args));
    };
    let unwanted = elements.rows(&args.args[1])?;
    let picks = (0..args.rows)
        .map(|row| {
            positions(list, row).map(|range| {
                range
                    .filter(|&index| rows.row(index) != unwanted.row(row))
                    .map(|index| (0, index))
                    .collect()
            })
        })
        .collect();
    build_list(
        list_field(args.return_type)?,
        &[list.values().as_ref()],
        picks,
    )
}
