//! ksqlDB's lambda invocation functions TRANSFORM, FILTER and REDUCE as DataFusion
//! higher-order functions.
//!
//! Each lambda runs once over the elements of every row of a batch (REDUCE once per element
//! position); DataFusion spreads the outer columns a lambda captures onto the elements.
//! Lowering (parameter names, arity and type checks) is in `expr::lambda`.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, ListArray, MapArray, StructArray, UInt32Array,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::{cast, filter, interleave, take, take_arrays};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, HigherOrderFunctionArgs, HigherOrderReturnFieldArgs, HigherOrderSignature,
    HigherOrderUDF, HigherOrderUDFImpl, LambdaArgument, LambdaParametersProgress, ValueOrLambda,
    Volatility,
};

use super::signature::{list_element, list_type, map_key_value, map_type};

/// The lambda invocation functions of ksqlDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LambdaFunctionKind {
    /// `TRANSFORM(array, x => ...)`, `TRANSFORM(map, (k, v) => key, (k, v) => value)`.
    Transform,
    /// `FILTER(array, x => bool)`, `FILTER(map, (k, v) => bool)`.
    Filter,
    /// `REDUCE(array, init, (s, x) => ...)`, `REDUCE(map, init, (s, k, v) => ...)`.
    Reduce,
}

impl LambdaFunctionKind {
    /// The invocation function named `name` (upper-case), if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "TRANSFORM" => Some(Self::Transform),
            "FILTER" => Some(Self::Filter),
            "REDUCE" => Some(Self::Reduce),
            _ => None,
        }
    }

    /// The upper-case ksqlDB name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Transform => "TRANSFORM",
            Self::Filter => "FILTER",
            Self::Reduce => "REDUCE",
        }
    }

    /// How many value arguments come before the lambdas.
    pub fn value_count(self) -> usize {
        match self {
            Self::Reduce => 2,
            Self::Transform | Self::Filter => 1,
        }
    }

    /// The parameter types of each lambda, given the types of the value arguments (the
    /// collection first); None when the collection is not an array or a map.
    pub fn parameter_types(self, values: &[DataType]) -> Option<Vec<Vec<DataType>>> {
        let collection = values.first()?;
        let elements = match (list_element(collection), map_key_value(collection)) {
            (Some(element), _) => vec![element.clone()],
            (None, Some((key, value))) => vec![key.clone(), value.clone()],
            (None, None) => return None,
        };
        Some(match self {
            Self::Transform if elements.len() == 2 => vec![elements.clone(), elements],
            Self::Transform | Self::Filter => vec![elements],
            Self::Reduce => {
                let mut parameters = vec![values.get(1)?.clone()];
                parameters.extend(elements);
                vec![parameters]
            }
        })
    }

    /// The function as a DataFusion higher-order UDF.
    pub fn udf(self) -> Arc<HigherOrderUDF> {
        self.invocation(false)
    }

    /// A twin of the function that, with the same arguments, tells for each row whether the
    /// invocation fails in ksqlDB (a lambda's failure condition holds for an element), so that
    /// a failure inside a nested lambda also fails the lambda around it.
    pub fn failure_udf(self) -> Arc<HigherOrderUDF> {
        self.invocation(true)
    }

    fn invocation(self, failure: bool) -> Arc<HigherOrderUDF> {
        Arc::new(HigherOrderUDF::new_from_impl(LambdaInvocation {
            kind: self,
            failure,
            signature: HigherOrderSignature::user_defined(Volatility::Immutable),
        }))
    }
}

