//! ksqlDB map functions: AS_MAP, MAP_KEYS, MAP_VALUES and MAP_UNION.
//!
//! Keys are compared through Arrow's row format; on duplicate keys the later entry wins and
//! keeps the first one's position.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, ListArray, MapArray, StructArray, new_null_array};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::interleave;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::cast::{as_boolean_array, as_list_array, as_map_array};
use datafusion::common::{Result, internal_err};

use super::{Elements, EntryPick, build_list, element_type, list_field, positions};
use crate::functions::signature::{list_type, map_key_value, map_type};
use crate::functions::udf::{EvalArgs, null_result};

pub(super) fn as_map_type(types: &[DataType]) -> Result<DataType> {
    Ok(map_type(DataType::Utf8, element_type(&types[1..])?))
}

pub(super) fn map_keys_type(types: &[DataType]) -> Result<DataType> {
    match types.first().and_then(map_key_value) {
        Some((key, _)) => Ok(list_type(key.clone())),
        None => internal_err!("expected a MAP argument, got {types:?}"),
    }
}

pub(super) fn map_values_type(types: &[DataType]) -> Result<DataType> {
    match types.first().and_then(map_key_value) {
        Some((_, value)) => Ok(list_type(value.clone())),
        None => internal_err!("expected a MAP argument, got {types:?}"),
    }
}

/// The entries field and the key/value fields of a map type.
fn map_fields(data_type: &DataType) -> Result<(FieldRef, Fields)> {
    match data_type {
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(fields) => Ok((Arc::clone(entries), fields.clone())),
            other => internal_err!("map entries must be a struct, got {other}"),
        },
        other => internal_err!("expected a map type, got {other}"),
    }
}

/// Builds a map column whose rows pick (key source, key index, value source, value index).
fn build_map(
    data_type: &DataType,
    key_sources: &[&dyn Array],
    value_sources: &[&dyn Array],
    rows: Vec<Option<Vec<EntryPick>>>,
) -> Result<ArrayRef> {
    let (entries_field, fields) = map_fields(data_type)?;
    let nulls = NullBuffer::from(rows.iter().map(Option::is_some).collect::<Vec<_>>());
    let lengths = rows
        .iter()
        .map(|row| row.as_ref().map_or(0, Vec::len))
        .collect::<Vec<_>>();
    let picks = rows.into_iter().flatten().flatten().collect::<Vec<_>>();
    let key_picks = picks.iter().map(|(key, _)| *key).collect::<Vec<_>>();
    let value_picks = picks.iter().map(|(_, value)| *value).collect::<Vec<_>>();
    let keys = interleave(key_sources, &key_picks)?;
    let values = interleave(value_sources, &value_picks)?;
    let entries = StructArray::try_new(fields, vec![keys, values], None)?;
    Ok(Arc::new(MapArray::try_new(
        entries_field,
        OffsetBuffer::from_lengths(lengths),
        entries,
        Some(nulls),
        false,
    )?))
}

pub(super) fn eval_as_map(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let (DataType::List(_), DataType::List(_)) =
        (args.args[0].data_type(), args.args[1].data_type())
    else {
        return Ok(null_result(args));
    };
    let keys = as_list_array(&args.args[0])?;
    let values = as_list_array(&args.args[1])?;
    let key_values = keys.values();
    let key_elements = Elements::new(&DataType::Utf8, false)?;
    let key_rows = key_elements.rows(key_values)?;
    let picks = (0..args.rows)
        .map(|row| {
            let (key_range, value_range) = (positions(keys, row)?, positions(values, row)?);
            // Keys beyond the values get a null value; null keys are dropped; later
            // duplicates win.
            let mut entries: Vec<EntryPick> = Vec::new();
            for (position, key) in key_range.enumerate() {
                if key_values.is_null(key) {
                    continue;
                }
                let value = match value_range.clone().nth(position) {
                    Some(value) => (0, value),
                    None => (1, 0),
                };
                match entries
                    .iter_mut()
                    .find(|((_, existing), _)| key_rows.row(*existing) == key_rows.row(key))
                {
                    Some(entry) => entry.1 = value,
                    None => entries.push(((0, key), value)),
                }
            }
            Some(entries)
        })
        .collect();
    let null_value = new_null_array(values.values().data_type(), 1);
    build_map(
        args.return_type,
        &[key_values.as_ref()],
        &[values.values().as_ref(), null_value.as_ref()],
        picks,
    )
}

