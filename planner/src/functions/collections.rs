//! ksqlDB array and map functions: ARRAY_LENGTH, ARRAY_CONTAINS, ARRAY_DISTINCT,
//! ARRAY_EXCEPT, ARRAY_INTERSECT, ARRAY_UNION, ARRAY_CONCAT, ARRAY_REMOVE, ARRAY_MAX,
//! ARRAY_MIN, ARRAY_SORT, ARRAY_JOIN, SLICE, GENERATE_SERIES, AS_MAP, MAP_KEYS, MAP_VALUES
//! and MAP_UNION.
//!
//! Elements of any type are compared through Arrow's row format, so nested arrays and maps
//! work too; nulls equal each other. Lambda functions (TRANSFORM, FILTER, REDUCE) are not here.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int32Array, Int64Array, ListArray};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::{SortOptions, interleave};
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::arrow::row::{RowConverter, Rows, SortField};
use datafusion::common::cast::{as_int32_array, as_int64_array, as_list_array};
use datafusion::common::{Result, internal_err, plan_err};

use super::FunctionCategory;
use super::json::java_value_string;

mod map;
mod set;
use self::set::{
    eval_array_concat, eval_array_distinct, eval_array_except, eval_array_intersect,
    eval_array_remove, eval_array_union,
};
use super::signature::{Overload, ParamType, ReturnType, ksql_type_name, list_element, list_type};
use super::string::{build_strings, string_at};
use super::udf::{EvalArgs, FunctionDefinition};