/// The field of a lambda parameter of type `data_type` (parameters are always nullable).
pub fn parameter_field(name: &str, data_type: DataType) -> FieldRef {
    Arc::new(Field::new(name, data_type, true))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct LambdaInvocation {
    kind: LambdaFunctionKind,
    /// Gives whether each row fails instead of the result (see `failure_udf`).
    failure: bool,
    signature: HigherOrderSignature,
}

impl HigherOrderUDFImpl for LambdaInvocation {
    fn name(&self) -> &str {
        match (self.kind, self.failure) {
            (kind, false) => kind.name(),
            (LambdaFunctionKind::Transform, true) => "TRANSFORM_FAILS",
            (LambdaFunctionKind::Filter, true) => "FILTER_FAILS",
            (LambdaFunctionKind::Reduce, true) => "REDUCE_FAILS",
        }
    }

    fn signature(&self) -> &HigherOrderSignature {
        &self.signature
    }

    fn coerce_value_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        Ok(arg_types.to_vec())
    }

    fn lambda_parameters(
        &self,
        _step: usize,
        fields: &[ValueOrLambda<FieldRef, Option<FieldRef>>],
    ) -> Result<LambdaParametersProgress> {
        let values = value_types(fields);
        match self.kind.parameter_types(&values) {
            // The lambdas, then their failure conditions with the same parameters.
            Some(lambdas) => Ok(LambdaParametersProgress::Complete(
                lambdas
                    .iter()
                    .chain(&lambdas)
                    .cloned()
                    .map(|types| {
                        types
                            .into_iter()
                            .map(|data_type| parameter_field("", data_type))
                            .collect()
                    })
                    .collect(),
            )),
            None => plan_err!("{} expects an ARRAY or a MAP, got {values:?}", self.name()),
        }
    }

    fn return_field_from_args(&self, args: HigherOrderReturnFieldArgs) -> Result<FieldRef> {
        let values = value_types(args.arg_fields);
        let lambdas = args
            .arg_fields
            .iter()
            .filter_map(|field| match field {
                ValueOrLambda::Lambda(field) => Some(field.data_type().clone()),
                ValueOrLambda::Value(_) => None,
            })
            .collect::<Vec<_>>();
        let lambdas = &lambdas[..lambdas.len() / 2];
        let return_type = match (self.kind, lambdas) {
            _ if self.failure => DataType::Boolean,
            (LambdaFunctionKind::Transform, [element]) => list_type(element.clone()),
            (LambdaFunctionKind::Transform, [key, value]) => map_type(key.clone(), value.clone()),
            (LambdaFunctionKind::Filter, _) => values[0].clone(),
            (LambdaFunctionKind::Reduce, _) => values[1].clone(),
            (_, other) => return plan_err!("{} got {} lambdas", self.name(), other.len()),
        };
        Ok(Arc::new(Field::new("", return_type, true)))
    }

    fn invoke_with_args(&self, args: HigherOrderFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let return_type = args.return_type().clone();
        let mut values = Vec::new();
        let mut lambdas = Vec::new();
        for arg in &args.args {
            match arg {
                ValueOrLambda::Value(value) => values.push(value.to_array(rows)?),
                ValueOrLambda::Lambda(lambda) => lambdas.push(lambda),
            }
        }
        let (lambdas, failures) = lambdas.split_at(lambdas.len() / 2);
        let collection = Collection::new(&values[0])?;
        let (result, failed) = match (self.kind, lambdas) {
            (LambdaFunctionKind::Reduce, [reducer]) => {
                let state_type = values[1].data_type().clone();
                let (state, failed) =
                    reduce(&collection, &values[1], reducer, failures, &state_type)?;
                (Some(state), failed)
            }
            _ => {
                let mut failed = vec![false; rows];
                for failure in failures {
                    let condition =
                        Collection::evaluate(failure, &collection.elements, &collection.rows)?;
                    mark_failed_rows(&condition, collection.rows.values(), &mut failed)?;
                }
                (None, failed)
            }
        };
        if self.failure {
            return Ok(ColumnarValue::Array(Arc::new(BooleanArray::from(failed))));
        }
        let result = match (self.kind, lambdas, result) {
            (_, _, Some(result)) => result,
            (LambdaFunctionKind::Transform, [lambda], None) => {
                transform_array(&collection, lambda, &return_type)?
            }
            (LambdaFunctionKind::Transform, [key, value], None) => {
                transform_map(&collection, key, value, &return_type)?
            }
            (LambdaFunctionKind::Filter, [predicate], None) => {
                filter_collection(&collection, predicate, &return_type)?
            }
            (_, other, _) => return exec_err!("{} got {} lambdas", self.name(), other.len()),
        };
        Ok(ColumnarValue::Array(null_failed_rows(result, &failed)?))
    }
}

fn value_types<L>(fields: &[ValueOrLambda<FieldRef, L>]) -> Vec<DataType> {
    fields
        .iter()
        .filter_map(|field| match field {
            ValueOrLambda::Value(field) => Some(field.data_type().clone()),
            ValueOrLambda::Lambda(_) => None,
        })
        .collect()
}

/// An array or map column, flattened: the element columns (one for an array, key and value
/// for a map) with the row of each element.
struct Collection {
    nulls: Option<NullBuffer>,
    /// Element count per row (0 for null rows).
    lengths: Vec<usize>,
    /// Element columns, from the first element of the first row to the last of the last row.
    elements: Vec<ArrayRef>,
    /// The row of each element, to spread captured columns onto the elements.
    rows: UInt32Array,
    /// The map's entries field, for maps.
    entries: Option<FieldRef>,
}

