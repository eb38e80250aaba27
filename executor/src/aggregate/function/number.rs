//! Running sums in Java arithmetic: `Number`, the argument widths of SUM, AVG and STDDEV, and
//! the update rules of STDDEV and CORRELATION.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::DataType;
use datafusion::common::ScalarValue;

use super::AggState;
use super::values::{float_value, int_value};

/// A running sum, integer or floating point depending on the argument type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

/// The numeric argument types of SUM, AVG, STDDEV: Java `int`, `long` or `double`
/// arithmetic (integers wrap around as in Java).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Width {
    Int,
    Bigint,
    Double,
}

impl Width {
    pub(super) fn of(data_type: &DataType) -> Option<Width> {
        match data_type {
            DataType::Int32 => Some(Width::Int),
            DataType::Int64 => Some(Width::Bigint),
            DataType::Float64 => Some(Width::Double),
            _ => None,
        }
    }

    pub(super) fn zero(self) -> Number {
        match self {
            Width::Double => Number::Float(0.0),
            _ => Number::Int(0),
        }
    }

    pub(super) fn add(self, sum: Number, value: Number) -> Number {
        match (self, sum, value) {
            (Width::Int, Number::Int(a), Number::Int(b)) => {
                Number::Int(i64::from((a as i32).wrapping_add(b as i32)))
            }
            (_, Number::Int(a), Number::Int(b)) => Number::Int(a.wrapping_add(b)),
            (_, a, b) => Number::Float(a.as_f64() + b.as_f64()),
        }
    }

    pub(super) fn sub(self, sum: Number, value: Number) -> Number {
        match value {
            Number::Int(b) => self.add(sum, Number::Int(b.wrapping_neg())),
            Number::Float(b) => self.add(sum, Number::Float(-b)),
        }
    }

    /// Reads row `row` of a numeric array of this width.
    pub(super) fn value(self, array: &dyn Array, row: usize) -> Option<Number> {
        match self {
            Width::Double => float_value(array, row).map(Number::Float),
            _ => int_value(array, row).map(Number::Int),
        }
    }

    pub(super) fn scalar(self, value: Number) -> ScalarValue {
        match (self, value) {
            (Width::Int, Number::Int(v)) => ScalarValue::Int32(Some(v as i32)),
            (Width::Bigint, Number::Int(v)) => ScalarValue::Int64(Some(v)),
            (_, v) => ScalarValue::Float64(Some(v.as_f64())),
        }
    }
}

impl Number {
    pub(super) fn as_f64(self) -> f64 {
        match self {
            Number::Int(v) => v as f64,
            Number::Float(v) => v,
        }
    }
}

pub(super) fn int_of(number: Number) -> i64 {
    match number {
        Number::Int(value) => value,
        Number::Float(value) => value as i64,
    }
}

pub(super) fn add_number(width: Width, state: &mut AggState, value: Number) {
    match state {
        AggState::Int(sum) => *sum = int_of(width.add(Number::Int(*sum), value)),
        AggState::Float(sum) => *sum += value.as_f64(),
        _ => {}
    }
}

/// SUM_LIST: the sum of a list's non-null elements.
pub(super) fn list_sum(width: Width, array: &dyn Array, row: usize) -> Option<Number> {
    let list = array.as_list_opt::<i32>()?;
    if list.is_null(row) {
        return None;
    }
    let values = list.value(row);
    let mut total = width.zero();
    for index in 0..values.len() {
        if let Some(value) = width.value(values.as_ref(), index) {
            total = width.add(total, value);
        }
    }
    Some(total)
}

/// ksqlDB's Youngs-Cramer delta `value * (count + 1) - (sum + value)`, in the Java
/// arithmetic of each variant (STDDEV_SAMP keeps an `int` count).
pub(super) fn stddev_delta(
    width: Width,
    sample: bool,
    sum: Number,
    count: i64,
    value: Number,
) -> f64 {
    match (width, sum, value) {
        (Width::Int, Number::Int(sum), Number::Int(value)) => {
            let (sum, value) = (sum as i32, value as i32);
            if sample {
                (i64::from(value) * (count + 1) - i64::from(sum.wrapping_add(value))) as f64
            } else {
                value
                    .wrapping_mul(count as i32 + 1)
                    .wrapping_sub(sum.wrapping_add(value)) as f64
            }
        }
        (Width::Bigint, Number::Int(sum), Number::Int(value)) => value
            .wrapping_mul(count + 1)
            .wrapping_sub(sum.wrapping_add(value))
            as f64,
        (_, sum, value) => value.as_f64() * (count + 1) as f64 - (sum.as_f64() + value.as_f64()),
    }
}

/// ksqlDB's merge term `sum1 / count1 - sum2 / count2` (integer division in STDDEV_SAMP).
pub(super) fn stddev_merge_inner(
    width: Width,
    sample: bool,
    a: (Number, i64),
    b: (Number, i64),
) -> f64 {
    match (width, sample, a, b) {
        (Width::Int | Width::Bigint, false, (Number::Int(s1), c1), (Number::Int(s2), c2)) => {
            (s1.wrapping_div(c1) - s2.wrapping_div(c2)) as f64
        }
        (_, _, (s1, c1), (s2, c2)) => s1.as_f64() / c1 as f64 - s2.as_f64() / c2 as f64,
    }
}

pub(super) fn pair(args: &[ArrayRef], row: usize) -> Option<(f64, f64)> {
    let x = float_value(args.first()?.as_ref(), row)?;
    let y = float_value(args.get(1)?.as_ref(), row)?;
    Some((x, y))
}

/// Adds (`sign` 1) or removes (`sign` -1) a point of CORRELATION.
pub(super) fn correlate(state: &mut AggState, px: f64, py: f64, sign: f64) {
    if let AggState::Correlation {
        x,
        y,
        xx,
        yy,
        xy,
        count,
    } = state
    {
        *x += sign * px;
        *y += sign * py;
        *xx += sign * px * px;
        *yy += sign * py * py;
        *xy += sign * px * py;
        *count += sign as i64;
    }
}

/// True when `|unscaled| >= 10^precision`: the sum no longer fits DECIMAL(precision, _).
pub(super) fn exceeds_precision(unscaled: i128, precision: u8) -> bool {
    10i128
        .checked_pow(u32::from(precision))
        .is_some_and(|limit| unscaled.unsigned_abs() >= limit.unsigned_abs())
}