/// `ARRAY<STRUCT<K STRING, V v>>` for ENTRIES of a `MAP<STRING, v>`.
pub(super) fn entries_type(types: &[DataType]) -> Result<DataType> {
    match types.first().and_then(map_key_value) {
        Some((_, value)) => Ok(list_type(DataType::Struct(entry_fields(value)))),
        None => internal_err!("expected a MAP argument, got {types:?}"),
    }
}

fn entry_fields(value: &DataType) -> Fields {
    Fields::from(vec![
        Field::new("K", DataType::Utf8, true),
        Field::new("V", value.clone(), true),
    ])
}

/// ENTRIES: one STRUCT<K, V> per map entry, in map order or sorted by key.
pub(super) fn eval_entries(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let Some(map) = map_arg(args, 0)? else {
        return Ok(null_result(args));
    };
    let sorted = as_boolean_array(&args.args[1])?;
    let keys = map.keys();
    let key_rows = Elements::new(keys.data_type(), false)?.rows(keys)?;
    let mut picks = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        picks.push(map_positions(map, row).map(|range| {
            let mut indices: Vec<usize> = range.collect();
            if sorted.is_valid(row) && sorted.value(row) {
                indices.sort_by(|&a, &b| key_rows.row(a).cmp(&key_rows.row(b)));
            }
            indices
        }));
    }
    let value_type = map.values().data_type().clone();
    let order = picks
        .iter()
        .flatten()
        .flatten()
        .copied()
        .collect::<Vec<_>>();
    let take = |column: &ArrayRef| -> Result<ArrayRef> {
        let indices = order.iter().map(|&index| (0, index)).collect::<Vec<_>>();
        Ok(interleave(&[column.as_ref()], &indices)?)
    };
    let entries = StructArray::try_new(
        entry_fields(&value_type),
        vec![take(keys)?, take(map.values())?],
        None,
    )?;
    let field = list_field(args.return_type)?;
    let lengths = picks
        .iter()
        .map(|pick| pick.as_ref().map_or(0, Vec::len))
        .collect::<Vec<_>>();
    let nulls = NullBuffer::from(picks.iter().map(Option::is_some).collect::<Vec<_>>());
    Ok(Arc::new(ListArray::try_new(
        field,
        OffsetBuffer::from_lengths(lengths),
        Arc::new(entries),
        Some(nulls),
    )?))
}

/// The map argument at `index`, or None for an untyped NULL.
fn map_arg<'a>(args: &'a EvalArgs<'_>, index: usize) -> Result<Option<&'a MapArray>> {
    match args.args[index].data_type() {
        DataType::Map(_, _) => Ok(Some(as_map_array(&args.args[index])?)),
        _ => Ok(None),
    }
}

fn map_positions(map: &MapArray, row: usize) -> Option<std::ops::Range<usize>> {
    if map.is_null(row) {
        return None;
    }
    let offsets = map.value_offsets();
    Some(offsets[row] as usize..offsets[row + 1] as usize)
}

pub(super) fn eval_map_part(args: &EvalArgs<'_>, column: usize) -> Result<ArrayRef> {
    let Some(map) = map_arg(args, 0)? else {
        return Ok(null_result(args));
    };
    let part = map.entries().column(column);
    let picks = (0..args.rows)
        .map(|row| map_positions(map, row).map(|range| range.map(|index| (0, index)).collect()))
        .collect();
    build_list(list_field(args.return_type)?, &[part.as_ref()], picks)
}

