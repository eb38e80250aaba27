//! Reading aggregate arguments out of Arrow arrays and building result scalars and arrays.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListArray, new_empty_array};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Field, Float32Type, Float64Type, Int8Type, Int16Type,
    Int32Type, Int64Type, Time32MillisecondType, Time32SecondType, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use datafusion::common::ScalarValue;

use crate::Result;

/// An array of `data_type` from values of that type.
pub(super) fn scalars_to_array(
    data_type: &DataType,
    values: impl Iterator<Item = ScalarValue>,
) -> Result<ArrayRef> {
    let mut values = values.peekable();
    if values.peek().is_none() {
        return Ok(new_empty_array(data_type));
    }
    let array = ScalarValue::iter_to_array(values)?;
    if array.data_type() == data_type {
        Ok(array)
    } else {
        Ok(arrow::compute::cast(&array, data_type)?)
    }
}

/// A one-row `ARRAY` scalar holding `values`.
pub(super) fn single_list(element: &DataType, values: ArrayRef) -> Result<ScalarValue> {
    let field = Arc::new(Field::new("item", element.clone(), true));
    let list = ListArray::try_new(
        field,
        OffsetBuffer::from_lengths([values.len()]),
        values,
        None,
    )?;
    Ok(ScalarValue::List(Arc::new(list)))
}

pub(super) fn int_value(array: &dyn Array, row: usize) -> Option<i64> {
    if array.is_null(row) {
        return None;
    }
    match array.data_type() {
        DataType::Int8 => array
            .as_primitive_opt::<Int8Type>()
            .map(|a| a.value(row).into()),
        DataType::Int16 => array
            .as_primitive_opt::<Int16Type>()
            .map(|a| a.value(row).into()),
        DataType::Int32 => array
            .as_primitive_opt::<Int32Type>()
            .map(|a| a.value(row).into()),
        DataType::Int64 => array.as_primitive_opt::<Int64Type>().map(|a| a.value(row)),
        DataType::Date32 => array
            .as_primitive_opt::<Date32Type>()
            .map(|a| a.value(row).into()),
        DataType::Time32(TimeUnit::Second) => array
            .as_primitive_opt::<Time32SecondType>()
            .map(|a| a.value(row).into()),
        DataType::Time32(_) => array
            .as_primitive_opt::<Time32MillisecondType>()
            .map(|a| a.value(row).into()),
        DataType::Timestamp(TimeUnit::Second, _) => array
            .as_primitive_opt::<TimestampSecondType>()
            .map(|a| a.value(row)),
        DataType::Timestamp(TimeUnit::Millisecond, _) => array
            .as_primitive_opt::<TimestampMillisecondType>()
            .map(|a| a.value(row)),
        DataType::Timestamp(TimeUnit::Microsecond, _) => array
            .as_primitive_opt::<TimestampMicrosecondType>()
            .map(|a| a.value(row)),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => array
            .as_primitive_opt::<TimestampNanosecondType>()
            .map(|a| a.value(row)),
        _ => None,
    }
}

pub(super) fn float_value(array: &dyn Array, row: usize) -> Option<f64> {
    if array.is_null(row) {
        return None;
    }
    match array.data_type() {
        DataType::Float64 => array
            .as_primitive_opt::<Float64Type>()
            .map(|a| a.value(row)),
        DataType::Float32 => array
            .as_primitive_opt::<Float32Type>()
            .map(|a| a.value(row).into()),
        _ => int_value(array, row).map(|value| value as f64),
    }
}

pub(super) fn decimal_value(array: &dyn Array, row: usize) -> Option<i128> {
    if array.is_null(row) {
        return None;
    }
    array
        .as_primitive_opt::<Decimal128Type>()
        .map(|a| a.value(row))
}

pub(super) fn string_value(array: &dyn Array, row: usize) -> Option<&str> {
    if array.is_null(row) {
        return None;
    }
    array.as_string_opt::<i32>().map(|a| a.value(row))
}

pub(super) fn bytes_value(array: &dyn Array, row: usize) -> Option<&[u8]> {
    if array.is_null(row) {
        return None;
    }
    match array.data_type() {
        DataType::Utf8 => array
            .as_string_opt::<i32>()
            .map(|a| a.value(row).as_bytes()),
        DataType::Binary => array.as_binary_opt::<i32>().map(|a| a.value(row)),
        _ => None,
    }
}

/// A scalar of an integer-like `data_type` (INT, BIGINT, DATE, TIME, TIMESTAMP).
pub(super) fn int_scalar(data_type: &DataType, value: Option<i64>) -> ScalarValue {
    let narrow = value.map(|value| value as i32);
    match data_type {
        DataType::Int32 => ScalarValue::Int32(narrow),
        DataType::Date32 => ScalarValue::Date32(narrow),
        DataType::Time32(TimeUnit::Second) => ScalarValue::Time32Second(narrow),
        DataType::Time32(_) => ScalarValue::Time32Millisecond(narrow),
        DataType::Timestamp(TimeUnit::Second, zone) => {
            ScalarValue::TimestampSecond(value, zone.clone())
        }
        DataType::Timestamp(TimeUnit::Millisecond, zone) => {
            ScalarValue::TimestampMillisecond(value, zone.clone())
        }
        DataType::Timestamp(TimeUnit::Microsecond, zone) => {
            ScalarValue::TimestampMicrosecond(value, zone.clone())
        }
        DataType::Timestamp(TimeUnit::Nanosecond, zone) => {
            ScalarValue::TimestampNanosecond(value, zone.clone())
        }
        _ => ScalarValue::Int64(value),
    }
}

pub(super) fn integer(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::Int8(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int16(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int32(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int64(Some(v)) => Some(*v),
        ScalarValue::UInt8(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt16(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt32(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt64(Some(v)) => i64::try_from(*v).ok(),
        _ => None,
    }
}

pub(super) fn contains_map(data_type: &DataType) -> bool {
    match data_type {
        DataType::Map(_, _) => true,
        DataType::List(field) => contains_map(field.data_type()),
        DataType::Struct(fields) => fields.iter().any(|field| contains_map(field.data_type())),
        _ => false,
    }
}