pub(super) fn definitions() -> Vec<FunctionDefinition> {
    use ParamType::{Bigint, Int, String as Str};
    let array = || ParamType::Array(Box::new(ParamType::Generic('T')));
    let element = || ParamType::Generic('T');
    let map = || {
        ParamType::Map(
            Box::new(ParamType::Generic('K')),
            Box::new(ParamType::Generic('V')),
        )
    };
    let category = FunctionCategory::Array;
    let same = || ReturnType::Arg(0);
    let two_arrays = |name, description, eval| {
        FunctionDefinition::new(
            name,
            category,
            description,
            vec![Overload::new(vec![array(), array()], same())],
            eval,
        )
    };
    vec![
        FunctionDefinition::new(
            "ARRAY_LENGTH",
            category,
            "Returns the number of elements of an array",
            vec![Overload::new(
                vec![array()],
                ReturnType::Fixed(DataType::Int32),
            )],
            eval_array_length,
        ),
        FunctionDefinition::new(
            "ARRAY_CONTAINS",
            category,
            "Returns whether an array contains a value",
            vec![Overload::new(
                vec![array(), element()],
                ReturnType::Fixed(DataType::Boolean),
            )],
            eval_array_contains,
        ),
        FunctionDefinition::new(
            "ARRAY_DISTINCT",
            category,
            "Returns the distinct elements of an array, in order of first appearance",
            vec![Overload::new(vec![array()], same())],
            eval_array_distinct,
        ),
        two_arrays(
            "ARRAY_EXCEPT",
            "Returns the distinct elements of the first array that are not in the second",
            eval_array_except,
        ),
        two_arrays(
            "ARRAY_INTERSECT",
            "Returns the distinct elements found in both arrays",
            eval_array_intersect,
        ),
        two_arrays(
            "ARRAY_UNION",
            "Returns the distinct elements found in either array",
            eval_array_union,
        ),
        two_arrays(
            "ARRAY_CONCAT",
            "Concatenates two arrays, keeping duplicates",
            eval_array_concat,
        ),
        FunctionDefinition::new(
            "ARRAY_REMOVE",
            category,
            "Removes every element equal to a value (or every null) from an array",
            vec![Overload::new(vec![array(), element()], same())],
            eval_array_remove,
        ),
        FunctionDefinition::new(
            "ARRAY_MAX",
            category,
            "Returns the greatest non-null element of an array",
            vec![Overload::new(
                vec![array()],
                ReturnType::Derived(element_type, "T"),
            )],
            |args| eval_array_extreme(args, true),
        ),
        FunctionDefinition::new(
            "ARRAY_MIN",
            category,
            "Returns the least non-null element of an array",
            vec![Overload::new(
                vec![array()],
                ReturnType::Derived(element_type, "T"),
            )],
            |args| eval_array_extreme(args, false),
        ),
        FunctionDefinition::new(
            "ARRAY_SORT",
            category,
            "Sorts an array ascending, or descending with 'DESC'; nulls go last",
            vec![
                Overload::new(vec![array()], same()),
                Overload::new(vec![array(), Str], same()),
            ],
            eval_array_sort,
        ),
        FunctionDefinition::new(
            "ARRAY_JOIN",
            category,
            "Joins the elements of an array of primitives into a string, with ',' by default",
            vec![
                Overload::new(vec![array()], ReturnType::Fixed(DataType::Utf8)),
                Overload::new(vec![array(), Str], ReturnType::Fixed(DataType::Utf8)),
            ],
            eval_array_join,
        ),
        FunctionDefinition::new(
            "SLICE",
            category,
            "Returns the elements of an array between two 1-based positions, inclusive",
            vec![Overload::new(vec![array(), Int, Int], same())],
            eval_slice,
        ),
        FunctionDefinition::new(
            "GENERATE_SERIES",
            category,
            "Returns the numbers from start to end (inclusive) with an optional step",
            vec![
                Overload::new(
                    vec![Int, Int],
                    ReturnType::Fixed(list_type(DataType::Int32)),
                ),
                Overload::new(
                    vec![Int, Int, Int],
                    ReturnType::Fixed(list_type(DataType::Int32)),
                ),
                Overload::new(
                    vec![Bigint, Bigint],
                    ReturnType::Fixed(list_type(DataType::Int64)),
                ),
                Overload::new(
                    vec![Bigint, Bigint, Int],
                    ReturnType::Fixed(list_type(DataType::Int64)),
                ),
            ],
            eval_generate_series,
        ),
        FunctionDefinition::new(
            "AS_MAP",
            FunctionCategory::Map,
            "Builds a map from an array of keys and an array of values",
            vec![Overload::new(
                vec![ParamType::Array(Box::new(Str)), array()],
                ReturnType::Derived(map::as_map_type, "MAP<STRING, T>"),
            )],
            map::eval_as_map,
        ),
        FunctionDefinition::new(
            "MAP_KEYS",
            FunctionCategory::Map,
            "Returns the keys of a map as an array",
            vec![Overload::new(
                vec![map()],
                ReturnType::Derived(map::map_keys_type, "ARRAY<K>"),
            )],
            |args| map::eval_map_part(args, 0),
        ),
        FunctionDefinition::new(
            "MAP_VALUES",
            FunctionCategory::Map,
            "Returns the values of a map as an array",
            vec![Overload::new(
                vec![map()],
                ReturnType::Derived(map::map_values_type, "ARRAY<V>"),
            )],
            |args| map::eval_map_part(args, 1),
        ),
        FunctionDefinition::new(
            "ENTRIES",
            FunctionCategory::Map,
            "Returns the entries of a map as an array of STRUCT<K, V>, optionally sorted by key",
            vec![Overload::new(
                vec![
                    ParamType::Map(Box::new(Str), Box::new(ParamType::Generic('V'))),
                    ParamType::Boolean,
                ],
                ReturnType::Derived(map::entries_type, "ARRAY<STRUCT<K STRING, V V>>"),
            )],
            map::eval_entries,
        ),
        FunctionDefinition::new(
            "MAP_UNION",
            FunctionCategory::Map,
            "Merges two maps; on duplicate keys the second map wins",
            vec![Overload::new(vec![map(), map()], same())],
            map::eval_map_union,
        ),
    ]
}

fn element_type(types: &[DataType]) -> Result<DataType> {
    match types.first().and_then(list_element) {
        Some(element) => Ok(element.clone()),
        None => internal_err!("expected an ARRAY argument, got {types:?}"),
    }
}

fn list_field(data_type: &DataType) -> Result<FieldRef> {
    match data_type {
        DataType::List(field) => Ok(Arc::clone(field)),
        other => internal_err!("expected a list type, got {other}"),
    }
}

/// An element to copy: (source array, index in it).
type Pick = (usize, usize);

/// A map entry to copy: where its key and its value come from.
type EntryPick = (Pick, Pick);

/// Comparable encodings of the elements of lists (and loose values) of one element type.
struct Elements {
    converter: RowConverter,
}

impl Elements {
    fn new(element: &DataType, descending: bool) -> Result<Self> {
        let options = SortOptions {
            descending,
            nulls_first: false,
        };
        Ok(Self {
            converter: RowConverter::new(vec![SortField::new_with_options(
                element.clone(),
                options,
            )])?,
        })
    }

    fn rows(&self, values: &ArrayRef) -> Result<Rows> {
        Ok(self.converter.convert_columns(&[Arc::clone(values)])?)
    }
}

