//! Compact binary codec for aggregate states: varints, floats and `ScalarValue`s of any Eddy
//! type (nested arrays, structs and maps included).
//!
//! Values are written against a type both sides know, so no type tags: a presence byte
//! (0 = null) then the value. Integers are zigzag varints, strings and bytes are
//! length-prefixed. `canonical_key` gives equal values equal bytes (maps compare as sets of
//! entries, as in ksqlDB), for COLLECT_SET and COUNT_DISTINCT.

use std::sync::Arc;

use arrow::array::ListArray;
use arrow::array::{
    Array, ArrayRef, AsArray, MapArray, StructArray, new_empty_array, new_null_array,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, Time32MillisecondType, Time32SecondType, Time64MicrosecondType,
    Time64NanosecondType, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use datafusion::common::ScalarValue;

use crate::{ExecError, Result};

/// Appends `value` as an LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads an LEB128 varint.
pub fn get_varint(input: &mut &[u8]) -> Result<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = take_byte(input)?;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(corrupt("varint too long"))
}

/// Appends a signed integer as a zigzag varint.
pub fn put_signed(out: &mut Vec<u8>, value: i64) {
    put_varint(out, ((value << 1) ^ (value >> 63)) as u64);
}

/// Reads a zigzag varint.
pub fn get_signed(input: &mut &[u8]) -> Result<i64> {
    let raw = get_varint(input)?;
    Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
}

/// Appends an `i128` (decimal unscaled value) as a zigzag varint.
pub fn put_i128(out: &mut Vec<u8>, value: i128) {
    let mut raw = ((value << 1) ^ (value >> 127)) as u128;
    while raw >= 0x80 {
        out.push((raw as u8) | 0x80);
        raw >>= 7;
    }
    out.push(raw as u8);
}

/// Reads an `i128` written by `put_i128`.
pub fn get_i128(input: &mut &[u8]) -> Result<i128> {
    let mut raw = 0u128;
    for shift in (0..128).step_by(7) {
        let byte = take_byte(input)?;
        raw |= u128::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(((raw >> 1) as i128) ^ -((raw & 1) as i128));
        }
    }
    Err(corrupt("varint too long"))
}

/// Appends a double (8 bytes, little-endian).
pub fn put_f64(out: &mut Vec<u8>, value: f64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Reads a double written by `put_f64`.
pub fn get_f64(input: &mut &[u8]) -> Result<f64> {
    let bytes = take(input, 8)?;
    let mut array = [0u8; 8];
    array.copy_from_slice(bytes);
    Ok(f64::from_le_bytes(array))
}

/// Appends length-prefixed bytes.
pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Reads length-prefixed bytes.
pub fn get_bytes<'a>(input: &mut &'a [u8]) -> Result<&'a [u8]> {
    let len = usize::try_from(get_varint(input)?).map_err(|_| corrupt("length too large"))?;
    take(input, len)
}

/// Reads one byte.
pub fn take_byte(input: &mut &[u8]) -> Result<u8> {
    let (&byte, rest) = input
        .split_first()
        .ok_or_else(|| corrupt("truncated state"))?;
    *input = rest;
    Ok(byte)
}

fn take<'a>(input: &mut &'a [u8], len: usize) -> Result<&'a [u8]> {
    if input.len() < len {
        return Err(corrupt("truncated state"));
    }
    let (bytes, rest) = input.split_at(len);
    *input = rest;
    Ok(bytes)
}

fn corrupt(what: &str) -> ExecError {
    ExecError::Internal(format!("corrupt aggregate state: {what}"))
}

/// True when values of `data_type` can be encoded.
pub fn is_supported(data_type: &DataType) -> bool {
    match data_type {
        DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(_, _)
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::Date32
        | DataType::Time32(_)
        | DataType::Time64(_)
        | DataType::Timestamp(_, _) => true,
        DataType::List(field) => is_supported(field.data_type()),
        DataType::Struct(fields) => fields.iter().all(|field| is_supported(field.data_type())),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(fields) if fields.len() == 2 => {
                fields.iter().all(|field| is_supported(field.data_type()))
            }
            _ => false,
        },
        _ => false,
    }
}

/// Appends `value` (of a type `is_supported` accepts; others are written as null).
pub fn encode_scalar(value: &ScalarValue, out: &mut Vec<u8>) {
    encode_value(value, out, false);
}

/// Bytes that are equal exactly when two values are equal the way ksqlDB compares them
/// (Java `equals`): map entries in any order are the same map.
pub fn canonical_key(value: &ScalarValue) -> Vec<u8> {
    let mut out = Vec::new();
    encode_value(value, &mut out, true);
    out
}

