//! Arrow columns downcast once per batch, for the schema-driven encoders (AVRO, PROTOBUF):
//! any row's value as a `Scalar`, or its nested children.

use arrow::array::{Array, AsArray, BinaryArray, BooleanArray, StringArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float64Type, Int32Type, Int64Type, Time32MillisecondType,
    TimeUnit, TimestampMillisecondType,
};

use super::scalar::Scalar;
use crate::{ExecError, Result};

/// One column of a batch, downcast.
pub(super) struct ArrowView<'a> {
    nulls: Option<&'a NullBuffer>,
    pub(super) values: ViewValues<'a>,
}

pub(super) enum ViewValues<'a> {
    Boolean(&'a BooleanArray),
    Int(&'a [i32]),
    Date(&'a [i32]),
    Time(&'a [i32]),
    Bigint(&'a [i64]),
    Timestamp(&'a [i64]),
    Double(&'a [f64]),
    Decimal(&'a [i128], i8),
    Utf8(&'a StringArray),
    Binary(&'a BinaryArray),
    /// Offsets into the items (one more than rows).
    List(&'a [i32], Box<ArrowView<'a>>),
    /// Offsets into the entries, keys, values.
    Map(&'a [i32], Box<ArrowView<'a>>, Box<ArrowView<'a>>),
    /// Field names and columns.
    Struct(Vec<(&'a str, ArrowView<'a>)>),
}

impl<'a> ArrowView<'a> {
    pub(super) fn new(array: &'a dyn Array) -> Result<Self> {
        let mismatch = || {
            ExecError::Internal(format!(
                "encoder got a {} array it cannot write",
                array.data_type()
            ))
        };
        let values = match array.data_type() {
            DataType::Boolean => ViewValues::Boolean(array.as_boolean_opt().ok_or_else(mismatch)?),
            DataType::Int32 => ViewValues::Int(
                array
                    .as_primitive_opt::<Int32Type>()
                    .ok_or_else(mismatch)?
                    .values(),
            ),
            DataType::Date32 => ViewValues::Date(
                array
                    .as_primitive_opt::<Date32Type>()
                    .ok_or_else(mismatch)?
                    .values(),
            ),
            DataType::Time32(TimeUnit::Millisecond) => ViewValues::Time(
                array
                    .as_primitive_opt::<Time32MillisecondType>()
                    .ok_or_else(mismatch)?
                    .values(),
            ),
            DataType::Int64 => ViewValues::Bigint(
                array
                    .as_primitive_opt::<Int64Type>()
                    .ok_or_else(mismatch)?
                    .values(),
            ),
            DataType::Timestamp(TimeUnit::Millisecond, _) => ViewValues::Timestamp(
                array
                    .as_primitive_opt::<TimestampMillisecondType>()
                    .ok_or_else(mismatch)?
                    .values(),
            ),
            DataType::Float64 => ViewValues::Double(
                array
                    .as_primitive_opt::<Float64Type>()
                    .ok_or_else(mismatch)?
                    .values(),
            ),
            DataType::Decimal128(_, scale) => ViewValues::Decimal(
                array
                    .as_primitive_opt::<Decimal128Type>()
                    .ok_or_else(mismatch)?
                    .values(),
                *scale,
            ),
            DataType::Utf8 => ViewValues::Utf8(array.as_string_opt::<i32>().ok_or_else(mismatch)?),
            DataType::Binary => {
                ViewValues::Binary(array.as_binary_opt::<i32>().ok_or_else(mismatch)?)
            }
            DataType::List(_) => {
                let list = array.as_list_opt::<i32>().ok_or_else(mismatch)?;
                ViewValues::List(
                    list.value_offsets(),
                    Box::new(ArrowView::new(list.values().as_ref())?),
                )
            }
            DataType::Map(_, _) => {
                let map = array.as_map_opt().ok_or_else(mismatch)?;
                ViewValues::Map(
                    map.value_offsets(),
                    Box::new(ArrowView::new(map.keys().as_ref())?),
                    Box::new(ArrowView::new(map.values().as_ref())?),
                )
            }
            DataType::Struct(fields) => {
                let structure = array.as_struct_opt().ok_or_else(mismatch)?;
                ViewValues::Struct(
                    fields
                        .iter()
                        .zip(structure.columns())
                        .map(|(field, column)| {
                            Ok((field.name().as_str(), ArrowView::new(column.as_ref())?))
                        })
                        .collect::<Result<Vec<_>>>()?,
                )
            }
            _ => return Err(mismatch()),
        };
        Ok(Self {
            nulls: array.nulls(),
            values,
        })
    }

    pub(super) fn is_null(&self, row: usize) -> bool {
        self.nulls.is_some_and(|nulls| nulls.is_null(row))
    }

    /// The value of a non-nested column at `row` (`Null` for nulls and nested columns).
    pub(super) fn scalar(&self, row: usize) -> Scalar<'a> {
        if self.is_null(row) {
            return Scalar::Null;
        }
        match &self.values {
            ViewValues::Boolean(array) => Scalar::Bool(array.value(row)),
            ViewValues::Int(values) => Scalar::Int(i64::from(values[row])),
            ViewValues::Date(values) => Scalar::Date(values[row]),
            ViewValues::Time(values) => Scalar::Time(i64::from(values[row])),
            ViewValues::Bigint(values) => Scalar::Int(values[row]),
            ViewValues::Timestamp(values) => Scalar::Timestamp(values[row]),
            ViewValues::Double(values) => Scalar::Float(values[row]),
            ViewValues::Decimal(values, scale) => Scalar::Decimal(values[row], *scale),
            ViewValues::Utf8(array) => Scalar::Str(array.value(row)),
            ViewValues::Binary(array) => Scalar::Bytes(array.value(row)),
            ViewValues::List(..) | ViewValues::Map(..) | ViewValues::Struct(_) => Scalar::Null,
        }
    }

    /// The item range of a list or map value at `row`.
    pub(super) fn range(offsets: &[i32], row: usize) -> std::ops::Range<usize> {
        offsets[row] as usize..offsets[row + 1] as usize
    }
}
