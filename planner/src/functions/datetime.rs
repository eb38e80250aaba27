//! ksqlDB date and time functions: formatting and parsing with Java patterns, epoch
//! conversions, time zone conversion and unit arithmetic.
//!
//! TIMESTAMP is epoch milliseconds, DATE days and TIME milliseconds of the day. Without a
//! time zone argument UTC is used. The unit of DATEADD, TIMEADD and TIMESTAMPADD (and their
//! SUB twins) arrives as a STRING such as 'DAYS' (see `TimeUnit`). Patterns and units are
//! in `datetime::pattern` and `datetime::calendar`.

mod calendar;
mod pattern;

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, Date32Array, Int32Array, Int64Array, Time32MillisecondArray,
    TimestampMillisecondArray,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::cast::{
    as_date32_array, as_int32_array, as_int64_array, as_time32_millisecond_array,
    as_timestamp_millisecond_array,
};
use datafusion::common::{Result, internal_err};

use super::FunctionCategory;
use super::signature::{Overload, ParamType, ReturnType, time_type, timestamp_type};
use super::string::{build_strings, string_at};
use super::udf::{EvalArgs, FunctionDefinition};
pub(super) use calendar::civil_from_days;
use calendar::{MILLIS_PER_DAY, Zone};
use pattern::{DateTimePattern, Moment};