fn encode_value(value: &ScalarValue, out: &mut Vec<u8>, canonical: bool) {
    use ScalarValue as S;
    if value.is_null() {
        out.push(0);
        return;
    }
    match value {
        S::List(array) => return encode_row(array.as_ref(), 0, out, canonical),
        S::Struct(array) => return encode_row(array.as_ref(), 0, out, canonical),
        S::Map(array) => return encode_row(array.as_ref(), 0, out, canonical),
        _ => {}
    }
    let start = out.len();
    out.push(1);
    match value {
        S::Boolean(Some(v)) => out.push(u8::from(*v)),
        S::Int8(Some(v)) => put_signed(out, i64::from(*v)),
        S::Int16(Some(v)) => put_signed(out, i64::from(*v)),
        S::Int32(Some(v)) | S::Date32(Some(v)) => put_signed(out, i64::from(*v)),
        S::Time32Second(Some(v)) | S::Time32Millisecond(Some(v)) => put_signed(out, i64::from(*v)),
        S::Int64(Some(v))
        | S::Time64Microsecond(Some(v))
        | S::Time64Nanosecond(Some(v))
        | S::TimestampSecond(Some(v), _)
        | S::TimestampMillisecond(Some(v), _)
        | S::TimestampMicrosecond(Some(v), _)
        | S::TimestampNanosecond(Some(v), _) => put_signed(out, *v),
        S::UInt8(Some(v)) => put_varint(out, u64::from(*v)),
        S::UInt16(Some(v)) => put_varint(out, u64::from(*v)),
        S::UInt32(Some(v)) => put_varint(out, u64::from(*v)),
        S::UInt64(Some(v)) => put_varint(out, *v),
        S::Float32(Some(v)) => put_f64(out, canonical_float(f64::from(*v), canonical)),
        S::Float64(Some(v)) => put_f64(out, canonical_float(*v, canonical)),
        S::Decimal128(Some(v), _, _) => put_i128(out, *v),
        S::Utf8(Some(v)) | S::LargeUtf8(Some(v)) | S::Utf8View(Some(v)) => {
            put_bytes(out, v.as_bytes())
        }
        S::Binary(Some(v)) | S::LargeBinary(Some(v)) | S::BinaryView(Some(v)) => put_bytes(out, v),
        _ => {
            out.truncate(start);
            out.push(0);
        }
    }
}

fn canonical_float(value: f64, canonical: bool) -> f64 {
    if canonical && value.is_nan() {
        f64::NAN
    } else {
        value
    }
}

/// Appends row `row` of `array`.
fn encode_row(array: &dyn Array, row: usize, out: &mut Vec<u8>, canonical: bool) {
    if array.is_null(row) || !is_supported(array.data_type()) {
        out.push(0);
        return;
    }
    out.push(1);
    match array.data_type() {
        DataType::Boolean => out.push(u8::from(array.as_boolean().value(row))),
        DataType::Int8 => put_signed(out, array.as_primitive::<Int8Type>().value(row).into()),
        DataType::Int16 => put_signed(out, array.as_primitive::<Int16Type>().value(row).into()),
        DataType::Int32 => put_signed(out, array.as_primitive::<Int32Type>().value(row).into()),
        DataType::Int64 => put_signed(out, array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => put_varint(out, array.as_primitive::<UInt8Type>().value(row).into()),
        DataType::UInt16 => put_varint(out, array.as_primitive::<UInt16Type>().value(row).into()),
        DataType::UInt32 => put_varint(out, array.as_primitive::<UInt32Type>().value(row).into()),
        DataType::UInt64 => put_varint(out, array.as_primitive::<UInt64Type>().value(row)),
        DataType::Float32 => {
            let value = f64::from(array.as_primitive::<Float32Type>().value(row));
            put_f64(out, canonical_float(value, canonical))
        }
        DataType::Float64 => {
            let value = array.as_primitive::<Float64Type>().value(row);
            put_f64(out, canonical_float(value, canonical))
        }
        DataType::Decimal128(_, _) => {
            put_i128(out, array.as_primitive::<Decimal128Type>().value(row))
        }
        DataType::Utf8 => put_bytes(out, array.as_string::<i32>().value(row).as_bytes()),
        DataType::LargeUtf8 => put_bytes(out, array.as_string::<i64>().value(row).as_bytes()),
        DataType::Utf8View => put_bytes(out, array.as_string_view().value(row).as_bytes()),
        DataType::Binary => put_bytes(out, array.as_binary::<i32>().value(row)),
        DataType::LargeBinary => put_bytes(out, array.as_binary::<i64>().value(row)),
        DataType::BinaryView => put_bytes(out, array.as_binary_view().value(row)),
        DataType::Date32 => put_signed(out, array.as_primitive::<Date32Type>().value(row).into()),
        DataType::Time32(TimeUnit::Second) => put_signed(
            out,
            array.as_primitive::<Time32SecondType>().value(row).into(),
        ),
        DataType::Time32(_) => put_signed(
            out,
            array
                .as_primitive::<Time32MillisecondType>()
                .value(row)
                .into(),
        ),
        DataType::Time64(TimeUnit::Microsecond) => put_signed(
            out,
            array.as_primitive::<Time64MicrosecondType>().value(row),
        ),
        DataType::Time64(_) => {
            put_signed(out, array.as_primitive::<Time64NanosecondType>().value(row))
        }
        DataType::Timestamp(unit, _) => put_signed(out, timestamp_value(array, *unit, row)),
        DataType::List(_) => {
            let values = array.as_list::<i32>().value(row);
            put_varint(out, values.len() as u64);
            for index in 0..values.len() {
                encode_row(values.as_ref(), index, out, canonical);
            }
        }
        DataType::Struct(_) => {
            for column in array.as_struct().columns() {
                encode_row(column.as_ref(), row, out, canonical);
            }
        }
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            put_varint(out, entries.len() as u64);
            let (keys, values) = (entries.column(0), entries.column(1));
            if canonical {
                let mut encoded: Vec<Vec<u8>> = (0..entries.len())
                    .map(|index| {
                        let mut entry = Vec::new();
                        encode_row(keys.as_ref(), index, &mut entry, true);
                        encode_row(values.as_ref(), index, &mut entry, true);
                        entry
                    })
                    .collect();
                encoded.sort_unstable();
                encoded
                    .iter()
                    .for_each(|entry| out.extend_from_slice(entry));
            } else {
                for index in 0..entries.len() {
                    encode_row(keys.as_ref(), index, out, false);
                    encode_row(values.as_ref(), index, out, false);
                }
            }
        }
        // `is_supported` was checked above.
        _ => {}
    }
}

