//! Aggregates that keep values by order: MIN and MAX (with ksqlDB's byte and string
//! comparisons) and TOPK/TOPKDISTINCT.

use std::cmp::Ordering;

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::DataType;
use datafusion::common::ScalarValue;

use super::values::{bytes_value, decimal_value, float_value, int_scalar, int_value};
use super::{AggState, AggregateFunction};

impl AggregateFunction {
    pub(super) fn add_extreme(
        &self,
        max: bool,
        state: &mut AggState,
        array: &dyn Array,
        row: usize,
    ) {
        let wanted = if max {
            Ordering::Greater
        } else {
            Ordering::Less
        };
        match state {
            AggState::ExtremeInt(current) => {
                if let Some(value) = int_value(array, row)
                    && current.is_none_or(|current| value.cmp(&current) == wanted)
                {
                    *current = Some(value);
                }
            }
            AggState::ExtremeFloat(current) => {
                if let Some(value) = float_value(array, row)
                    && current.is_none_or(|current| value.total_cmp(&current) == wanted)
                {
                    *current = Some(value);
                }
            }
            AggState::ExtremeDecimal(current) => {
                if let Some(value) = decimal_value(array, row)
                    && current.is_none_or(|current| value.cmp(&current) == wanted)
                {
                    *current = Some(value);
                }
            }
            AggState::ExtremeBytes(current) => {
                let binary = matches!(array.data_type(), DataType::Binary);
                if let Some(value) = bytes_value(array, row) {
                    let replace = match current {
                        None => true,
                        Some(current) => compare_bytes(value, current, binary) == wanted,
                    };
                    if replace {
                        let buffer = current.get_or_insert_with(Vec::new);
                        buffer.clear();
                        buffer.extend_from_slice(value);
                    }
                }
            }
            _ => {}
        }
    }

    pub(super) fn extreme_result(&self, state: &AggState) -> ScalarValue {
        let data_type = self.arg_types.first().unwrap_or(&DataType::Null);
        match state {
            AggState::ExtremeInt(value) => int_scalar(data_type, *value),
            AggState::ExtremeFloat(value) => ScalarValue::Float64(*value),
            AggState::ExtremeDecimal(value) => match data_type {
                DataType::Decimal128(precision, scale) => {
                    ScalarValue::Decimal128(*value, *precision, *scale)
                }
                _ => self.null_result(),
            },
            AggState::ExtremeBytes(value) => match data_type {
                DataType::Utf8 => ScalarValue::Utf8(
                    value
                        .as_ref()
                        .map(|bytes| String::from_utf8_lossy(bytes).into_owned()),
                ),
                _ => ScalarValue::Binary(value.clone()),
            },
            _ => self.null_result(),
        }
    }

    /// TOPK / TOPKDISTINCT: inserts the row after every entry that sorts at or above it
    /// (ties keep arrival order), dropping the smallest past `k`.
    pub(super) fn add_top(
        &self,
        k: usize,
        distinct: bool,
        values: &mut Vec<ScalarValue>,
        args: &[ArrayRef],
        row: usize,
    ) {
        let width = args.len().max(1);
        let Some(sort) = self.value(args.first().map(|array| array.as_ref()), row) else {
            return;
        };
        if sort.is_null() {
            return;
        }
        let rows = values.len() / width;
        if rows == k
            && values
                .get((rows - 1) * width)
                .is_some_and(|last| compare(&sort, last) != Ordering::Greater)
        {
            return;
        }
        if distinct
            && values
                .iter()
                .step_by(width)
                .any(|existing| *existing == sort)
        {
            return;
        }
        if rows == k {
            values.truncate((rows - 1) * width);
        }
        let position = values
            .iter()
            .step_by(width)
            .position(|existing| compare(existing, &sort) == Ordering::Less)
            .unwrap_or(values.len() / width)
            * width;
        let mut entry = Vec::with_capacity(width);
        entry.push(sort);
        for arg in &args[1..] {
            entry.push(ScalarValue::try_from_array(arg.as_ref(), row).unwrap_or(ScalarValue::Null));
        }
        values.splice(position..position, entry);
    }

    pub(super) fn merge_top(
        &self,
        k: usize,
        distinct: bool,
        a: &[ScalarValue],
        b: &[ScalarValue],
    ) -> Vec<ScalarValue> {
        let width = self.arg_types.len().max(1);
        let mut merged = Vec::with_capacity(a.len() + b.len());
        let (mut left, mut right) = (a.chunks(width).peekable(), b.chunks(width).peekable());
        while merged.len() / width < k {
            let next = match (left.peek(), right.peek()) {
                (Some(l), Some(r)) => match compare(&l[0], &r[0]) {
                    Ordering::Less => right.next(),
                    Ordering::Equal if distinct => {
                        right.next();
                        left.next()
                    }
                    _ => left.next(),
                },
                (Some(_), None) => left.next(),
                (None, Some(_)) => right.next(),
                (None, None) => None,
            };
            let Some(entry) = next else {
                break;
            };
            merged.extend_from_slice(entry);
        }
        merged
    }
}

pub(super) fn merge_extreme(max: bool, binary: bool, into: &mut AggState, other: &AggState) {
    let wanted = if max {
        Ordering::Greater
    } else {
        Ordering::Less
    };
    match (into, other) {
        (AggState::ExtremeInt(a), AggState::ExtremeInt(Some(b)))
            if a.is_none_or(|a| b.cmp(&a) == wanted) =>
        {
            *a = Some(*b)
        }
        (AggState::ExtremeFloat(a), AggState::ExtremeFloat(Some(b)))
            if a.is_none_or(|a| b.total_cmp(&a) == wanted) =>
        {
            *a = Some(*b)
        }
        (AggState::ExtremeDecimal(a), AggState::ExtremeDecimal(Some(b)))
            if a.is_none_or(|a| b.cmp(&a) == wanted) =>
        {
            *a = Some(*b)
        }
        (AggState::ExtremeBytes(a), AggState::ExtremeBytes(Some(b)))
            if a.as_ref()
                .is_none_or(|a| compare_bytes(b, a, binary) == wanted) =>
        {
            *a = Some(b.clone())
        }
        _ => {}
    }
}

/// Java's `ByteBuffer.compareTo` compares signed bytes; strings compare by code point.
fn compare_bytes(a: &[u8], b: &[u8], signed: bool) -> Ordering {
    if signed {
        a.iter()
            .map(|byte| *byte as i8)
            .cmp(b.iter().map(|byte| *byte as i8))
    } else {
        a.cmp(b)
    }
}

/// Orders TOPK values (same type); incomparable values count as equal.
fn compare(a: &ScalarValue, b: &ScalarValue) -> Ordering {
    match (a, b) {
        (ScalarValue::Float64(Some(a)), ScalarValue::Float64(Some(b))) => a.total_cmp(b),
        (ScalarValue::Binary(Some(a)), ScalarValue::Binary(Some(b))) => compare_bytes(a, b, true),
        _ => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    }
}