impl Collection {
    fn new(array: &ArrayRef) -> Result<Self> {
        let (offsets, nulls, elements, entries) = match array.data_type() {
            DataType::List(_) => {
                let list = array.as_list::<i32>();
                (
                    list.offsets().clone(),
                    list.nulls().cloned(),
                    vec![Arc::clone(list.values())],
                    None,
                )
            }
            DataType::Map(entries, _) => {
                let map = array.as_map();
                (
                    map.offsets().clone(),
                    map.nulls().cloned(),
                    vec![Arc::clone(map.keys()), Arc::clone(map.values())],
                    Some(Arc::clone(entries)),
                )
            }
            other => return exec_err!("expected an ARRAY or a MAP, got {other}"),
        };
        let start = offsets[0] as usize;
        let end = offsets[offsets.len() - 1] as usize;
        let lengths = (0..array.len())
            .map(|row| match &nulls {
                Some(nulls) if nulls.is_null(row) => 0,
                _ => (offsets[row + 1] - offsets[row]) as usize,
            })
            .collect::<Vec<_>>();
        // Keep only the elements of non-null rows.
        let mut picks = Vec::with_capacity(end - start);
        for (row, length) in lengths.iter().enumerate() {
            let first = offsets[row] as u32;
            picks.extend(first..first + *length as u32);
        }
        let picks = UInt32Array::from(picks);
        let elements = elements
            .iter()
            .map(|column| Ok(take(column.as_ref(), &picks, None)?))
            .collect::<Result<Vec<_>>>()?;
        let rows = UInt32Array::from_iter_values(
            lengths
                .iter()
                .enumerate()
                .flat_map(|(row, length)| std::iter::repeat_n(row as u32, *length)),
        );
        Ok(Self {
            nulls,
            lengths,
            elements,
            rows,
            entries,
        })
    }

    fn offsets(&self) -> OffsetBuffer<i32> {
        OffsetBuffer::from_lengths(self.lengths.iter().copied())
    }

    /// Evaluates `lambda` with the element columns (after `leading`, e.g. the state) as its
    /// parameters, over the elements picked by `rows` (the row of each evaluated element).
    fn evaluate(
        lambda: &LambdaArgument,
        parameters: &[ArrayRef],
        rows: &UInt32Array,
    ) -> Result<ArrayRef> {
        let closures = parameters
            .iter()
            .map(|parameter| move || Ok(Arc::clone(parameter)))
            .collect::<Vec<_>>();
        let closures = closures
            .iter()
            .map(|closure| closure as &dyn Fn() -> Result<ArrayRef>)
            .collect::<Vec<_>>();
        lambda
            .evaluate(&closures, |captured| Ok(take_arrays(captured, rows, None)?))?
            .into_array(rows.len())
    }
}

fn transform_array(
    collection: &Collection,
    lambda: &LambdaArgument,
    return_type: &DataType,
) -> Result<ArrayRef> {
    let DataType::List(field) = return_type else {
        return exec_err!("TRANSFORM of an array returns an array, not {return_type}");
    };
    let values = Collection::evaluate(lambda, &collection.elements, &collection.rows)?;
    let values = cast(&values, field.data_type())?;
    Ok(Arc::new(ListArray::try_new(
        Arc::clone(field),
        collection.offsets(),
        values,
        collection.nulls.clone(),
    )?))
}

/// TRANSFORM of a map: a row whose new keys repeat (or are null) becomes null, as in ksqlDB.
fn transform_map(
    collection: &Collection,
    key_lambda: &LambdaArgument,
    value_lambda: &LambdaArgument,
    return_type: &DataType,
) -> Result<ArrayRef> {
    let DataType::Map(entries, _) = return_type else {
        return exec_err!("TRANSFORM of a map returns a map, not {return_type}");
    };
    let DataType::Struct(fields) = entries.data_type() else {
        return exec_err!("map entries must be a struct, got {}", entries.data_type());
    };
    let keys = Collection::evaluate(key_lambda, &collection.elements, &collection.rows)?;
    let values = Collection::evaluate(value_lambda, &collection.elements, &collection.rows)?;
    let keys = cast(&keys, fields[0].data_type())?;
    let values = cast(&values, fields[1].data_type())?;
    let valid = unique_keys_per_row(&keys, &collection.lengths)?;
    // Drop the entries of rows that become null: map keys may not be null.
    let mut nulls = collection
        .nulls
        .as_ref()
        .map(|nulls| nulls.iter().collect::<Vec<_>>())
        .unwrap_or_else(|| vec![true; collection.lengths.len()]);
    let mut keep = Vec::with_capacity(keys.len());
    let mut lengths = collection.lengths.clone();
    for (row, length) in lengths.iter_mut().enumerate() {
        let row_valid = nulls[row] && valid[row];
        nulls[row] = row_valid;
        keep.extend(std::iter::repeat_n(row_valid, *length));
        if !row_valid {
            *length = 0;
        }
    }
    let keep = BooleanArray::from(keep);
    let entries_array = StructArray::try_new(
        fields.clone(),
        vec![filter(&keys, &keep)?, filter(&values, &keep)?],
        None,
    )?;
    Ok(Arc::new(MapArray::try_new(
        Arc::clone(entries),
        OffsetBuffer::from_lengths(lengths),
        entries_array,
        Some(NullBuffer::from(nulls)),
        false,
    )?))
}