pub(super) fn definitions() -> Vec<FunctionDefinition> {
    use ParamType::{Bigint, Date, Int, String as Str, Time, Timestamp};
    let category = FunctionCategory::DateTime;
    let fixed = ReturnType::Fixed;
    let with_zone = |value: ParamType, result: DataType| {
        vec![
            Overload::new(vec![value.clone(), Str], fixed(result.clone())),
            Overload::new(vec![value, Str, Str], fixed(result)),
        ]
    };
    let arithmetic = |name, description, value: ParamType, result: DataType, eval| {
        FunctionDefinition::new(
            name,
            category,
            description,
            vec![Overload::new(vec![Str, Int, value], fixed(result))],
            eval,
        )
    };
    vec![
        FunctionDefinition::new(
            "TIMESTAMPTOSTRING",
            category,
            "Formats epoch milliseconds with a Java pattern, in UTC or a given time zone",
            with_zone(Bigint, DataType::Utf8),
            eval_timestamp_to_string,
        ),
        FunctionDefinition::new(
            "STRINGTOTIMESTAMP",
            category,
            "Parses a string with a Java pattern into epoch milliseconds",
            with_zone(Str, DataType::Int64),
            eval_string_to_timestamp,
        ),
        FunctionDefinition::new(
            "FORMAT_TIMESTAMP",
            category,
            "Formats a TIMESTAMP with a Java pattern, in UTC or a given time zone",
            with_zone(Timestamp, DataType::Utf8),
            eval_timestamp_to_string,
        ),
        FunctionDefinition::new(
            "PARSE_TIMESTAMP",
            category,
            "Parses a string with a Java pattern into a TIMESTAMP",
            with_zone(Str, timestamp_type()),
            eval_string_to_timestamp,
        ),
        FunctionDefinition::new(
            "FORMAT_DATE",
            category,
            "Formats a DATE with a Java pattern",
            vec![Overload::new(vec![Date, Str], fixed(DataType::Utf8))],
            eval_format_date,
        ),
        FunctionDefinition::new(
            "PARSE_DATE",
            category,
            "Parses a string with a Java pattern into a DATE",
            vec![Overload::new(vec![Str, Str], fixed(DataType::Date32))],
            eval_parse_date,
        ),
        FunctionDefinition::new(
            "DATETOSTRING",
            category,
            "Formats days since the epoch with a Java pattern",
            vec![Overload::new(vec![Int, Str], fixed(DataType::Utf8))],
            eval_format_date,
        ),
        FunctionDefinition::new(
            "STRINGTODATE",
            category,
            "Parses a string with a Java pattern into days since the epoch",
            vec![Overload::new(vec![Str, Str], fixed(DataType::Int32))],
            eval_parse_date,
        ),
        FunctionDefinition::new(
            "FORMAT_TIME",
            category,
            "Formats a TIME with a Java pattern",
            vec![Overload::new(vec![Time, Str], fixed(DataType::Utf8))],
            eval_format_time,
        ),
        FunctionDefinition::new(
            "PARSE_TIME",
            category,
            "Parses a string with a Java pattern into a TIME",
            vec![Overload::new(vec![Str, Str], fixed(time_type()))],
            eval_parse_time,
        ),
        FunctionDefinition::new(
            "UNIX_TIMESTAMP",
            category,
            "Returns the current time, or a TIMESTAMP, as epoch milliseconds",
            vec![
                Overload::new(vec![], fixed(DataType::Int64)),
                Overload::new(vec![Timestamp], fixed(DataType::Int64)),
            ],
            eval_unix_timestamp,
        )
        .volatile(),
        FunctionDefinition::new(
            "UNIX_DATE",
            category,
            "Returns the current date, or a DATE, as days since the epoch",
            vec![
                Overload::new(vec![], fixed(DataType::Int32)),
                Overload::new(vec![Date], fixed(DataType::Int32)),
            ],
            eval_unix_date,
        )
        .volatile(),
        FunctionDefinition::new(
            "FROM_UNIXTIME",
            category,
            "Converts epoch milliseconds to a TIMESTAMP",
            vec![Overload::new(vec![Bigint], fixed(timestamp_type()))],
            eval_from_unixtime,
        ),
        FunctionDefinition::new(
            "FROM_DAYS",
            category,
            "Converts days since the epoch to a DATE",
            vec![Overload::new(vec![Int], fixed(DataType::Date32))],
            eval_from_days,
        ),
        FunctionDefinition::new(
            "CONVERT_TZ",
            category,
            "Converts a TIMESTAMP from one time zone to another",
            vec![Overload::new(
                vec![Timestamp, Str, Str],
                fixed(timestamp_type()),
            )],
            eval_convert_tz,
        ),
        arithmetic(
            "DATEADD",
            "Adds an interval in a unit ('DAYS', 'HOURS', ...) to a DATE",
            Date,
            DataType::Date32,
            |args| eval_date_arithmetic(args, 1),
        ),
        arithmetic(
            "DATESUB",
            "Subtracts an interval in a unit ('DAYS', 'HOURS', ...) from a DATE",
            Date,
            DataType::Date32,
            |args| eval_date_arithmetic(args, -1),
        ),
        arithmetic(
            "TIMEADD",
            "Adds an interval in a unit ('SECONDS', 'HOURS', ...) to a TIME, wrapping at midnight",
            Time,
            time_type(),
            |args| eval_time_arithmetic(args, 1),
        ),
        arithmetic(
            "TIMESUB",
            "Subtracts an interval in a unit ('SECONDS', 'HOURS', ...) from a TIME, wrapping at midnight",
            Time,
            time_type(),
            |args| eval_time_arithmetic(args, -1),
        ),
        arithmetic(
            "TIMESTAMPADD",
            "Adds an interval in a unit ('SECONDS', 'DAYS', ...) to a TIMESTAMP",
            Timestamp,
            timestamp_type(),
            |args| eval_timestamp_arithmetic(args, 1),
        ),
        arithmetic(
            "TIMESTAMPSUB",
            "Subtracts an interval in a unit ('SECONDS', 'DAYS', ...) from a TIMESTAMP",
            Timestamp,
            timestamp_type(),
            |args| eval_timestamp_arithmetic(args, -1),
        ),
    ]
}

/// A `TIMESTAMP_FORMAT`: reads a STRING timestamp column into epoch milliseconds with a
/// Java `DateTimeFormatter` pattern, as `STRINGTOTIMESTAMP(text, pattern)` does (UTC unless
/// the text names a zone or an offset).
#[derive(Debug, Clone)]
pub struct TimestampFormat {
    pattern: DateTimePattern,
    utc: Zone,
}

