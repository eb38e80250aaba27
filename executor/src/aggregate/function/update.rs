//! Folding rows into states: `AggregateFunction::add` (stream rows), `retract` (the old
//! rows of table changelogs) and `merge` (session windows that merge).

use arrow::array::ArrayRef;
use arrow::datatypes::DataType;
use datafusion::common::ScalarValue;

use super::number::{
    Number, add_number, correlate, exceeds_precision, int_of, list_sum, pair, stddev_delta,
    stddev_merge_inner,
};
use super::ordered::merge_extreme;
use super::values::{decimal_value, float_value, int_value, string_value};
use super::{AggState, AggregateFunction, HISTOGRAM_LIMIT, Kind};
use crate::aggregate::codec::canonical_key;

impl AggregateFunction {
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
            (Kind::User(user), AggState::User(value)) => {
                let udaf = &user.0.udaf;
                update_user(value, args, row, |args, value| udaf.aggregate(args, value));
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
            (Kind::User(user), AggState::User(value)) if user.0.undo => {
                let udaf = &user.0.udaf;
                update_user(value, args, row, |args, value| udaf.undo(args, value));
            }
            _ => {}
        }
    }

    /// Merges the state of a merged-away session into `into` (ksqlDB's `merge`; `into` is
    /// the earlier state).
    pub fn merge(&self, into: &mut AggState, other: &AggState) {
        match (&self.kind, into, other) {
            (Kind::User(user), AggState::User(value), AggState::User(other)) => {
                let current = std::mem::replace(value, ScalarValue::Null);
                *value = match user.0.udaf.merge(current.clone(), other.clone()) {
                    Ok(merged) => merged,
                    Err(_) => current,
                };
            }
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
}

/// HISTOGRAM: counts `key` `count` more times, unless it would be a new key past the limit.
pub(super) fn histogram_add(counts: &mut Vec<(String, i64)>, key: &str, count: i64) {
    match counts.iter().position(|(existing, _)| existing == key) {
        Some(index) => counts[index].1 += count,
        None if counts.len() < HISTOGRAM_LIMIT => counts.push((key.to_string(), count)),
        None => {}
    }
}

/// Folds row `row` of `args` into a user aggregate's `value` with `update`; a failing update
/// leaves the value as it was (ksqlDB logs the error and skips the row).
fn update_user(
    value: &mut ScalarValue,
    args: &[ArrayRef],
    row: usize,
    update: impl FnOnce(&[ScalarValue], ScalarValue) -> Result<ScalarValue, String>,
) {
    let Ok(row_args) = args
        .iter()
        .map(|array| ScalarValue::try_from_array(array, row))
        .collect::<datafusion::common::Result<Vec<_>>>()
    else {
        return;
    };
    let current = std::mem::replace(value, ScalarValue::Null);
    *value = match update(&row_args, current.clone()) {
        Ok(updated) => updated,
        Err(_) => current,
    };
}