/// Builds a list column whose rows pick `(source, index)` elements from `sources`.
fn build_list(
    field: FieldRef,
    sources: &[&dyn Array],
    rows: Vec<Option<Vec<(usize, usize)>>>,
) -> Result<ArrayRef> {
    let nulls = NullBuffer::from(rows.iter().map(Option::is_some).collect::<Vec<_>>());
    let lengths = rows
        .iter()
        .map(|row| row.as_ref().map_or(0, Vec::len))
        .collect::<Vec<_>>();
    let picks = rows.into_iter().flatten().flatten().collect::<Vec<_>>();
    let values = if sources.is_empty() {
        datafusion::arrow::array::new_empty_array(field.data_type())
    } else {
        interleave(sources, &picks)?
    };
    Ok(Arc::new(ListArray::try_new(
        field,
        OffsetBuffer::from_lengths(lengths),
        values,
        Some(nulls),
    )?))
}

/// The value positions of row `row` of a list, or None when the list is null.
fn positions(list: &ListArray, row: usize) -> Option<std::ops::Range<usize>> {
    if list.is_null(row) {
        return None;
    }
    let offsets = list.value_offsets();
    Some(offsets[row] as usize..offsets[row + 1] as usize)
}

fn eval_array_length(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let list = as_list_array(&args.args[0])?;
    Ok(Arc::new(
        (0..args.rows)
            .map(|row| positions(list, row).map(|range| range.len() as i32))
            .collect::<Int32Array>(),
    ))
}

/// The list argument and an encoder for its elements, or None for an untyped NULL list.
fn list_and_elements(array: &ArrayRef) -> Result<Option<(&ListArray, Elements, Rows)>> {
    let DataType::List(field) = array.data_type() else {
        return Ok(None);
    };
    let list = as_list_array(array)?;
    let elements = Elements::new(field.data_type(), false)?;
    let rows = elements.rows(list.values())?;
    Ok(Some((list, elements, rows)))
}

fn eval_array_contains(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let Some((list, elements, rows)) = list_and_elements(&args.args[0])? else {
        return Ok(Arc::new(datafusion::arrow::array::BooleanArray::from(
            vec![false; args.rows],
        )));
    };
    let wanted = elements.rows(&args.args[1])?;
    Ok(Arc::new(
        (0..args.rows)
            .map(|row| {
                Some(
                    positions(list, row).is_some_and(|mut range| {
                        range.any(|index| rows.row(index) == wanted.row(row))
                    }),
                )
            })
            .collect::<datafusion::arrow::array::BooleanArray>(),
    ))
}

fn eval_array_extreme(args: &EvalArgs<'_>, greatest: bool) -> Result<ArrayRef> {
    let Some((list, _, rows)) = list_and_elements(&args.args[0])? else {
        return Ok(super::udf::null_result(args));
    };
    let values = list.values();
    let mut picks = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let candidates = positions(list, row)
            .into_iter()
            .flatten()
            .filter(|&index| values.is_valid(index));
        let chosen = if greatest {
            candidates.max_by(|&a, &b| rows.row(a).cmp(&rows.row(b)))
        } else {
            candidates.min_by(|&a, &b| rows.row(a).cmp(&rows.row(b)))
        };
        picks.push(chosen);
    }
    // Gather the chosen elements, with a null where a row has none.
    let null = datafusion::arrow::array::new_null_array(values.data_type(), 1);
    let indices = picks
        .iter()
        .map(|pick| pick.map_or((1, 0), |index| (0, index)))
        .collect::<Vec<_>>();
    Ok(interleave(&[values.as_ref(), null.as_ref()], &indices)?)
}

fn eval_array_sort(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let DataType::List(field) = args.args[0].data_type() else {
        return Ok(super::udf::null_result(args));
    };
    let list = as_list_array(&args.args[0])?;
    let ascending_rows = Elements::new(field.data_type(), false)?.rows(list.values())?;
    let descending_rows = Elements::new(field.data_type(), true)?.rows(list.values())?;
    let mut picks = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let descending = match args.args.get(1) {
            Some(directions) => match string_at(directions, row)? {
                Some(direction) if direction.eq_ignore_ascii_case("DESC") => true,
                Some(direction) if direction.eq_ignore_ascii_case("ASC") => false,
                _ => {
                    picks.push(None);
                    continue;
                }
            },
            None => false,
        };
        let rows = if descending {
            &descending_rows
        } else {
            &ascending_rows
        };
        picks.push(positions(list, row).map(|range| {
            let mut indices: Vec<usize> = range.collect();
            indices.sort_by(|&a, &b| rows.row(a).cmp(&rows.row(b)));
            indices.into_iter().map(|index| (0, index)).collect()
        }));
    }
    build_list(
        list_field(args.return_type)?,
        &[list.values().as_ref()],
        picks,
    )
}

