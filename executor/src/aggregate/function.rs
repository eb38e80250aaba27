//! ksqlDB aggregate functions at run time: one accumulator per resolved aggregate call.
//!
//! An `AggregateFunction` is built once from a planner `AggregateSignature` and shared; each
//! (group key, window) keeps one `AggState` per call, which rows are added to (streams),
//! retracted from (table changelogs), merged (session windows) and stored with
//! `encode`/`decode` (value codec in `super::codec`). Semantics follow ksqlDB's UDAFs,
//! including their null handling, Java integer wrap-around and undo rules.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, ListArray, MapArray, StringArray, StructArray,
    new_empty_array,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Field, Float32Type, Float64Type, Int8Type, Int16Type,
    Int32Type, Int64Type, Time32MillisecondType, Time32SecondType, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use datafusion::common::ScalarValue;
use planner::functions::aggregate::AggregateSignature;

use super::codec::{
    canonical_key, decode_scalar, encode_scalar, get_bytes, get_f64, get_i128, get_signed,
    get_varint, is_supported, put_bytes, put_f64, put_i128, put_signed, put_varint, take_byte,
};
use crate::{ExecError, Result};

/// HISTOGRAM keeps at most this many distinct values (ksqlDB's limit).
const HISTOGRAM_LIMIT: usize = 1000;

/// The accumulated state of one aggregate call for one group (and window).
#[derive(Debug, Clone, PartialEq)]
pub enum AggState {
    /// COUNT; SUM and SUM_LIST of INT and BIGINT.
    Int(i64),
    /// SUM and SUM_LIST of DOUBLE.
    Float(f64),
    /// SUM of DECIMAL; `overflow` once the sum left the type's precision.
    Decimal { sum: i128, overflow: bool },
    /// MIN/MAX of INT, BIGINT, DATE, TIME, TIMESTAMP.
    ExtremeInt(Option<i64>),
    /// MIN/MAX of DOUBLE.
    ExtremeFloat(Option<f64>),
    /// MIN/MAX of DECIMAL (unscaled).
    ExtremeDecimal(Option<i128>),
    /// MIN/MAX of STRING (UTF-8) and BYTES.
    ExtremeBytes(Option<Vec<u8>>),
    /// AVG.
    Average { sum: Number, count: i64 },
    /// STDDEV_SAMP, STDDEV_SAMPLE (Youngs-Cramer, as ksqlDB).
    Moments { sum: Number, count: i64, m2: f64 },
    /// CORRELATION.
    Correlation {
        x: f64,
        y: f64,
        xx: f64,
        yy: f64,
        xy: f64,
        count: i64,
    },
    /// COUNT_DISTINCT: canonical encodings of the distinct values.
    Distinct(BTreeSet<Vec<u8>>),
    /// COLLECT_LIST, COLLECT_SET, TOPKDISTINCT; TOPK as rows of its value arguments,
    /// flattened (sort value first).
    Values(Vec<ScalarValue>),
    /// EARLIEST_BY_OFFSET, LATEST_BY_OFFSET: (sequence, value), oldest first.
    Offsets(Vec<(u64, ScalarValue)>),
    /// HISTOGRAM, in first-seen order.
    Histogram(Vec<(String, i64)>),
}

/// A running sum, integer or floating point depending on the argument type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

/// The numeric argument types of SUM, AVG, STDDEV: Java `int`, `long` or `double`
/// arithmetic (integers wrap around as in Java).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Width {
    Int,
    Bigint,
    Double,
}

impl Width {
    fn of(data_type: &DataType) -> Option<Width> {
        match data_type {
            DataType::Int32 => Some(Width::Int),
            DataType::Int64 => Some(Width::Bigint),
            DataType::Float64 => Some(Width::Double),
            _ => None,
        }
    }

    fn zero(self) -> Number {
        match self {
            Width::Double => Number::Float(0.0),
            _ => Number::Int(0),
        }
    }

    fn add(self, sum: Number, value: Number) -> Number {
        match (self, sum, value) {
            (Width::Int, Number::Int(a), Number::Int(b)) => {
                Number::Int(i64::from((a as i32).wrapping_add(b as i32)))
            }
            (_, Number::Int(a), Number::Int(b)) => Number::Int(a.wrapping_add(b)),
            (_, a, b) => Number::Float(a.as_f64() + b.as_f64()),
        }
    }

    fn sub(self, sum: Number, value: Number) -> Number {
        match value {
            Number::Int(b) => self.add(sum, Number::Int(b.wrapping_neg())),
            Number::Float(b) => self.add(sum, Number::Float(-b)),
        }
    }

    /// Reads row `row` of a numeric array of this width.
    fn value(self, array: &dyn Array, row: usize) -> Option<Number> {
        match self {
            Width::Double => float_value(array, row).map(Number::Float),
            _ => int_value(array, row).map(Number::Int),
        }
    }

    fn scalar(self, value: Number) -> ScalarValue {
        match (self, value) {
            (Width::Int, Number::Int(v)) => ScalarValue::Int32(Some(v as i32)),
            (Width::Bigint, Number::Int(v)) => ScalarValue::Int64(Some(v)),
            (_, v) => ScalarValue::Float64(Some(v.as_f64())),
        }
    }
}

impl Number {
    fn as_f64(self) -> f64 {
        match self {
            Number::Int(v) => v as f64,
            Number::Float(v) => v,
        }
    }
}

/// What the function computes, compiled from the signature.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    CountRows,
    CountValues,
    Sum(Width),
    SumDecimal {
        precision: u8,
        scale: i8,
    },
    SumList(Width),
    Average(Width),
    /// `sample`: STDDEV_SAMPLE (the standard deviation); else STDDEV_SAMP, which ksqlDB
    /// computes as the sample variance.
    StdDev {
        width: Width,
        sample: bool,
    },
    Correlation,
    Extreme {
        max: bool,
        repr: Repr,
    },
    CountDistinct,
    CollectList,
    CollectSet,
    ByOffset {
        latest: bool,
        n: Option<usize>,
        ignore_nulls: bool,
    },
    TopK {
        k: usize,
        distinct: bool,
    },
    Histogram,
}

/// How MIN/MAX hold their value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Repr {
    Int,
    Float,
    Decimal,
    Bytes,
}

/// One compiled aggregate call; shared by all groups of the operator.
#[derive(Debug)]
pub struct AggregateFunction {
    kind: Kind,
    arg_types: Vec<DataType>,
    return_type: DataType,
    /// COLLECT_LIST / COLLECT_SET size limit.
    limit: usize,
    /// Values compare through `canonical_key` (they contain maps).
    canonical_equality: bool,
    /// Next sequence number of EARLIEST/LATEST_BY_OFFSET entries (ksqlDB's SEQ), so merged
    /// session states keep offset order. Raised past every decoded sequence.
    sequence: AtomicU64,
}