impl TimestampFormat {
    /// Compiles `pattern`; None when it is not a valid Java pattern.
    pub fn compile(pattern: &str) -> Option<Self> {
        DateTimePattern::compile(pattern).map(|pattern| TimestampFormat {
            pattern,
            utc: Zone::utc(),
        })
    }

    /// The epoch milliseconds `text` denotes; None when it does not match the pattern.
    pub fn parse(&self, text: &str) -> Option<i64> {
        self.pattern.parse(text).map(|parsed| {
            let local = parsed.days * MILLIS_PER_DAY + parsed.millis_of_day;
            parsed
                .zone
                .as_ref()
                .unwrap_or(&self.utc)
                .local_to_utc(local)
        })
    }
}

/// Compiles each distinct pattern (and zone) of a batch once.
#[derive(Default)]
struct Caches<'a> {
    patterns: HashMap<&'a str, Option<DateTimePattern>>,
    zones: HashMap<&'a str, Option<Zone>>,
}

impl<'a> Caches<'a> {
    fn pattern(&mut self, text: &'a str) -> Option<&DateTimePattern> {
        self.patterns
            .entry(text)
            .or_insert_with(|| DateTimePattern::compile(text))
            .as_ref()
    }

    fn zone(&mut self, id: &'a str) -> Option<Zone> {
        self.zones
            .entry(id)
            .or_insert_with(|| Zone::parse(id))
            .clone()
    }
}

/// The zone argument at `index` of a row: UTC when the call has none, None when the zone
/// is null or unknown.
fn zone_arg<'a>(
    args: &'a EvalArgs<'_>,
    index: usize,
    row: usize,
    caches: &mut Caches<'a>,
) -> Result<Option<Zone>> {
    match args.args.get(index) {
        None => Ok(Some(Zone::utc())),
        Some(zones) => Ok(string_at(zones, row)?.and_then(|id| caches.zone(id))),
    }
}

/// Epoch milliseconds of row `row` of a BIGINT or TIMESTAMP column.
fn millis_at(array: &dyn Array, row: usize) -> Result<Option<i64>> {
    if array.is_null(row) {
        return Ok(None);
    }
    Ok(Some(match array.data_type() {
        DataType::Int64 => as_int64_array(array)?.value(row),
        DataType::Timestamp(_, _) => as_timestamp_millisecond_array(array)?.value(row),
        other => return internal_err!("expected epoch milliseconds, got {other}"),
    }))
}

fn eval_timestamp_to_string(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut caches = Caches::default();
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let zone = zone_arg(args, 2, row, &mut caches)?;
        let (Some(instant), Some(text), Some(zone)) = (
            millis_at(&args.args[0], row)?,
            string_at(&args.args[1], row)?,
            zone,
        ) else {
            out.push(None);
            continue;
        };
        let local = instant + i64::from(zone.offset_seconds(instant)) * 1000;
        out.push(caches.pattern(text).and_then(|pattern| {
            pattern.format(&Moment {
                days: Some(local.div_euclid(MILLIS_PER_DAY)),
                millis_of_day: Some(local.rem_euclid(MILLIS_PER_DAY)),
                zone: Some((&zone, instant)),
            })
        }));
    }
    Ok(build_strings(args.rows, |row| out[row].take()))
}

fn eval_string_to_timestamp(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut caches = Caches::default();
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let zone = zone_arg(args, 2, row, &mut caches)?;
        let (Some(text), Some(pattern_text), Some(zone)) = (
            string_at(&args.args[0], row)?,
            string_at(&args.args[1], row)?,
            zone,
        ) else {
            out.push(None);
            continue;
        };
        out.push(
            caches
                .pattern(pattern_text)
                .and_then(|pattern| pattern.parse(text))
                .map(|parsed| {
                    let local = parsed.days * MILLIS_PER_DAY + parsed.millis_of_day;
                    parsed.zone.as_ref().unwrap_or(&zone).local_to_utc(local)
                }),
        );
    }
    Ok(if args.return_type == &DataType::Int64 {
        Arc::new(Int64Array::from(out))
    } else {
        Arc::new(TimestampMillisecondArray::from(out))
    })
}