/// Per row: whether its keys are all non-null and distinct.
fn unique_keys_per_row(keys: &ArrayRef, lengths: &[usize]) -> Result<Vec<bool>> {
    let converter = RowConverter::new(vec![SortField::new(keys.data_type().clone())])?;
    let encoded = converter.convert_columns(&[Arc::clone(keys)])?;
    let mut start = 0;
    let mut valid = Vec::with_capacity(lengths.len());
    for length in lengths {
        let range = start..start + length;
        start += length;
        let mut seen = HashSet::new();
        valid.push(
            range
                .clone()
                .all(|index| keys.is_valid(index) && seen.insert(encoded.row(index))),
        );
    }
    Ok(valid)
}

/// FILTER keeps the elements (entries) for which the predicate is true; null counts as false.
fn filter_collection(
    collection: &Collection,
    predicate: &LambdaArgument,
    return_type: &DataType,
) -> Result<ArrayRef> {
    let mask = Collection::evaluate(predicate, &collection.elements, &collection.rows)?;
    let Some(mask) = mask.as_boolean_opt() else {
        return exec_err!(
            "FILTER's lambda must return BOOLEAN, got {}",
            mask.data_type()
        );
    };
    let mask = mask
        .iter()
        .map(|keep| keep.unwrap_or(false))
        .collect::<Vec<_>>();
    let mut lengths = Vec::with_capacity(collection.lengths.len());
    let mut start = 0;
    for length in &collection.lengths {
        lengths.push(
            mask[start..start + length]
                .iter()
                .filter(|keep| **keep)
                .count(),
        );
        start += length;
    }
    let mask = BooleanArray::from(mask);
    let elements = collection
        .elements
        .iter()
        .map(|column| Ok(filter(column.as_ref(), &mask)?))
        .collect::<Result<Vec<_>>>()?;
    let offsets = OffsetBuffer::from_lengths(lengths);
    Ok(match &collection.entries {
        None => {
            let DataType::List(field) = return_type else {
                return exec_err!("FILTER of an array returns an array, not {return_type}");
            };
            Arc::new(ListArray::try_new(
                Arc::clone(field),
                offsets,
                Arc::clone(&elements[0]),
                collection.nulls.clone(),
            )?)
        }
        Some(entries) => {
            let DataType::Struct(fields) = entries.data_type() else {
                return exec_err!("map entries must be a struct, got {}", entries.data_type());
            };
            let entries_array = StructArray::try_new(fields.clone(), elements, None)?;
            Arc::new(MapArray::try_new(
                Arc::clone(entries),
                offsets,
                entries_array,
                collection.nulls.clone(),
                false,
            )?)
        }
    })
}

/// Marks the row (`rows[i]`) of each element `i` whose failure condition is true.
fn mark_failed_rows(condition: &ArrayRef, rows: &[u32], failed: &mut [bool]) -> Result<()> {
    let Some(condition) = condition.as_boolean_opt() else {
        return exec_err!("a lambda's failure condition must be BOOLEAN");
    };
    for (index, row) in rows.iter().enumerate() {
        if condition.is_valid(index) && condition.value(index) {
            failed[*row as usize] = true;
        }
    }
    Ok(())
}

/// `result` with the failed rows set to null.
fn null_failed_rows(result: ArrayRef, failed: &[bool]) -> Result<ArrayRef> {
    if !failed.contains(&true) {
        return Ok(result);
    }
    let keep = BooleanArray::from(failed.iter().map(|failed| !failed).collect::<Vec<_>>());
    let nulls = datafusion::arrow::array::new_null_array(result.data_type(), result.len());
    Ok(datafusion::arrow::compute::kernels::zip::zip(
        &keep, &result, &nulls,
    )?)
}