impl AggregateFunction {
    /// Compiles a resolved call.
    pub fn new(signature: &AggregateSignature) -> Result<Self> {
        let unsupported = || {
            ExecError::Internal(format!(
                "aggregate {}({}) is not supported",
                signature.name,
                signature
                    .arg_types
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        };
        if let Some(arg) = signature.arg_types.iter().find(|arg| !is_supported(arg)) {
            return Err(ExecError::Internal(format!(
                "aggregate {} over unsupported type {arg}",
                signature.name
            )));
        }
        let first = signature.arg_types.first();
        let width = first.and_then(Width::of);
        let kind = match signature.name.as_str() {
            "COUNT" if first.is_none() => Kind::CountRows,
            "COUNT" => Kind::CountValues,
            "SUM" => match first {
                Some(DataType::Decimal128(precision, scale)) => Kind::SumDecimal {
                    precision: *precision,
                    scale: *scale,
                },
                _ => Kind::Sum(width.ok_or_else(unsupported)?),
            },
            "SUM_LIST" => match first {
                Some(DataType::List(field)) => {
                    Kind::SumList(Width::of(field.data_type()).ok_or_else(unsupported)?)
                }
                _ => return Err(unsupported()),
            },
            "AVG" => Kind::Average(width.ok_or_else(unsupported)?),
            "STDDEV_SAMP" | "STDDEV_SAMPLE" => Kind::StdDev {
                width: width.ok_or_else(unsupported)?,
                sample: signature.name == "STDDEV_SAMPLE",
            },
            "CORRELATION" => Kind::Correlation,
            "MIN" | "MAX" => Kind::Extreme {
                max: signature.name == "MAX",
                repr: match first {
                    Some(DataType::Float64) => Repr::Float,
                    Some(DataType::Decimal128(_, _)) => Repr::Decimal,
                    Some(DataType::Utf8 | DataType::Binary) => Repr::Bytes,
                    Some(
                        DataType::Int32
                        | DataType::Int64
                        | DataType::Date32
                        | DataType::Time32(_)
                        | DataType::Timestamp(_, _),
                    ) => Repr::Int,
                    _ => return Err(unsupported()),
                },
            },
            "COUNT_DISTINCT" => Kind::CountDistinct,
            "COLLECT_LIST" => Kind::CollectList,
            "COLLECT_SET" => Kind::CollectSet,
            "EARLIEST_BY_OFFSET" | "LATEST_BY_OFFSET" => {
                let mut n = None;
                let mut ignore_nulls = true;
                for param in &signature.params {
                    match (integer(param), param) {
                        (Some(count), _) => {
                            n = Some(usize::try_from(count).map_err(|_| unsupported())?)
                        }
                        (None, ScalarValue::Boolean(Some(flag))) => ignore_nulls = *flag,
                        _ => return Err(unsupported()),
                    }
                }
                Kind::ByOffset {
                    latest: signature.name == "LATEST_BY_OFFSET",
                    n,
                    ignore_nulls,
                }
            }
            "TOPK" | "TOPKDISTINCT" => {
                let k = signature
                    .params
                    .first()
                    .and_then(integer)
                    .and_then(|k| usize::try_from(k).ok())
                    .filter(|k| *k > 0)
                    .ok_or_else(unsupported)?;
                Kind::TopK {
                    k,
                    distinct: signature.name == "TOPKDISTINCT",
                }
            }
            "HISTOGRAM" => Kind::Histogram,
            _ => return Err(unsupported()),
        };
        Ok(AggregateFunction {
            kind,
            canonical_equality: first.is_some_and(contains_map),
            arg_types: signature.arg_types.clone(),
            return_type: signature.return_type.clone(),
            limit: usize::MAX,
            sequence: AtomicU64::new(0),
        })
    }

    /// Caps COLLECT_LIST / COLLECT_SET results at `limit` entries (the value of
    /// `AggregateSignature::limit_property`); negative means no limit, as in ksqlDB.
    pub fn with_limit(mut self, limit: i64) -> Self {
        self.limit = usize::try_from(limit).unwrap_or(usize::MAX);
        self
    }

    /// The state of a group that has seen no rows.
    pub fn init(&self) -> AggState {
        match &self.kind {
            Kind::CountRows | Kind::CountValues => AggState::Int(0),
            Kind::Sum(Width::Double) | Kind::SumList(Width::Double) => AggState::Float(0.0),
            Kind::Sum(_) | Kind::SumList(_) => AggState::Int(0),
            Kind::SumDecimal { .. } => AggState::Decimal {
                sum: 0,
                overflow: false,
            },
            Kind::Average(width) => AggState::Average {
                sum: width.zero(),
                count: 0,
            },
            Kind::StdDev { width, .. } => AggState::Moments {
                sum: width.zero(),
                count: 0,
                m2: 0.0,
            },
            Kind::Correlation => AggState::Correlation {
                x: 0.0,
                y: 0.0,
                xx: 0.0,
                yy: 0.0,
                xy: 0.0,
                count: 0,
            },
            Kind::Extreme { repr, .. } => match repr {
                Repr::Int => AggState::ExtremeInt(None),
                Repr::Float => AggState::ExtremeFloat(None),
                Repr::Decimal => AggState::ExtremeDecimal(None),
                Repr::Bytes => AggState::ExtremeBytes(None),
            },
            Kind::CountDistinct => AggState::Distinct(BTreeSet::new()),
            Kind::CollectList | Kind::CollectSet | Kind::TopK { .. } => {
                AggState::Values(Vec::new())
            }
            Kind::ByOffset { .. } => AggState::Offsets(Vec::new()),
            Kind::Histogram => AggState::Histogram(Vec::new()),
        }
    }

    /// Adds row `row` of the value-argument arrays (already cast to the signature's
    /// `arg_types`). Nulls are skipped the way ksqlDB skips them.
    pub fn add(&self, state: &mut AggState, args: &[ArrayRef], row: usize) {
        let arg = args.first().map(|array| array.as_ref());
        match (&self.kind, state) {
            (Kind::CountRows, AggState::Int(count)) => *count += 1,
            (Kind::CountValues, AggState::Int(count))
                if arg.is_some_and(|array| array.is_valid(row)) =>
            {
                *count += 1
            }
            (Kind::Sum(width), AggState::Int(sum)) => {
                if let Some(value) = arg.and_then(|array| int_value(array, row)) {
                    *sum = int_of(width.add(Number::Int(*sum), Number::Int(value)));
                }
            }
            (Kind::Sum(_), AggState::Float(sum)) => {
                if let Some(value) = arg.and_then(|array| float_value(array, row)) {
                    *sum += value;
                }
            }
            (Kind::SumDecimal { precision, .. }, AggState::Decimal { sum, overflow }) => {
                if let Some(value) = arg.and_then(|array| decimal_value(array, row)) {
                    match sum.checked_add(value) {
                        Some(total) if !exceeds_precision(total, *precision) => *sum = total,
                        _ => *overflow = true,
                    }
                }
            }
            (Kind::SumList(width), state) => {
                if let Some(total) = arg.and_then(|array| list_sum(*width, array, row)) {
                    add_number(*width, state, total);
                }
            }
            (Kind::Average(width), AggState::Average { sum, count }) => {
                if let Some(value) = arg.and_then(|array| width.value(array, row)) {
                    *sum = width.add(*sum, value);
                    *count += 1;
                }
            }
            (Kind::StdDev { width, sample }, AggState::Moments { sum, count, m2 }) => {
                if let Some(value) = arg.and_then(|array| width.value(array, row)) {
                    let new_count = *count + 1;
                    if *count > 0 {
                        let delta = stddev_delta(*width, *sample, *sum, *count, value);
                        *m2 += delta * delta / (new_count * (new_count - 1)) as f64;
                    }
                    *sum = width.add(*sum, value);
                    *count = new_count;
                }
            }
            (Kind::Correlation, state) => {
                if let Some((x, y)) = pair(args, row) {
                    correlate(state, x, y, 1.0);
                }
            }
            (Kind::Extreme { max, .. }, state) => {
                if let Some(array) = arg {
                    self.add_extreme(*max, state, array, row);
                }
            }
            (Kind::CountDistinct, AggState::Distinct(values)) => {
                if let Some(value) = self.value(arg, row)
                    && !value.is_null()
                {
                    values.insert(canonical_key(&value));
                }
            }
            (Kind::CollectList, AggState::Values(values)) => {
                if values.len() < self.limit
                    && let Some(value) = self.value(arg, row)
                {
                    values.push(value);
                }
            }
            (Kind::CollectSet, AggState::Values(values)) => {
                if values.len() < self.limit
                    && let Some(value) = self.value(arg, row)
                    && !self.contains(values, &value)
                {
                    values.push(value);
                }
            }
            (
                Kind::ByOffset {
                    latest,
                    n,
                    ignore_nulls,
                },
                AggState::Offsets(entries),
            ) => {
                let Some(value) = self.value(arg, row) else {
                    return;
                };
                if value.is_null() && *ignore_nulls {
                    return;
                }
                let keep = n.unwrap_or(1);
                if *latest {
                    entries.push((self.next_sequence(), value));
                    if entries.len() > keep {
                        entries.drain(..entries.len() - keep);
                    }
                } else if entries.len() < keep {
                    entries.push((self.next_sequence(), value));
                }
            }
            (Kind::TopK { k, distinct }, AggState::Values(values)) => {
                self.add_top(*k, *distinct, values, args, row);
            }
            (Kind::Histogram, AggState::Histogram(counts)) => {
                if let Some(key) = arg.and_then(|array| string_value(array, row)) {
                    histogram_add(counts, key, 1);
                }
            }
            // A state of another function: cannot happen, states are built by `init`.
            _ => {}
        }
    }

    /// Removes a row's earlier contribution (table aggregation: the old value of an updated
    /// or deleted row), as ksqlDB's `undo`. Functions ksqlDB cannot undo (MIN, MAX,
    /// COUNT_DISTINCT, COLLECT_SET, TOPK, TOPKDISTINCT, EARLIEST/LATEST_BY_OFFSET; refused
    /// on table sources by the planner) leave the state unchanged.
    pub fn retract(&self, state: &mut AggState, args: &[ArrayRef], row: usize) {
        let arg = args.first().map(|array| array.as_ref());
        match (&self.kind, state) {
            (Kind::CountRows, AggState::Int(count)) => *count -= 1,
            (Kind::CountValues, AggState::Int(count))
                if arg.is_some_and(|array| array.is_valid(row)) =>
            {
                *count -= 1
            }
            (Kind::Sum(width), AggState::Int(sum)) => {
                if let Some(value) = arg.and_then(|array| int_value(array, row)) {
                    *sum = int_of(width.sub(Number::Int(*sum), Number::Int(value)));
                }
            }
            (Kind::Sum(_), AggState::Float(sum)) => {
                if let Some(value) = arg.and_then(|array| float_value(array, row)) {
                    *sum -= value;
                }
            }
            (Kind::SumDecimal { .. }, AggState::Decimal { sum, .. }) => {
                if let Some(value) = arg.and_then(|array| decimal_value(array, row)) {
                    *sum = sum.saturating_sub(value);
                }
            }
            (Kind::SumList(width), state) => {
                if let Some(total) = arg.and_then(|array| list_sum(*width, array, row)) {
                    let negated = width.sub(width.zero(), total);
                    add_number(*width, state, negated);
                }
            }
            (Kind::Average(width), AggState::Average { sum, count }) => {
                if let Some(value) = arg.and_then(|array| width.value(array, row)) {
                    *sum = width.sub(*sum, value);
                    *count -= 1;
                }
            }
            (Kind::StdDev { width, sample }, AggState::Moments { sum, count, m2 }) => {
                if let Some(value) = arg.and_then(|array| width.value(array, row)) {
                    let new_count = *count - 1;
                    if new_count > 0 {
                        let delta = stddev_delta(*width, *sample, *sum, *count, value);
                        *m2 -= delta * delta / (new_count * (new_count + 1)) as f64;
                    }
                    *sum = width.sub(*sum, value);
                    *count = new_count;
                }
            }
            (Kind::Correlation, state) => {
                if let Some((x, y)) = pair(args, row) {
                    correlate(state, x, y, -1.0);
                }
            }
            (Kind::CollectList, AggState::Values(values)) => {
                if let Some(value) = self.value(arg, row)
                    && let Some(index) = values
                        .iter()
                        .rposition(|existing| self.same_value(existing, &value))
                {
                    values.remove(index);
                }
            }
            (Kind::Histogram, AggState::Histogram(counts)) => {
                if let Some(key) = arg.and_then(|array| string_value(array, row))
                    && let Some(index) = counts.iter().position(|(existing, _)| existing == key)
                {
                    counts[index].1 -= 1;
                    if counts[index].1 < 1 {
                        counts.remove(index);
                    }
                }
            }
            _ => {}
        }
    }

    /// Merges the state of a merged-away session into `into` (ksqlDB's `merge`; `into` is
    /// the earlier state).
    pub fn merge(&self, into: &mut AggState, other: &AggState) {
        match (&self.kind, into, other) {
            (Kind::Sum(width) | Kind::SumList(width), AggState::Int(a), AggState::Int(b)) => {
                *a = int_of(width.add(Number::Int(*a), Number::Int(*b)));
            }
            (_, AggState::Int(a), AggState::Int(b)) => *a = a.wrapping_add(*b),
            (_, AggState::Float(a), AggState::Float(b)) => *a += b,
            (
                Kind::SumDecimal { precision, .. },
                AggState::Decimal { sum, overflow },
                AggState::Decimal {
                    sum: other_sum,
                    overflow: other_overflow,
                },
            ) => match sum.checked_add(*other_sum) {
                Some(total) if !exceeds_precision(total, *precision) => {
                    *sum = total;
                    *overflow |= *other_overflow;
                }
                _ => *overflow = true,
            },
            (
                Kind::Average(width),
                AggState::Average { sum, count },
                AggState::Average {
                    sum: other_sum,
                    count: other_count,
                },
            ) => {
                *sum = width.add(*sum, *other_sum);
                *count += other_count;
            }
            (
                Kind::StdDev { width, sample },
                AggState::Moments { sum, count, m2 },
                AggState::Moments {
                    sum: other_sum,
                    count: other_count,
                    m2: other_m2,
                },
            ) => {
                let new_count = *count + other_count;
                let mut new_m2 = *m2 + other_m2;
                if *count != 0 && *other_count != 0 {
                    let inner = stddev_merge_inner(
                        *width,
                        *sample,
                        (*sum, *count),
                        (*other_sum, *other_count),
                    );
                    new_m2 += (*count * other_count) as f64 * inner * inner / new_count as f64;
                }
                *sum = width.add(*sum, *other_sum);
                *count = new_count;
                *m2 = new_m2;
            }
            (
                Kind::Correlation,
                AggState::Correlation {
                    x,
                    y,
                    xx,
                    yy,
                    xy,
                    count,
                },
                AggState::Correlation {
                    x: x2,
                    y: y2,
                    xx: xx2,
                    yy: yy2,
                    xy: xy2,
                    count: count2,
                },
            ) => {
                *x += x2;
                *y += y2;
                *xx += xx2;
                *yy += yy2;
                *xy += xy2;
                *count += count2;
            }
            (Kind::Extreme { max, .. }, into, other) => {
                let binary = self.arg_types.first() == Some(&DataType::Binary);
                merge_extreme(*max, binary, into, other)
            }
            (_, AggState::Distinct(a), AggState::Distinct(b)) => a.extend(b.iter().cloned()),
            (Kind::CollectList, AggState::Values(a), AggState::Values(b)) => {
                let room = self.limit.saturating_sub(a.len());
                a.extend(b.iter().take(room).cloned());
            }
            (Kind::CollectSet, AggState::Values(a), AggState::Values(b)) => {
                for value in b {
                    if a.len() >= self.limit {
                        break;
                    }
                    if !self.contains(a, value) {
                        a.push(value.clone());
                    }
                }
            }
            (Kind::TopK { k, distinct }, AggState::Values(a), AggState::Values(b)) => {
                *a = self.merge_top(*k, *distinct, a, b);
            }
            (Kind::ByOffset { latest, n, .. }, AggState::Offsets(a), AggState::Offsets(b)) => {
                a.extend(b.iter().cloned());
                a.sort_by_key(|(sequence, _)| *sequence);
                let keep = n.unwrap_or(1);
                if a.len() > keep {
                    if *latest {
                        a.drain(..a.len() - keep);
                    } else {
                        a.truncate(keep);
                    }
                }
            }
            (Kind::Histogram, AggState::Histogram(a), AggState::Histogram(b)) => {
                for (key, count) in b {
                    histogram_add(a, key, *count);
                }
            }
            _ => {}
        }
    }

    /// The aggregate's value, of the signature's return type.
    pub fn result(&self, state: &AggState) -> ScalarValue {
        match (&self.kind, state) {
            (Kind::CountRows | Kind::CountValues, AggState::Int(count)) => {
                ScalarValue::Int64(Some(*count))
            }
            (Kind::Sum(width) | Kind::SumList(width), AggState::Int(sum)) => {
                width.scalar(Number::Int(*sum))
            }
            (Kind::Sum(_) | Kind::SumList(_), AggState::Float(sum)) => {
                ScalarValue::Float64(Some(*sum))
            }
            (Kind::SumDecimal { precision, scale }, AggState::Decimal { sum, overflow }) => {
                ScalarValue::Decimal128((!overflow).then_some(*sum), *precision, *scale)
            }
            (Kind::Average(_), AggState::Average { sum, count }) => {
                let average = if *count == 0 {
                    0.0
                } else {
                    sum.as_f64() / *count as f64
                };
                ScalarValue::Float64(Some(average))
            }
            (Kind::StdDev { sample, .. }, AggState::Moments { count, m2, .. }) => {
                let value = if *count < 2 {
                    0.0
                } else if *sample {
                    (m2 / (*count - 1) as f64).sqrt()
                } else {
                    m2 / (*count - 1) as f64
                };
                ScalarValue::Float64(Some(value))
            }
            (
                Kind::Correlation,
                AggState::Correlation {
                    x,
                    y,
                    xx,
                    yy,
                    xy,
                    count,
                },
            ) => {
                let n = *count as f64;
                let numerator = n * xy - x * y;
                let denominator = ((n * xx - x * x) * (n * yy - y * y)).sqrt();
                ScalarValue::Float64(Some(numerator / denominator))
            }
            (Kind::Extreme { .. }, state) => self.extreme_result(state),
            (Kind::CountDistinct, AggState::Distinct(values)) => {
                ScalarValue::Int64(Some(values.len() as i64))
            }
            (Kind::CollectList | Kind::CollectSet, AggState::Values(values)) => {
                self.list_result(values)
            }
            (Kind::TopK { .. }, AggState::Values(values)) => self.top_result(values),
            (Kind::ByOffset { n, .. }, AggState::Offsets(entries)) => match n {
                None => match entries.first() {
                    Some((_, value)) => value.clone(),
                    None => self.null_result(),
                },
                Some(_) => {
                    let values: Vec<ScalarValue> =
                        entries.iter().map(|(_, value)| value.clone()).collect();
                    self.list_result(&values)
                }
            },
            (Kind::Histogram, AggState::Histogram(counts)) => self.histogram_result(counts),
            _ => self.null_result(),
        }
    }

    /// Fails when the state can no longer give a value and ksqlDB fails the query: a
    /// DECIMAL sum past its precision ("Numeric field overflow").
    pub fn check(&self, state: &AggState) -> Result<()> {
        match (&self.kind, state) {
            (Kind::SumDecimal { precision, scale }, AggState::Decimal { overflow: true, .. }) => {
                Err(ExecError::User(format!(
                    "Numeric field overflow: A field with precision {precision} and scale {scale} must round to an absolute value less than 10^{}",
                    i32::from(*precision) - i32::from(*scale)
                )))
            }
            _ => Ok(()),
        }
    }

    /// Appends the state's bytes.
    pub fn encode(&self, state: &AggState, out: &mut Vec<u8>) {
        match state {
            AggState::Int(value) => put_signed(out, *value),
            AggState::Float(value) => put_f64(out, *value),
            AggState::Decimal { sum, overflow } => {
                put_i128(out, *sum);
                out.push(u8::from(*overflow));
            }
            AggState::ExtremeInt(value) => {
                put_option(out, value.as_ref(), |out, v| put_signed(out, *v))
            }
            AggState::ExtremeFloat(value) => {
                put_option(out, value.as_ref(), |out, v| put_f64(out, *v))
            }
            AggState::ExtremeDecimal(value) => {
                put_option(out, value.as_ref(), |out, v| put_i128(out, *v))
            }
            AggState::ExtremeBytes(value) => {
                put_option(out, value.as_ref(), |out, v| put_bytes(out, v))
            }
            AggState::Average { sum, count } => {
                put_number(out, *sum);
                put_signed(out, *count);
            }
            AggState::Moments { sum, count, m2 } => {
                put_number(out, *sum);
                put_signed(out, *count);
                put_f64(out, *m2);
            }
            AggState::Correlation {
                x,
                y,
                xx,
                yy,
                xy,
                count,
            } => {
                for value in [x, y, xx, yy, xy] {
                    put_f64(out, *value);
                }
                put_signed(out, *count);
            }
            AggState::Distinct(values) => {
                put_varint(out, values.len() as u64);
                values.iter().for_each(|value| put_bytes(out, value));
            }
            AggState::Values(values) => {
                put_varint(out, values.len() as u64);
                values.iter().for_each(|value| encode_scalar(value, out));
            }
            AggState::Offsets(entries) => {
                put_varint(out, entries.len() as u64);
                for (sequence, value) in entries {
                    put_varint(out, *sequence);
                    encode_scalar(value, out);
                }
            }
            AggState::Histogram(counts) => {
                put_varint(out, counts.len() as u64);
                for (key, count) in counts {
                    put_bytes(out, key.as_bytes());
                    put_signed(out, *count);
                }
            }
        }
    }

    /// Reads a state written by `encode`, consuming exactly its bytes.
    pub fn decode(&self, input: &mut &[u8]) -> Result<AggState> {
        let state = match self.init() {
            AggState::Int(_) => AggState::Int(get_signed(input)?),
            AggState::Float(_) => AggState::Float(get_f64(input)?),
            AggState::Decimal { .. } => AggState::Decimal {
                sum: get_i128(input)?,
                overflow: take_byte(input)? != 0,
            },
            AggState::ExtremeInt(_) => AggState::ExtremeInt(get_option(input, get_signed)?),
            AggState::ExtremeFloat(_) => AggState::ExtremeFloat(get_option(input, get_f64)?),
            AggState::ExtremeDecimal(_) => AggState::ExtremeDecimal(get_option(input, get_i128)?),
            AggState::ExtremeBytes(_) => {
                AggState::ExtremeBytes(get_option(input, |input| Ok(get_bytes(input)?.to_vec()))?)
            }
            AggState::Average { sum, .. } => AggState::Average {
                sum: get_number(input, sum)?,
                count: get_signed(input)?,
            },
            AggState::Moments { sum, .. } => AggState::Moments {
                sum: get_number(input, sum)?,
                count: get_signed(input)?,
                m2: get_f64(input)?,
            },
            AggState::Correlation { .. } => AggState::Correlation {
                x: get_f64(input)?,
                y: get_f64(input)?,
                xx: get_f64(input)?,
                yy: get_f64(input)?,
                xy: get_f64(input)?,
                count: get_signed(input)?,
            },
            AggState::Distinct(_) => {
                let len = get_len(input)?;
                let mut values = BTreeSet::new();
                for _ in 0..len {
                    values.insert(get_bytes(input)?.to_vec());
                }
                AggState::Distinct(values)
            }
            AggState::Values(_) => {
                let len = get_len(input)?;
                let width = self.arg_types.len().max(1);
                let mut values = Vec::with_capacity(len);
                for index in 0..len {
                    let data_type = &self.arg_types[index % width];
                    values.push(decode_scalar(data_type, input)?);
                }
                AggState::Values(values)
            }
            AggState::Offsets(_) => {
                let len = get_len(input)?;
                let mut entries = Vec::with_capacity(len);
                for _ in 0..len {
                    let sequence = get_varint(input)?;
                    self.sequence
                        .fetch_max(sequence.saturating_add(1), AtomicOrdering::Relaxed);
                    entries.push((sequence, decode_scalar(&self.arg_types[0], input)?));
                }
                AggState::Offsets(entries)
            }
            AggState::Histogram(_) => {
                let len = get_len(input)?;
                let mut counts = Vec::with_capacity(len);
                for _ in 0..len {
                    let key = std::str::from_utf8(get_bytes(input)?)
                        .map_err(|_| ExecError::Internal("corrupt histogram state".into()))?
                        .to_string();
                    counts.push((key, get_signed(input)?));
                }
                AggState::Histogram(counts)
            }
        };
        Ok(state)
    }

    fn next_sequence(&self) -> u64 {
        self.sequence.fetch_add(1, AtomicOrdering::Relaxed)
    }

    /// Row `row` of the first argument as a value (None without an argument).
    fn value(&self, arg: Option<&dyn Array>, row: usize) -> Option<ScalarValue> {
        arg.and_then(|array| ScalarValue::try_from_array(array, row).ok())
    }

    /// Java `equals` of two collected values.
    fn same_value(&self, a: &ScalarValue, b: &ScalarValue) -> bool {
        if self.canonical_equality {
            canonical_key(a) == canonical_key(b)
        } else {
            a == b
        }
    }

    fn contains(&self, values: &[ScalarValue], value: &ScalarValue) -> bool {
        values
            .iter()
            .any(|existing| self.same_value(existing, value))
    }

    fn add_extreme(&self, max: bool, state: &mut AggState, array: &dyn Array, row: usize) {
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

    fn extreme_result(&self, state: &AggState) -> ScalarValue {
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
    fn add_top(
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

    fn merge_top(
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

    fn element_type(&self) -> DataType {
        match &self.return_type {
            DataType::List(field) => field.data_type().clone(),
            other => other.clone(),
        }
    }

    fn null_result(&self) -> ScalarValue {
        ScalarValue::try_from(&self.return_type).unwrap_or(ScalarValue::Null)
    }

    /// `values` as a one-row list of the return type.
    fn list_result(&self, values: &[ScalarValue]) -> ScalarValue {
        let element = self.element_type();
        match scalars_to_array(&element, values.iter().cloned())
            .and_then(|array| single_list(&element, array))
        {
            Ok(list) => list,
            Err(_) => self.null_result(),
        }
    }

    fn top_result(&self, values: &[ScalarValue]) -> ScalarValue {
        let width = self.arg_types.len().max(1);
        if width == 1 {
            return self.list_result(values);
        }
        let element = self.element_type();
        let DataType::Struct(fields) = &element else {
            return self.null_result();
        };
        let rows = values.len() / width;
        let columns = fields
            .iter()
            .enumerate()
            .map(|(index, field)| {
                scalars_to_array(
                    field.data_type(),
                    values.iter().skip(index).step_by(width).cloned(),
                )
            })
            .collect::<Result<Vec<_>>>();
        let list = columns.and_then(|columns| {
            let structs = StructArray::try_new_with_length(fields.clone(), columns, None, rows)?;
            single_list(&element, Arc::new(structs))
        });
        list.unwrap_or_else(|_| self.null_result())
    }

    fn histogram_result(&self, counts: &[(String, i64)]) -> ScalarValue {
        let DataType::Map(entries_field, ordered) = &self.return_type else {
            return self.null_result();
        };
        let DataType::Struct(fields) = entries_field.data_type() else {
            return self.null_result();
        };
        let keys: ArrayRef = Arc::new(StringArray::from_iter_values(
            counts.iter().map(|(key, _)| key.as_str()),
        ));
        let values: ArrayRef = Arc::new(Int64Array::from_iter_values(
            counts.iter().map(|(_, count)| *count),
        ));
        let map =
            StructArray::try_new(fields.clone(), vec![keys, values], None).and_then(|entries| {
                MapArray::try_new(
                    Arc::clone(entries_field),
                    OffsetBuffer::from_lengths([counts.len()]),
                    entries,
                    None,
                    *ordered,
                )
            });
        match map {
            Ok(map) => ScalarValue::Map(Arc::new(map)),
            Err(_) => self.null_result(),
        }
    }
}

/// HISTOGRAM: counts `key` `count` more times, unless it would be a new key past the limit.
fn histogram_add(counts: &mut Vec<(String, i64)>, key: &str, count: i64) {
    match counts.iter().position(|(existing, _)| existing == key) {
        Some(index) => counts[index].1 += count,
        None if counts.len() < HISTOGRAM_LIMIT => counts.push((key.to_string(), count)),
        None => {}
    }
}

/// An array of `data_type` from values of that type.
fn scalars_to_array(
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
fn single_list(element: &DataType, values: ArrayRef) -> Result<ScalarValue> {
    let field = Arc::new(Field::new("item", element.clone(), true));
    let list = ListArray::try_new(
        field,
        OffsetBuffer::from_lengths([values.len()]),
        values,
        None,
    )?;
    Ok(ScalarValue::List(Arc::new(list)))
}

fn int_of(number: Number) -> i64 {
    match number {
        Number::Int(value) => value,
        Number::Float(value) => value as i64,
    }
}

fn add_number(width: Width, state: &mut AggState, value: Number) {
    match state {
        AggState::Int(sum) => *sum = int_of(width.add(Number::Int(*sum), value)),
        AggState::Float(sum) => *sum += value.as_f64(),
        _ => {}
    }
}

/// SUM_LIST: the sum of a list's non-null elements.
fn list_sum(width: Width, array: &dyn Array, row: usize) -> Option<Number> {
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
fn stddev_delta(width: Width, sample: bool, sum: Number, count: i64, value: Number) -> f64 {
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
fn stddev_merge_inner(width: Width, sample: bool, a: (Number, i64), b: (Number, i64)) -> f64 {
    match (width, sample, a, b) {
        (Width::Int | Width::Bigint, false, (Number::Int(s1), c1), (Number::Int(s2), c2)) => {
            (s1.wrapping_div(c1) - s2.wrapping_div(c2)) as f64
        }
        (_, _, (s1, c1), (s2, c2)) => s1.as_f64() / c1 as f64 - s2.as_f64() / c2 as f64,
    }
}

fn pair(args: &[ArrayRef], row: usize) -> Option<(f64, f64)> {
    let x = float_value(args.first()?.as_ref(), row)?;
    let y = float_value(args.get(1)?.as_ref(), row)?;
    Some((x, y))
}

/// Adds (`sign` 1) or removes (`sign` -1) a point of CORRELATION.
fn correlate(state: &mut AggState, px: f64, py: f64, sign: f64) {
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

fn merge_extreme(max: bool, binary: bool, into: &mut AggState, other: &AggState) {
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

/// True when `|unscaled| >= 10^precision`: the sum no longer fits DECIMAL(precision, _).
fn exceeds_precision(unscaled: i128, precision: u8) -> bool {
    10i128
        .checked_pow(u32::from(precision))
        .is_some_and(|limit| unscaled.unsigned_abs() >= limit.unsigned_abs())
}

fn int_value(array: &dyn Array, row: usize) -> Option<i64> {
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

fn float_value(array: &dyn Array, row: usize) -> Option<f64> {
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

fn decimal_value(array: &dyn Array, row: usize) -> Option<i128> {
    if array.is_null(row) {
        return None;
    }
    array
        .as_primitive_opt::<Decimal128Type>()
        .map(|a| a.value(row))
}

fn string_value(array: &dyn Array, row: usize) -> Option<&str> {
    if array.is_null(row) {
        return None;
    }
    array.as_string_opt::<i32>().map(|a| a.value(row))
}

fn bytes_value(array: &dyn Array, row: usize) -> Option<&[u8]> {
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
fn int_scalar(data_type: &DataType, value: Option<i64>) -> ScalarValue {
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

fn integer(value: &ScalarValue) -> Option<i64> {
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

fn contains_map(data_type: &DataType) -> bool {
    match data_type {
        DataType::Map(_, _) => true,
        DataType::List(field) => contains_map(field.data_type()),
        DataType::Struct(fields) => fields.iter().any(|field| contains_map(field.data_type())),
        _ => false,
    }
}

fn put_option<T>(out: &mut Vec<u8>, value: Option<&T>, put: impl FnOnce(&mut Vec<u8>, &T)) {
    match value {
        None => out.push(0),
        Some(value) => {
            out.push(1);
            put(out, value);
        }
    }
}

fn get_option<T>(
    input: &mut &[u8],
    get: impl FnOnce(&mut &[u8]) -> Result<T>,
) -> Result<Option<T>> {
    match take_byte(input)? {
        0 => Ok(None),
        _ => Ok(Some(get(input)?)),
    }
}

fn put_number(out: &mut Vec<u8>, value: Number) {
    match value {
        Number::Int(value) => put_signed(out, value),
        Number::Float(value) => put_f64(out, value),
    }
}

/// Reads a number of the same kind as `like`.
fn get_number(input: &mut &[u8], like: Number) -> Result<Number> {
    Ok(match like {
        Number::Int(_) => Number::Int(get_signed(input)?),
        Number::Float(_) => Number::Float(get_f64(input)?),
    })
}

fn get_len(input: &mut &[u8]) -> Result<usize> {
    let len = usize::try_from(get_varint(input)?)
        .map_err(|_| ExecError::Internal("corrupt aggregate state: length".into()))?;
    if len > input.len() {
        return Err(ExecError::Internal(
            "corrupt aggregate state: length past the end".into(),
        ));
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{BinaryArray, Decimal128Array, Float64Array, Int32Array, StringArray};
    use planner::functions::aggregate::resolve_aggregate;

    fn function(name: &str, types: &[DataType], literals: &[ScalarValue]) -> AggregateFunction {
        let mut all_types = types.to_vec();
        let mut all_literals: Vec<Option<ScalarValue>> = vec![None; types.len()];
        for literal in literals {
            all_types.push(literal.data_type());
            all_literals.push(Some(literal.clone()));
        }
        let signature = resolve_aggregate(name, &all_types, &all_literals).expect("resolves");
        AggregateFunction::new(&signature).expect("compiles")
    }

    fn ints(values: &[Option<i32>]) -> ArrayRef {
        Arc::new(Int32Array::from(values.to_vec()))
    }

    fn longs(values: &[Option<i64>]) -> ArrayRef {
        Arc::new(Int64Array::from(values.to_vec()))
    }

    fn doubles(values: &[Option<f64>]) -> ArrayRef {
        Arc::new(Float64Array::from(values.to_vec()))
    }

    fn strings(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn decimals(values: &[Option<i128>], precision: u8, scale: i8) -> ArrayRef {
        Arc::new(
            Decimal128Array::from(values.to_vec())
                .with_precision_and_scale(precision, scale)
                .expect("decimal type"),
        )
    }

    /// Text of a result, with NaN spelled the same whatever its sign.
    fn text(value: &ScalarValue) -> String {
        match value {
            ScalarValue::Float64(Some(v)) if v.is_nan() => "NaN".into(),
            other => other.to_string(),
        }
    }

    fn round_trip(function: &AggregateFunction, state: &AggState) -> AggState {
        let mut bytes = Vec::new();
        function.encode(state, &mut bytes);
        bytes.push(0xAB);
        let mut input = bytes.as_slice();
        let decoded = function.decode(&mut input).expect("decodes");
        assert_eq!(input, &[0xAB], "decode consumes exactly the state's bytes");
        decoded
    }

    /// Adds every row in order; after each, checks the result text and that the state
    /// survives encode/decode.
    fn run(function: &AggregateFunction, args: &[ArrayRef], expected: &[&str]) -> AggState {
        let mut state = function.init();
        for (row, expected) in expected.iter().enumerate() {
            function.add(&mut state, args, row);
            let result = function.result(&state);
            assert_eq!(text(&result), *expected, "row {row} of {:?}", function.kind);
            assert_eq!(
                result.data_type(),
                function.return_type,
                "{:?}",
                function.kind
            );
            let decoded = round_trip(function, &state);
            assert_eq!(text(&function.result(&decoded)), *expected);
        }
        state
    }

    /// (function, value arguments, results after each row)
    type StreamCase<'a> = (AggregateFunction, Vec<ArrayRef>, Vec<&'a str>);
    /// (function, value arguments, (row, retract?) steps, results after each step)
    type TableCase<'a> = (
        AggregateFunction,
        Vec<ArrayRef>,
        Vec<(usize, bool)>,
        Vec<&'a str>,
    );
    /// (function, column, rows of session one, rows of session two, late row, result)
    type SessionCase<'a> = (
        AggregateFunction,
        ArrayRef,
        Vec<usize>,
        Vec<usize>,
        usize,
        &'a str,
    );

    #[test]
    fn stream_aggregates_follow_ksqldb() {
        let int = [DataType::Int32];
        let long = [DataType::Int64];
        let double = [DataType::Float64];
        let string = [DataType::Utf8];
        let k3 = [ScalarValue::Int64(Some(3))];
        // (function, value arguments, results after each row) — from ksqlDB's QTT cases.
        let cases: Vec<StreamCase> = vec![
            (function("COUNT", &[], &[]), vec![], vec!["1", "2", "3"]),
            (
                function("COUNT", &string, &[]),
                vec![strings(&[Some("a"), None, Some("b")])],
                vec!["1", "1", "2"],
            ),
            (
                function("SUM", &int, &[]),
                vec![ints(&[Some(0), Some(100), None, Some(i32::MAX)])],
                vec!["0", "100", "100", "-2147483549"],
            ),
            (
                function("SUM", &[DataType::Decimal128(6, 2)], &[]),
                vec![decimals(&[Some(540), Some(10010), None], 6, 2)],
                vec!["5.40", "105.50", "105.50"],
            ),
            (
                function("AVG", &long, &[]),
                vec![longs(&[Some(-1), Some(i64::MAX), Some(1), None])],
                vec![
                    "-1",
                    "4611686018427388000",
                    "3074457345618258400",
                    "3074457345618258400",
                ],
            ),
            (
                function("MIN", &int, &[]),
                vec![ints(&[None, Some(-2147483647), Some(5), None])],
                vec!["NULL", "-2147483647", "-2147483647", "-2147483647"],
            ),
            (
                function("MAX", &[DataType::Decimal128(4, 2)], &[]),
                vec![decimals(&[Some(2179), Some(110), None], 4, 2)],
                vec!["21.79", "21.79", "21.79"],
            ),
            (
                function("MIN", &[DataType::Binary], &[]),
                vec![Arc::new(BinaryArray::from(vec![
                    None,
                    Some(b"B".as_slice()),
                    Some(b"A".as_slice()),
                    Some(b"\xff".as_slice()),
                ]))],
                vec!["NULL", "42", "41", "FF"],
            ),
            (
                function("MAX", &string, &[]),
                vec![strings(&[Some("b"), Some("a"), Some("c")])],
                vec!["b", "b", "c"],
            ),
            (
                function("STDDEV_SAMPLE", &int, &[]),
                vec![ints(&[Some(0), Some(10), Some(7), Some(6)])],
                vec![
                    "0",
                    "7.0710678118654755",
                    "5.131601439446884",
                    "4.193248541803041",
                ],
            ),
            (
                function("STDDEV_SAMP", &int, &[]),
                vec![ints(&[Some(0), Some(10), Some(7), Some(6)])],
                vec!["0", "50", "26.333333333333332", "17.583333333333332"],
            ),
            (
                function("STDDEV_SAMPLE", &long, &[]),
                vec![longs(&[Some(2147483648), Some(100), Some(-2), None])],
                vec![
                    "0",
                    "1518500179.2773468",
                    "1239850233.9629574",
                    "1239850233.9629574",
                ],
            ),
            (
                function("STDDEV_SAMPLE", &double, &[]),
                vec![doubles(&[
                    Some(9223372036854.775),
                    Some(300.8),
                    Some(-200000.6),
                    Some(0.0),
                ])],
                vec![
                    "0",
                    "6521908912453.693",
                    "5325116385962.54",
                    "4611686051710.689",
                ],
            ),
            (
                function("CORRELATION", &[DataType::Float64, DataType::Float64], &[]),
                vec![
                    doubles(&[Some(1.5), Some(-1.0), Some(-4.5), None]),
                    doubles(&[Some(8.0), Some(-2.0), Some(-1.0), Some(-6.0)]),
                ],
                vec!["NaN", "1", "0.7580764521133173", "0.7580764521133173"],
            ),
            (
                function("COUNT_DISTINCT", &string, &[]),
                vec![strings(&[Some("one"), Some("two"), Some("one"), None])],
                vec!["1", "2", "2", "2"],
            ),
            (
                function("COLLECT_LIST", &[DataType::Decimal128(4, 1)], &[]),
                vec![decimals(&[Some(5009), Some(3008), None, Some(3008)], 4, 1)],
                vec![
                    "[500.9]",
                    "[500.9, 300.8]",
                    "[500.9, 300.8, ]",
                    "[500.9, 300.8, , 300.8]",
                ],
            ),
            (
                function("COLLECT_SET", &string, &[]),
                vec![strings(&[
                    Some("baz"),
                    Some("baz"),
                    Some("foo"),
                    None,
                    None,
                ])],
                vec![
                    "[baz]",
                    "[baz]",
                    "[baz, foo]",
                    "[baz, foo, ]",
                    "[baz, foo, ]",
                ],
            ),
            (
                function("TOPK", &int, &k3),
                vec![ints(&[
                    Some(0),
                    Some(100),
                    Some(99),
                    Some(7),
                    Some(100),
                    None,
                ])],
                vec![
                    "[0]",
                    "[100, 0]",
                    "[100, 99, 0]",
                    "[100, 99, 7]",
                    "[100, 100, 99]",
                    "[100, 100, 99]",
                ],
            ),
            (
                function("TOPKDISTINCT", &string, &k3),
                vec![strings(&[
                    Some("a"),
                    Some("b"),
                    Some("c"),
                    Some("b"),
                    Some("d"),
                ])],
                vec!["[a]", "[b, a]", "[c, b, a]", "[c, b, a]", "[d, c, b]"],
            ),
            (
                function("TOPK", &[DataType::Int32, DataType::Utf8], &k3),
                vec![
                    ints(&[Some(0), Some(100), Some(99), None, Some(100)]),
                    strings(&[Some("zero"), Some("one"), Some("two"), Some("three"), None]),
                ],
                vec![
                    "[{sort_col: 0, col0: zero}]",
                    "[{sort_col: 100, col0: one}, {sort_col: 0, col0: zero}]",
                    "[{sort_col: 100, col0: one}, {sort_col: 99, col0: two}, {sort_col: 0, col0: zero}]",
                    "[{sort_col: 100, col0: one}, {sort_col: 99, col0: two}, {sort_col: 0, col0: zero}]",
                    "[{sort_col: 100, col0: one}, {sort_col: 100, col0: }, {sort_col: 99, col0: two}]",
                ],
            ),
            (
                function("HISTOGRAM", &string, &[]),
                vec![strings(&[Some("baz"), Some("baz"), Some("foo"), None])],
                vec![
                    "[{baz:1}]",
                    "[{baz:2}]",
                    "[{baz:2,foo:1}]",
                    "[{baz:2,foo:1}]",
                ],
            ),
            (
                function("LATEST_BY_OFFSET", &int, &[]),
                vec![ints(&[Some(12), None, Some(764)])],
                vec!["12", "12", "764"],
            ),
            (
                function(
                    "LATEST_BY_OFFSET",
                    &int,
                    &[ScalarValue::Boolean(Some(false))],
                ),
                vec![ints(&[Some(12), None])],
                vec!["12", "NULL"],
            ),
            (
                function(
                    "LATEST_BY_OFFSET",
                    &int,
                    &[
                        ScalarValue::Int64(Some(2)),
                        ScalarValue::Boolean(Some(false)),
                    ],
                ),
                vec![ints(&[Some(1), None, Some(3)])],
                vec!["[1]", "[1, ]", "[, 3]"],
            ),
            (
                function(
                    "EARLIEST_BY_OFFSET",
                    &int,
                    &[ScalarValue::Boolean(Some(false))],
                ),
                vec![ints(&[None, Some(13)])],
                vec!["NULL", "NULL"],
            ),
            (
                function("EARLIEST_BY_OFFSET", &int, &[ScalarValue::Int64(Some(2))]),
                vec![ints(&[Some(12), None, Some(13), Some(14)])],
                vec!["[12]", "[12]", "[12, 13]", "[12, 13]"],
            ),
            (
                function(
                    "SUM_LIST",
                    &[DataType::List(Arc::new(Field::new(
                        "item",
                        DataType::Float64,
                        true,
                    )))],
                    &[],
                ),
                vec![Arc::new(
                    ListArray::from_iter_primitive::<Float64Type, _, _>(vec![
                        Some(vec![Some(1.0), Some(1.0)]),
                        None,
                        Some(vec![Some(2.0), None]),
                    ]),
                )],
                vec!["2", "2", "4"],
            ),
        ];
        for (function, args, expected) in cases {
            run(&function, &args, &expected);
        }
    }

    #[test]
    fn table_aggregates_undo_like_ksqldb() {
        let int = [DataType::Int32];
        let string = [DataType::Utf8];
        // (function, rows, (row, retract?) steps, results after each step)
        let cases: Vec<TableCase> = vec![
            (
                function("COUNT", &[], &[]),
                vec![],
                vec![(0, false), (0, true), (1, false)],
                vec!["1", "0", "1"],
            ),
            (
                function("AVG", &int, &[]),
                vec![ints(&[Some(1), Some(2), None, Some(4)])],
                vec![
                    (0, false),
                    (1, false),
                    (0, true),
                    (2, false),
                    (2, true),
                    (3, false),
                ],
                vec!["1", "1.5", "2", "2", "2", "3"],
            ),
            (
                function("SUM", &[DataType::Float64], &[]),
                vec![doubles(&[Some(1.5), Some(2.0)])],
                vec![(0, false), (1, false), (0, true)],
                vec!["1.5", "3.5", "2"],
            ),
            (
                function("COLLECT_LIST", &string, &[]),
                vec![strings(&[Some("foo"), Some("bar"), Some("foo")])],
                vec![(0, false), (1, false), (2, false), (0, true)],
                vec!["[foo]", "[foo, bar]", "[foo, bar, foo]", "[foo, bar]"],
            ),
            (
                function("HISTOGRAM", &string, &[]),
                vec![strings(&[Some("alice"), Some("bob")])],
                vec![(0, false), (1, false), (1, true), (0, true)],
                vec!["[{alice:1}]", "[{alice:1,bob:1}]", "[{alice:1}]", "[{}]"],
            ),
            (
                function("CORRELATION", &[DataType::Float64, DataType::Float64], &[]),
                vec![
                    doubles(&[Some(1.5), Some(-3.5), Some(-1.0), Some(-4.5)]),
                    doubles(&[Some(8.0), Some(-2.0), Some(-2.0), Some(-1.0)]),
                ],
                vec![(0, false), (1, false), (0, true), (2, false), (3, false)],
                vec!["NaN", "1", "NaN", "NaN", "-0.7205766921228921"],
            ),
            (
                function("STDDEV_SAMPLE", &[DataType::Float64], &[]),
                vec![doubles(&[Some(10.0), Some(12.0), Some(13.0)])],
                vec![(0, false), (1, false), (2, false), (2, true)],
                vec![
                    "0",
                    "1.4142135623730951",
                    "1.5275252316519465",
                    "1.414213562373095",
                ],
            ),
            (
                function("MIN", &int, &[]),
                vec![ints(&[Some(3), Some(1)])],
                vec![(0, false), (1, false), (1, true)],
                vec!["3", "1", "1"],
            ),
        ];
        for (function, args, steps, expected) in cases {
            let mut state = function.init();
            for ((row, retract), expected) in steps.into_iter().zip(expected) {
                if retract {
                    function.retract(&mut state, &args, row);
                } else {
                    function.add(&mut state, &args, row);
                }
                assert_eq!(
                    text(&function.result(&state)),
                    expected,
                    "{:?}",
                    function.kind
                );
                let decoded = round_trip(&function, &state);
                assert_eq!(text(&function.result(&decoded)), expected);
            }
        }
    }

    #[test]
    fn session_merges_follow_ksqldb() {
        let int = [DataType::Int32];
        // (function, rows of session one, rows of session two, late row, merged result):
        // as Kafka Streams merges sessions: init, merge each old session, add the late row.
        let cases: Vec<SessionCase> = vec![
            (
                function("LATEST_BY_OFFSET", &int, &[]),
                ints(&[Some(1), Some(3), Some(2)]),
                vec![0],
                vec![1],
                2,
                "2",
            ),
            (
                function("EARLIEST_BY_OFFSET", &int, &[]),
                ints(&[Some(1), Some(3), Some(2)]),
                vec![0],
                vec![1],
                2,
                "1",
            ),
            (
                function(
                    "EARLIEST_BY_OFFSET",
                    &int,
                    &[
                        ScalarValue::Int64(Some(2)),
                        ScalarValue::Boolean(Some(false)),
                    ],
                ),
                ints(&[None, Some(1), None]),
                vec![0],
                vec![1],
                2,
                "[, 1]",
            ),
            (
                function(
                    "LATEST_BY_OFFSET",
                    &int,
                    &[
                        ScalarValue::Int64(Some(2)),
                        ScalarValue::Boolean(Some(false)),
                    ],
                ),
                ints(&[None, None, None]),
                vec![0],
                vec![1],
                2,
                "[, ]",
            ),
            (
                function("LATEST_BY_OFFSET", &int, &[]),
                ints(&[Some(1), None]),
                vec![0],
                vec![],
                1,
                "1",
            ),
            (
                function("COUNT", &int, &[]),
                ints(&[Some(1), Some(2), Some(3)]),
                vec![0, 1],
                vec![2],
                0,
                "4",
            ),
            (
                function("SUM", &int, &[]),
                ints(&[Some(1), Some(2), Some(3)]),
                vec![0, 1],
                vec![2],
                0,
                "7",
            ),
            (
                function("MAX", &int, &[]),
                ints(&[Some(1), Some(5), Some(3)]),
                vec![0],
                vec![1],
                2,
                "5",
            ),
            (
                function("TOPK", &int, &[ScalarValue::Int64(Some(3))]),
                ints(&[Some(1), Some(5), Some(3), Some(4)]),
                vec![0, 2],
                vec![1, 3],
                0,
                "[5, 4, 3]",
            ),
            (
                function("TOPKDISTINCT", &int, &[ScalarValue::Int64(Some(3))]),
                ints(&[Some(5), Some(3), Some(5), Some(1)]),
                vec![0, 1],
                vec![2, 3],
                3,
                "[5, 3, 1]",
            ),
            (
                function("COLLECT_SET", &int, &[]),
                ints(&[Some(1), Some(2), Some(1)]),
                vec![0],
                vec![1, 2],
                2,
                "[1, 2]",
            ),
            (
                function("COLLECT_LIST", &int, &[]),
                ints(&[Some(1), Some(2), Some(1)]),
                vec![0],
                vec![1],
                2,
                "[1, 2, 1]",
            ),
            (
                function("COUNT_DISTINCT", &int, &[]),
                ints(&[Some(1), Some(2), Some(1)]),
                vec![0],
                vec![1],
                2,
                "2",
            ),
            (
                function("AVG", &int, &[]),
                ints(&[Some(1), Some(2), Some(6)]),
                vec![0],
                vec![1],
                2,
                "3",
            ),
            (
                function("STDDEV_SAMPLE", &[DataType::Float64], &[]),
                doubles(&[Some(10.0), Some(12.0), Some(13.0)]),
                vec![0, 1],
                vec![2],
                0,
                "1.5",
            ),
        ];
        for (function, column, first, second, late, expected) in cases {
            let args = vec![column];
            let mut one = function.init();
            first
                .iter()
                .for_each(|row| function.add(&mut one, &args, *row));
            let mut two = function.init();
            second
                .iter()
                .for_each(|row| function.add(&mut two, &args, *row));
            let (one, two) = (round_trip(&function, &one), round_trip(&function, &two));
            let mut merged = function.init();
            function.merge(&mut merged, &one);
            function.merge(&mut merged, &two);
            function.add(&mut merged, &args, late);
            assert_eq!(
                text(&function.result(&merged)),
                expected,
                "{:?}",
                function.kind
            );
        }
    }

    #[test]
    fn collect_limits_cap_the_result() {
        let list = function("COLLECT_LIST", &[DataType::Int32], &[]).with_limit(1);
        run(&list, &[ints(&[Some(0), Some(100)])], &["[0]", "[0]"]);
        let set = function("COLLECT_SET", &[DataType::Int32], &[]).with_limit(2);
        run(
            &set,
            &[ints(&[Some(0), Some(1), Some(2)])],
            &["[0]", "[0, 1]", "[0, 1]"],
        );
        let unlimited = function("COLLECT_LIST", &[DataType::Int32], &[]).with_limit(-1);
        run(&unlimited, &[ints(&[Some(0), Some(0)])], &["[0]", "[0, 0]"]);
    }

    #[test]
    fn decimal_sum_overflow_fails_like_ksqldb() {
        let sum = function("SUM", &[DataType::Decimal128(4, 1)], &[]);
        let args = [decimals(&[Some(5009), Some(3008), Some(4008)], 4, 1)];
        let mut state = sum.init();
        sum.add(&mut state, &args, 0);
        sum.add(&mut state, &args, 1);
        assert_eq!(text(&sum.result(&state)), "801.7");
        assert!(sum.check(&state).is_ok());
        sum.add(&mut state, &args, 2);
        let state = round_trip(&sum, &state);
        let error = sum.check(&state).expect_err("overflows").to_string();
        assert!(error.starts_with("Numeric field overflow"), "{error}");
    }

    #[test]
    fn collect_set_of_maps_ignores_entry_order() {
        let map_type = DataType::Map(
            Arc::new(Field::new(
                "entries",
                DataType::Struct(arrow::datatypes::Fields::from(vec![
                    Field::new("key", DataType::Utf8, false),
                    Field::new("value", DataType::Int64, true),
                ])),
                false,
            )),
            false,
        );
        let names = arrow::array::MapFieldNames {
            entry: "entries".into(),
            key: "key".into(),
            value: "value".into(),
        };
        let mut builder = arrow::array::MapBuilder::new(
            Some(names),
            arrow::array::StringBuilder::new(),
            arrow::array::Int64Builder::new(),
        );
        for entries in [[("a", 1), ("b", 2)], [("b", 2), ("a", 1)]] {
            for (key, value) in entries {
                builder.keys().append_value(key);
                builder.values().append_value(value);
            }
            builder.append(true).expect("row");
        }
        let maps: ArrayRef = Arc::new(builder.finish());
        assert_eq!(maps.data_type(), &map_type);
        let set = function("COLLECT_SET", &[map_type], &[]);
        let state = run(&set, &[maps], &["[{a: 1, b: 2}]", "[{a: 1, b: 2}]"]);
        assert!(matches!(state, AggState::Values(values) if values.len() == 1));
    }

    #[test]
    fn simple_states_stay_small() {
        assert!(
            std::mem::size_of::<AggState>() <= 64,
            "{}",
            std::mem::size_of::<AggState>()
        );
        let count = function("COUNT", &[], &[]);
        let mut bytes = Vec::new();
        count.encode(&AggState::Int(5), &mut bytes);
        assert_eq!(bytes, vec![10]);
    }
}