pub(super) fn eval_map_union(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let (left, right) = (map_arg(args, 0)?, map_arg(args, 1)?);
    let Some(key_type) = map_key_value(args.return_type).map(|(key, _)| key.clone()) else {
        return internal_err!("MAP_UNION returns a map");
    };
    let elements = Elements::new(&key_type, false)?;
    let empty_keys = datafusion::arrow::array::new_empty_array(&key_type);
    let maps = [left, right];
    let key_arrays: Vec<ArrayRef> = maps
        .iter()
        .map(|map| map.map_or(Arc::clone(&empty_keys), |map| Arc::clone(map.keys())))
        .collect();
    let value_type = map_key_value(args.return_type)
        .map(|(_, value)| value.clone())
        .unwrap_or(DataType::Null);
    let empty_values = datafusion::arrow::array::new_empty_array(&value_type);
    let value_arrays: Vec<ArrayRef> = maps
        .iter()
        .map(|map| map.map_or(Arc::clone(&empty_values), |map| Arc::clone(map.values())))
        .collect();
    let key_rows = key_arrays
        .iter()
        .map(|keys| elements.rows(keys))
        .collect::<Result<Vec<_>>>()?;
    let picks = (0..args.rows)
        .map(|row| {
            let ranges = maps
                .iter()
                .map(|map| map.and_then(|map| map_positions(map, row)))
                .collect::<Vec<_>>();
            if ranges.iter().all(Option::is_none) {
                return None;
            }
            let mut entries: Vec<EntryPick> = Vec::new();
            for (source, range) in ranges.into_iter().enumerate() {
                for index in range.into_iter().flatten() {
                    let key = key_rows[source].row(index);
                    match entries.iter_mut().find(|((existing_source, existing), _)| {
                        key_rows[*existing_source].row(*existing) == key
                    }) {
                        Some(entry) => entry.1 = (source, index),
                        None => entries.push(((source, index), (source, index))),
                    }
                }
            }
            Some(entries)
        })
        .collect();
    let key_refs = key_arrays
        .iter()
        .map(|keys| keys.as_ref())
        .collect::<Vec<_>>();
    let value_refs = value_arrays
        .iter()
        .map(|values| values.as_ref())
        .collect::<Vec<_>>();
    build_map(args.return_type, &key_refs, &value_refs, picks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::testing::{call, int_lists, rows, string_lists};

    #[test]
    fn maps() {
        let keys = string_lists(vec![Some(vec![Some("a"), Some("b"), Some("a")]), None]);
        let values = int_lists(vec![Some(vec![Some(1), Some(2), Some(3)]), Some(vec![])]);
        let map = call("AS_MAP", vec![keys, values]).expect("as_map");
        assert_eq!(map.null_count(), 1);
        let short = call(
            "AS_MAP",
            vec![
                string_lists(vec![Some(vec![Some("a"), Some("b")])]),
                int_lists(vec![Some(vec![Some(1)])]),
            ],
        )
        .expect("as_map with fewer values");
        let values = call("MAP_VALUES", vec![Arc::clone(&short)]).expect("values");
        assert_eq!(rows(&values), vec!["[1, ]"]);
        let entries = call(
            "ENTRIES",
            vec![
                short,
                Arc::new(datafusion::arrow::array::BooleanArray::from(vec![true])),
            ],
        )
        .expect("entries");
        assert_eq!(rows(&entries), vec!["[{K: a, V: 1}, {K: b, V: }]"]);
        let result = call("MAP_KEYS", vec![Arc::clone(&map)]).expect("map_keys");
        assert_eq!(rows(&result), vec!["[a, b]", "NULL"]);
        let result = call("MAP_VALUES", vec![Arc::clone(&map)]).expect("map_values");
        assert_eq!(rows(&result), vec!["[3, 2]", "NULL"]);
        let other_keys = string_lists(vec![
            Some(vec![Some("b"), Some("c")]),
            Some(vec![Some("z")]),
        ]);
        let other_values = int_lists(vec![Some(vec![Some(20), Some(30)]), Some(vec![Some(26)])]);
        let other = call("AS_MAP", vec![other_keys, other_values]).expect("as_map");
        let union = call("MAP_UNION", vec![map, other]).expect("map_union");
        let result = call("MAP_VALUES", vec![Arc::clone(&union)]).expect("values");
        assert_eq!(rows(&result), vec!["[3, 20, 30]", "[26]"]);
        let result = call("MAP_KEYS", vec![union]).expect("keys");
        assert_eq!(rows(&result), vec!["[a, b, c]", "[z]"]);
    }
}