fn timestamp_value(array: &dyn Array, unit: TimeUnit, row: usize) -> i64 {
    match unit {
        TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row),
        TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().value(row),
        TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().value(row),
        TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(row),
    }
}

/// Reads a value of `data_type` written by `encode_scalar`.
pub fn decode_scalar(data_type: &DataType, input: &mut &[u8]) -> Result<ScalarValue> {
    use ScalarValue as S;
    if take_byte(input)? == 0 {
        return Ok(ScalarValue::try_from(data_type)?);
    }
    Ok(match data_type {
        DataType::Boolean => S::Boolean(Some(take_byte(input)? != 0)),
        DataType::Int8 => S::Int8(Some(narrow(get_signed(input)?)?)),
        DataType::Int16 => S::Int16(Some(narrow(get_signed(input)?)?)),
        DataType::Int32 => S::Int32(Some(narrow(get_signed(input)?)?)),
        DataType::Int64 => S::Int64(Some(get_signed(input)?)),
        DataType::UInt8 => S::UInt8(Some(narrow(get_varint(input)?)?)),
        DataType::UInt16 => S::UInt16(Some(narrow(get_varint(input)?)?)),
        DataType::UInt32 => S::UInt32(Some(narrow(get_varint(input)?)?)),
        DataType::UInt64 => S::UInt64(Some(get_varint(input)?)),
        DataType::Float32 => S::Float32(Some(get_f64(input)? as f32)),
        DataType::Float64 => S::Float64(Some(get_f64(input)?)),
        DataType::Decimal128(precision, scale) => {
            S::Decimal128(Some(get_i128(input)?), *precision, *scale)
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let text = std::str::from_utf8(get_bytes(input)?)
                .map_err(|_| corrupt("invalid utf-8"))?
                .to_string();
            match data_type {
                DataType::Utf8 => S::Utf8(Some(text)),
                DataType::LargeUtf8 => S::LargeUtf8(Some(text)),
                _ => S::Utf8View(Some(text)),
            }
        }
        DataType::Binary => S::Binary(Some(get_bytes(input)?.to_vec())),
        DataType::LargeBinary => S::LargeBinary(Some(get_bytes(input)?.to_vec())),
        DataType::BinaryView => S::BinaryView(Some(get_bytes(input)?.to_vec())),
        DataType::Date32 => S::Date32(Some(narrow(get_signed(input)?)?)),
        DataType::Time32(TimeUnit::Second) => S::Time32Second(Some(narrow(get_signed(input)?)?)),
        DataType::Time32(_) => S::Time32Millisecond(Some(narrow(get_signed(input)?)?)),
        DataType::Time64(TimeUnit::Microsecond) => S::Time64Microsecond(Some(get_signed(input)?)),
        DataType::Time64(_) => S::Time64Nanosecond(Some(get_signed(input)?)),
        DataType::Timestamp(unit, zone) => {
            let value = Some(get_signed(input)?);
            let zone = zone.clone();
            match unit {
                TimeUnit::Second => S::TimestampSecond(value, zone),
                TimeUnit::Millisecond => S::TimestampMillisecond(value, zone),
                TimeUnit::Microsecond => S::TimestampMicrosecond(value, zone),
                TimeUnit::Nanosecond => S::TimestampNanosecond(value, zone),
            }
        }
        DataType::List(_) | DataType::Struct(_) | DataType::Map(_, _) => {
            let array = decode_nested(data_type, input)?;
            ScalarValue::try_from_array(array.as_ref(), 0)?
        }
        other => {
            return Err(ExecError::Internal(format!(
                "aggregate state of unsupported type {other}"
            )));
        }
    })
}