/// Days since the epoch of row `row` of a DATE or INT column.
fn days_at(array: &dyn Array, row: usize) -> Result<Option<i64>> {
    if array.is_null(row) {
        return Ok(None);
    }
    Ok(Some(i64::from(match array.data_type() {
        DataType::Date32 => as_date32_array(array)?.value(row),
        DataType::Int32 => as_int32_array(array)?.value(row),
        other => return internal_err!("expected days, got {other}"),
    })))
}

fn eval_format_date(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut caches = Caches::default();
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let (Some(days), Some(text)) =
            (days_at(&args.args[0], row)?, string_at(&args.args[1], row)?)
        else {
            out.push(None);
            continue;
        };
        out.push(caches.pattern(text).and_then(|pattern| {
            pattern.format(&Moment {
                days: Some(days),
                millis_of_day: None,
                zone: None,
            })
        }));
    }
    Ok(build_strings(args.rows, |row| out[row].take()))
}

fn eval_parse_date(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut caches = Caches::default();
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let (Some(text), Some(pattern_text)) = (
            string_at(&args.args[0], row)?,
            string_at(&args.args[1], row)?,
        ) else {
            out.push(None);
            continue;
        };
        out.push(
            caches
                .pattern(pattern_text)
                .and_then(|pattern| pattern.parse(text))
                .and_then(|parsed| i32::try_from(parsed.days).ok()),
        );
    }
    Ok(if args.return_type == &DataType::Int32 {
        Arc::new(Int32Array::from(out))
    } else {
        Arc::new(Date32Array::from(out))
    })
}

fn eval_format_time(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let times = as_time32_millisecond_array(&args.args[0])?;
    let mut caches = Caches::default();
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let (true, Some(text)) = (times.is_valid(row), string_at(&args.args[1], row)?) else {
            out.push(None);
            continue;
        };
        let millis = i64::from(times.value(row));
        out.push(caches.pattern(text).and_then(|pattern| {
            pattern.format(&Moment {
                days: None,
                millis_of_day: Some(millis),
                zone: None,
            })
        }));
    }
    Ok(build_strings(args.rows, |row| out[row].take()))
}

fn eval_parse_time(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut caches = Caches::default();
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let (Some(text), Some(pattern_text)) = (
            string_at(&args.args[0], row)?,
            string_at(&args.args[1], row)?,
        ) else {
            out.push(None);
            continue;
        };
        out.push(
            caches
                .pattern(pattern_text)
                .and_then(|pattern| pattern.parse(text))
                .map(|parsed| parsed.millis_of_day as i32),
        );
    }
    Ok(Arc::new(Time32MillisecondArray::from(out)))
}

/// The wall clock, in epoch milliseconds (UNIX_TIMESTAMP() and UNIX_DATE() read it).
fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or_default()
}

fn eval_unix_timestamp(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    match args.args.first() {
        Some(timestamps) => Ok(Arc::new(
            as_timestamp_millisecond_array(timestamps)?
                .iter()
                .collect::<Int64Array>(),
        )),
        None => Ok(Arc::new(Int64Array::from(vec![now_millis(); args.rows]))),
    }
}

fn eval_unix_date(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    match args.args.first() {
        Some(dates) => Ok(Arc::new(
            as_date32_array(dates)?.iter().collect::<Int32Array>(),
        )),
        None => {
            let today = now_millis().div_euclid(MILLIS_PER_DAY) as i32;
            Ok(Arc::new(Int32Array::from(vec![today; args.rows])))
        }
    }
}

fn eval_from_unixtime(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    Ok(Arc::new(
        as_int64_array(&args.args[0])?
            .iter()
            .collect::<TimestampMillisecondArray>(),
    ))
}

fn eval_from_days(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    Ok(Arc::new(
        as_int32_array(&args.args[0])?
            .iter()
            .collect::<Date32Array>(),
    ))
}

