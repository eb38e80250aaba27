//! ksqlDB aggregate functions at run time: one accumulator per resolved aggregate call.
//!
//! An `AggregateFunction` is built once from a planner `AggregateSignature` and shared; each
//! (group key, window) keeps one `AggState` per call, which rows are added to (streams),
//! retracted from (table changelogs), merged (session windows) and stored with
//! `encode`/`decode` (value codec in `super::codec`). Semantics follow ksqlDB's UDAFs,
//! including their null handling, Java integer wrap-around and undo rules.

mod number;
mod ordered;
mod storage;
mod update;
mod values;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use arrow::array::{Array, ArrayRef, Int64Array, MapArray, StringArray, StructArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use planner::functions::aggregate::AggregateSignature;
use planner::functions::user::{UserAggregate, create_aggregate};

use self::number::Width;
use self::values::{contains_map, integer, scalars_to_array, single_list};
use super::codec::{canonical_key, is_supported};
use crate::{ExecError, Result};

pub use self::number::Number;

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
    /// A user aggregate's value, of its aggregate type.
    User(ScalarValue),
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
    User(UserKind),
}

/// A user aggregate function's running form.
#[derive(Debug, Clone)]
pub(super) struct UserKind(pub(super) Arc<UserAggregate>);

impl PartialEq for UserKind {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
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
        if let Some(user) = create_aggregate(signature) {
            let user = user.map_err(ExecError::User)?;
            return Ok(AggregateFunction {
                kind: Kind::User(UserKind(Arc::new(user))),
                canonical_equality: false,
                arg_types: signature.arg_types.clone(),
                return_type: signature.return_type.clone(),
                limit: usize::MAX,
                sequence: AtomicU64::new(0),
            });
        }
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
            Kind::User(user) => AggState::User(user.0.udaf.initialize()),
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
            (Kind::User(user), AggState::User(value)) => match user.0.udaf.map(value) {
                Ok(result) if !result.is_null() => result
                    .cast_to(&self.return_type)
                    .unwrap_or_else(|_| self.null_result()),
                _ => self.null_result(),
            },
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

#[cfg(test)]
mod tests;