fn narrow<T: TryFrom<V>, V>(value: V) -> Result<T> {
    T::try_from(value).map_err(|_| corrupt("integer out of range"))
}

/// Reads one value (presence byte included) as a one-row array.
fn decode_row(data_type: &DataType, input: &mut &[u8]) -> Result<ArrayRef> {
    match data_type {
        DataType::List(_) | DataType::Struct(_) | DataType::Map(_, _) => {
            if input.first() == Some(&0) {
                take_byte(input)?;
                return Ok(new_null_array(data_type, 1));
            }
            take_byte(input)?;
            decode_nested(data_type, input)
        }
        _ => Ok(decode_scalar(data_type, input)?.to_array()?),
    }
}

/// Reads the body (after the presence byte) of a present nested value as a one-row array.
fn decode_nested(data_type: &DataType, input: &mut &[u8]) -> Result<ArrayRef> {
    Ok(match data_type {
        DataType::List(field) => {
            let len = get_len(input)?;
            let values = decode_rows(field.data_type(), len, input)?;
            Arc::new(ListArray::try_new(
                Arc::clone(field),
                OffsetBuffer::from_lengths([len]),
                values,
                None,
            )?)
        }
        DataType::Struct(fields) => {
            let columns = fields
                .iter()
                .map(|field| decode_row(field.data_type(), input))
                .collect::<Result<Vec<_>>>()?;
            Arc::new(StructArray::try_new_with_length(
                fields.clone(),
                columns,
                None,
                1,
            )?)
        }
        DataType::Map(entries_field, ordered) => {
            let DataType::Struct(fields) = entries_field.data_type() else {
                return Err(corrupt("map entries are not a struct"));
            };
            if fields.len() != 2 {
                return Err(corrupt("map entries do not have two fields"));
            }
            let len = get_len(input)?;
            let mut keys = Vec::with_capacity(len);
            let mut values = Vec::with_capacity(len);
            for _ in 0..len {
                keys.push(decode_row(fields[0].data_type(), input)?);
                values.push(decode_row(fields[1].data_type(), input)?);
            }
            let entries = StructArray::try_new_with_length(
                fields.clone(),
                vec![
                    concat_rows(fields[0].data_type(), &keys)?,
                    concat_rows(fields[1].data_type(), &values)?,
                ],
                None,
                len,
            )?;
            Arc::new(MapArray::try_new(
                Arc::clone(entries_field),
                OffsetBuffer::from_lengths([len]),
                entries,
                None,
                *ordered,
            )?)
        }
        other => decode_scalar(other, input)?.to_array()?,
    })
}

fn get_len(input: &mut &[u8]) -> Result<usize> {
    let len = usize::try_from(get_varint(input)?).map_err(|_| corrupt("length too large"))?;
    // Every element takes at least one byte: reject lengths the input cannot hold.
    if len > input.len() {
        return Err(corrupt("length past the end"));
    }
    Ok(len)
}

fn decode_rows(data_type: &DataType, len: usize, input: &mut &[u8]) -> Result<ArrayRef> {
    let rows = (0..len)
        .map(|_| decode_row(data_type, input))
        .collect::<Result<Vec<_>>>()?;
    concat_rows(data_type, &rows)
}

fn concat_rows(data_type: &DataType, rows: &[ArrayRef]) -> Result<ArrayRef> {
    if rows.is_empty() {
        return Ok(new_empty_array(data_type));
    }
    let refs: Vec<&dyn Array> = rows.iter().map(|row| row.as_ref()).collect();
    Ok(arrow::compute::concat(&refs)?)
}

#[cfg(test)]
mod tests;