fn eval_array_join(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let DataType::List(field) = args.args[0].data_type() else {
        return Ok(super::udf::null_result(args));
    };
    if matches!(
        field.data_type(),
        DataType::List(_) | DataType::Map(_, _) | DataType::Struct(_)
    ) {
        return plan_err!(
            "ARRAY_JOIN only joins arrays of primitive types, not {}",
            ksql_type_name(field.data_type())
        );
    }
    let list = as_list_array(&args.args[0])?;
    let values = list.values();
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let delimiter = match args.args.get(1) {
            Some(delimiters) => string_at(delimiters, row)?.unwrap_or(""),
            None => ",",
        };
        out.push(match positions(list, row) {
            Some(range) => {
                let parts = range
                    .map(|index| java_value_string(values, index))
                    .collect::<Result<Vec<_>>>()?;
                Some(parts.join(delimiter))
            }
            None => None,
        });
    }
    Ok(build_strings(args.rows, |row| out[row].take()))
}

fn eval_slice(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let DataType::List(_) = args.args[0].data_type() else {
        return Ok(super::udf::null_result(args));
    };
    let list = as_list_array(&args.args[0])?;
    let starts = as_int32_array(&args.args[1])?;
    let ends = as_int32_array(&args.args[2])?;
    let picks = (0..args.rows)
        .map(|row| {
            let range = positions(list, row)?;
            let length = range.len() as i64;
            let start = if starts.is_valid(row) {
                i64::from(starts.value(row)) - 1
            } else {
                0
            };
            let end = if ends.is_valid(row) {
                i64::from(ends.value(row))
            } else {
                length
            };
            // Java's `List.subList` rejects anything out of bounds.
            if start < 0 || end > length || start > end {
                return None;
            }
            Some(
                (range.start + start as usize..range.start + end as usize)
                    .map(|index| (0, index))
                    .collect(),
            )
        })
        .collect();
    build_list(
        list_field(args.return_type)?,
        &[list.values().as_ref()],
        picks,
    )
}

/// The numbers from `start` to `end` inclusive by `step`; None for a step of 0 or one
/// pointing away from `end`.
fn series(start: i64, end: i64, step: i64) -> Option<Vec<i64>> {
    if step == 0 || (end > start && step < 0) || (end < start && step > 0) {
        return None;
    }
    let count = (end - start) / step + 1;
    if count > 1_000_000 {
        return None;
    }
    Some((0..count).map(|index| start + index * step).collect())
}

fn eval_generate_series(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let wide = args.args[0].data_type() == &DataType::Int64;
    let value_at = |index: usize, row: usize| -> Result<Option<i64>> {
        let array = &args.args[index];
        if array.is_null(row) {
            return Ok(None);
        }
        Ok(Some(match array.data_type() {
            DataType::Int64 => as_int64_array(array)?.value(row),
            _ => i64::from(as_int32_array(array)?.value(row)),
        }))
    };
    let mut all = Vec::new();
    let mut lengths = Vec::with_capacity(args.rows);
    let mut valid = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let step = if args.args.len() > 2 {
            value_at(2, row)?
        } else {
            // Without a step the series counts towards `end`, as in ksqlDB.
            match (value_at(0, row)?, value_at(1, row)?) {
                (Some(start), Some(end)) if end < start => Some(-1),
                _ => Some(1),
            }
        };
        let values = match (value_at(0, row)?, value_at(1, row)?, step) {
            (Some(start), Some(end), Some(step)) => series(start, end, step),
            _ => None,
        };
        valid.push(values.is_some());
        let values = values.unwrap_or_default();
        lengths.push(values.len());
        all.extend(values);
    }
    let values: ArrayRef = if wide {
        Arc::new(Int64Array::from(all))
    } else {
        Arc::new(
            all.into_iter()
                .map(|value| value as i32)
                .collect::<Int32Array>(),
        )
    };
    Ok(Arc::new(ListArray::try_new(
        list_field(args.return_type)?,
        OffsetBuffer::from_lengths(lengths),
        values,
        Some(NullBuffer::from(valid)),
    )?))
}

#[cfg(test)]
mod tests;