/// REDUCE folds the elements (entries) of each row into the state, one element position at a
/// time over all rows that have an element there. A null collection gives the initial state.
/// Map entries are visited in the order ksqlDB visits them (see `java_hash_map_order`).
/// Gives the final states and which rows failed.
fn reduce(
    collection: &Collection,
    initial: &ArrayRef,
    reducer: &LambdaArgument,
    failures: &[&LambdaArgument],
    state_type: &DataType,
) -> Result<(ArrayRef, Vec<bool>)> {
    let mut failed = vec![false; initial.len()];
    let mut state = cast(initial, state_type)?;
    let starts = collection
        .lengths
        .iter()
        .scan(0usize, |start, length| {
            let first = *start;
            *start += length;
            Some(first)
        })
        .collect::<Vec<_>>();
    let order = java_hash_map_order(collection);
    let longest = collection.lengths.iter().copied().max().unwrap_or(0);
    for position in 0..longest {
        let active = (0..collection.lengths.len())
            .filter(|row| collection.lengths[*row] > position)
            .map(|row| row as u32)
            .collect::<Vec<_>>();
        let element_indices = UInt32Array::from_iter_values(
            active
                .iter()
                .map(|row| order[starts[*row as usize] + position]),
        );
        let active = UInt32Array::from(active);
        let mut parameters = vec![take(state.as_ref(), &active, None)?];
        for column in &collection.elements {
            parameters.push(take(column.as_ref(), &element_indices, None)?);
        }
        for failure in failures {
            let condition = Collection::evaluate(failure, &parameters, &active)?;
            mark_failed_rows(&condition, active.values(), &mut failed)?;
        }
        let next = Collection::evaluate(reducer, &parameters, &active)?;
        let next = cast(&next, state_type)?;
        let mut picks = (0..state.len()).map(|row| (0, row)).collect::<Vec<_>>();
        for (index, row) in active.values().iter().enumerate() {
            picks[*row as usize] = (1, index);
        }
        state = interleave(&[state.as_ref(), next.as_ref()], &picks)?;
    }
    Ok((state, failed))
}

/// The element indices of `collection` in visiting order. ksqlDB's maps are Java `HashMap`s
/// sized for their entries, whose iteration goes by hash bucket (`String.hashCode`, spread
/// as `HashMap` does) and within a bucket by insertion; arrays and maps with keys other than
/// strings keep their order.
fn java_hash_map_order(collection: &Collection) -> Vec<u32> {
    let identity = (0..collection.rows.len() as u32).collect::<Vec<_>>();
    let (Some(_), Some(keys)) = (&collection.entries, collection.elements.first()) else {
        return identity;
    };
    let Some(keys) = keys.as_string_opt::<i32>() else {
        return identity;
    };
    let mut order = Vec::with_capacity(identity.len());
    let mut start = 0usize;
    for length in &collection.lengths {
        let capacity = java_hash_map_capacity(*length);
        let mut entries = (start..start + length)
            .map(|index| {
                let hash = java_string_hash(keys.value(index));
                ((hash ^ (hash >> 16)) & (capacity - 1), index as u32)
            })
            .collect::<Vec<_>>();
        entries.sort_by_key(|(bucket, _)| *bucket);
        order.extend(entries.into_iter().map(|(_, index)| index));
        start += length;
    }
    order
}

/// The table size of `new HashMap<>(entries)` after `entries` insertions.
fn java_hash_map_capacity(entries: usize) -> u32 {
    let mut capacity = entries.max(1).next_power_of_two() as u32;
    while entries as u64 > (u64::from(capacity) * 3) / 4 {
        capacity *= 2;
    }
    capacity
}

/// Java's `String.hashCode` (over UTF-16 code units).
fn java_string_hash(text: &str) -> u32 {
    text.encode_utf16().fold(0u32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(u32::from(unit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_map_capacity_follows_sized_construction_and_resizes() {
        // tableSizeFor(n), doubled while n exceeds three quarters of it.
        let cases = [
            (0, 1),
            (1, 2),
            (2, 4),
            (3, 4),
            (4, 8),
            (6, 8),
            (7, 16),
            (12, 16),
            (13, 32),
        ];
        for (entries, expected) in cases {
            assert_eq!(
                java_hash_map_capacity(entries),
                expected,
                "{entries} entries"
            );
        }
    }

    #[test]
    fn java_string_hash_matches_string_hash_code() {
        // "a".hashCode() == 97, "ab" == 97 * 31 + 98, "" == 0, "hello" == 99162322.
        let cases = [("", 0u32), ("a", 97), ("ab", 3105), ("hello", 99_162_322)];
        for (text, expected) in cases {
            assert_eq!(java_string_hash(text), expected, "{text}");
        }
    }
}