fn eval_convert_tz(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut caches = Caches::default();
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let from = zone_arg(args, 1, row, &mut caches)?;
        let to = zone_arg(args, 2, row, &mut caches)?;
        out.push(match (millis_at(&args.args[0], row)?, from, to) {
            (Some(instant), Some(from), Some(to)) => Some(
                instant
                    + (i64::from(to.offset_seconds(instant))
                        - i64::from(from.offset_seconds(instant)))
                        * 1000,
            ),
            _ => None,
        });
    }
    Ok(Arc::new(TimestampMillisecondArray::from(out)))
}

/// The unit keyword of DATEADD, TIMEADD and TIMESTAMPADD, passed by the planner as a string
/// ('DAYS', 'HOUR', ...; singular or plural, any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Milliseconds,
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl TimeUnit {
    /// Parses a ksqlDB interval unit keyword.
    pub fn parse(name: &str) -> Option<Self> {
        let upper = name.trim().to_ascii_uppercase();
        let singular = upper.strip_suffix('S').unwrap_or(&upper);
        Some(match singular {
            "MILLISECOND" => TimeUnit::Milliseconds,
            "SECOND" => TimeUnit::Seconds,
            "MINUTE" => TimeUnit::Minutes,
            "HOUR" => TimeUnit::Hours,
            "DAY" => TimeUnit::Days,
            _ => return None,
        })
    }

    fn millis(self) -> i64 {
        match self {
            TimeUnit::Milliseconds => 1,
            TimeUnit::Seconds => 1000,
            TimeUnit::Minutes => 60_000,
            TimeUnit::Hours => 3_600_000,
            TimeUnit::Days => MILLIS_PER_DAY,
        }
    }
}

/// The (unit, signed interval) of a row of a DATEADD-style call.
fn interval_at(args: &EvalArgs<'_>, row: usize, sign: i64) -> Result<Option<(TimeUnit, i64)>> {
    let unit = string_at(&args.args[0], row)?.and_then(TimeUnit::parse);
    let amounts = as_int32_array(&args.args[1])?;
    Ok(match unit {
        Some(unit) if amounts.is_valid(row) => Some((unit, sign * i64::from(amounts.value(row)))),
        _ => None,
    })
}

fn eval_date_arithmetic(args: &EvalArgs<'_>, sign: i64) -> Result<ArrayRef> {
    let dates = as_date32_array(&args.args[2])?;
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        out.push(match interval_at(args, row, sign)? {
            Some((unit, amount)) if dates.is_valid(row) => {
                // Java's `TimeUnit.toDays` truncates towards zero.
                let days = amount * unit.millis() / MILLIS_PER_DAY;
                i32::try_from(i64::from(dates.value(row)) + days).ok()
            }
            _ => None,
        });
    }
    Ok(Arc::new(Date32Array::from(out)))
}

fn eval_time_arithmetic(args: &EvalArgs<'_>, sign: i64) -> Result<ArrayRef> {
    let times = as_time32_millisecond_array(&args.args[2])?;
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        out.push(match interval_at(args, row, sign)? {
            Some((unit, amount)) if times.is_valid(row) => {
                let millis = i64::from(times.value(row)) + amount * unit.millis();
                Some(millis.rem_euclid(MILLIS_PER_DAY) as i32)
            }
            _ => None,
        });
    }
    Ok(Arc::new(Time32MillisecondArray::from(out)))
}

fn eval_timestamp_arithmetic(args: &EvalArgs<'_>, sign: i64) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        out.push(
            match (
                interval_at(args, row, sign)?,
                millis_at(&args.args[2], row)?,
            ) {
                (Some((unit, amount)), Some(instant)) => amount
                    .checked_mul(unit.millis())
                    .and_then(|delta| instant.checked_add(delta)),
                _ => None,
            },
        );
    }
    Ok(Arc::new(TimestampMillisecondArray::from(out)))
}

#[cfg(test)]
mod tests;
