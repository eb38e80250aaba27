//! Text datetimes compared with `ROWTIME`, `WINDOWSTART` or `WINDOWEND`.
//!
//! ksqlDB lets a pull query bound these BIGINT columns with a datetime string
//! (`WINDOWSTART >= '2020-02-23T23:45'`): the string is read as a possibly partial
//! `yyyy-MM-dd'T'HH:mm:ss.SSS` with an optional `+hhmm`/`-hhmm` offset (UTC by default) and
//! replaced by its epoch milliseconds before the query is planned.

use std::ops::ControlFlow;

use sqlparser::ast::{BinaryOperator, Expr as SqlExpr, Value, visit_expressions_mut};

use crate::catalog::{ROWTIME, WINDOWEND, WINDOWSTART};
use crate::expr::normalize_ident;
use crate::{PlanError, Result};

const TIME_PATTERN: &str = "00:00:00.000";
const MILLIS_PER_DAY: i64 = 86_400_000;

/// Replaces datetime strings compared with `ROWTIME`, `WINDOWSTART` or `WINDOWEND` (by a
/// comparison or `BETWEEN`) with their epoch milliseconds.
pub fn rewrite_timestamp_strings(expr: &mut SqlExpr) -> Result<()> {
    let outcome = visit_expressions_mut(expr, |node| {
        let result = match node {
            SqlExpr::BinaryOp { left, op, right } if is_comparison(op) => {
                if is_time_column(left) {
                    replace_string(right)
                } else if is_time_column(right) {
                    replace_string(left)
                } else {
                    Ok(())
                }
            }
            SqlExpr::Between {
                expr: value,
                low,
                high,
                ..
            } if is_time_column(value) => replace_string(low).and_then(|()| replace_string(high)),
            _ => Ok(()),
        };
        match result {
            Ok(()) => ControlFlow::Continue(()),
            Err(error) => ControlFlow::Break(error),
        }
    });
    match outcome {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(error) => Err(error),
    }
}

fn is_comparison(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq
    )
}

fn is_time_column(expr: &SqlExpr) -> bool {
    let name = match expr {
        SqlExpr::Identifier(ident) => normalize_ident(ident),
        SqlExpr::CompoundIdentifier(parts) => match parts.last() {
            Some(last) => normalize_ident(last),
            None => return false,
        },
        SqlExpr::Nested(inner) => return is_time_column(inner),
        _ => return false,
    };
    [ROWTIME, WINDOWSTART, WINDOWEND].contains(&name.as_str())
}

fn replace_string(expr: &mut SqlExpr) -> Result<()> {
    let SqlExpr::Value(value) = expr else {
        return Ok(());
    };
    let Value::SingleQuotedString(text) = &value.value else {
        return Ok(());
    };
    let millis = parse_partial_timestamp(text).ok_or_else(|| {
        PlanError::User(format!(
            "Failed to parse timestamp '{text}'\nRequired format is: \"yyyy-MM-dd'T'HH:mm:ss.SSS\", with an optional numeric 4-digit timezone, for example: '2020-05-26T23:59:58.000' or with tz: '2020-05-26T23:59:58.000+0200'. A trailing 'Z' instead of tz indicates the zero UTC offset. Partials are also supported, for example \"2020-05-26\""
        ))
    })?;
    value.value = Value::Number(millis.to_string(), false);
    Ok(())
}

/// Epoch milliseconds of a possibly partial ISO datetime, as ksqlDB's
/// `PartialStringToTimestampParser` reads it; `None` when it is not one.
pub fn parse_partial_timestamp(text: &str) -> Option<i64> {
    let (date, time, offset_ms) = match text.find('T') {
        Some(split) => {
            let date = &text[..split];
            let with_zone = &text[split + 1..];
            let zone_start = with_zone.find('+').or_else(|| with_zone.find('-'));
            let (time, zone) = match zone_start {
                Some(start) => (&with_zone[..start], &with_zone[start..]),
                None => (with_zone, ""),
            };
            let time = time.strip_suffix('Z').unwrap_or(time);
            (date.to_string(), complete_time(time)?, parse_offset(zone)?)
        }
        None => (complete_date(text), TIME_PATTERN.to_string(), 0),
    };
    let days = parse_date(&date)?;
    let time_ms = parse_time(&time)?;
    Some(days * MILLIS_PER_DAY + time_ms - offset_ms)
}

fn complete_date(date: &str) -> String {
    match date.split('-').count() {
        1 => format!("{date}-01-01"),
        2 => format!("{date}-01"),
        _ => date.to_string(),
    }
}

fn complete_time(time: &str) -> Option<String> {
    if time.len() >= TIME_PATTERN.len() {
        return Some(time.to_string());
    }
    Some(format!("{time}{}", TIME_PATTERN.get(time.len()..)?))
}

/// Days since the epoch of `yyyy-MM-dd`.
fn parse_date(date: &str) -> Option<i64> {
    let mut parts = date.split('-');
    let year: i64 = digits(parts.next()?, 4)?;
    let month: i64 = digits(parts.next()?, 2)?;
    let day: i64 = digits(parts.next()?, 2)?;
    if parts.next().is_some() || !(1..=12).contains(&month) || day < 1 {
        return None;
    }
    if day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Milliseconds of day of `HH:mm:ss.SSS`; `24:00:00.000` is the end of the day.
fn parse_time(time: &str) -> Option<i64> {
    let (clock, millis) = time.split_once('.')?;
    let mut parts = clock.split(':');
    let hour: i64 = digits(parts.next()?, 2)?;
    let minute: i64 = digits(parts.next()?, 2)?;
    let second: i64 = digits(parts.next()?, 2)?;
    let millis: i64 = digits(millis, 3)?;
    let end_of_day = hour == 24 && minute == 0 && second == 0 && millis == 0;
    if parts.next().is_some() || (hour > 23 && !end_of_day) || minute > 59 || second > 59 {
        return None;
    }
    Some(((hour * 60 + minute) * 60 + second) * 1000 + millis)
}

/// `+hhmm`, `-hhmm`, `+hh:mm` or `+hh` as milliseconds east of UTC; empty is UTC.
fn parse_offset(zone: &str) -> Option<i64> {
    if zone.trim().is_empty() {
        return Some(0);
    }
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let rest: String = zone[1..].chars().filter(|c| *c != ':').collect();
    let (hours, minutes) = match rest.len() {
        2 => (digits(&rest, 2)?, 0),
        4 => (digits(&rest[..2], 2)?, digits(&rest[2..], 2)?),
        _ => return None,
    };
    if hours > 18 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 60 + minutes) * 60_000)
}

fn digits(text: &str, count: usize) -> Option<i64> {
    if text.len() != count || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_datetimes_parse_as_ksqldb_reads_them() {
        let cases = [
            ("1970-01-01", Some(0)),
            ("2020-02-23T23:45:12.000", Some(1_582_501_512_000)),
            ("2020-02-23T22:45:12.000-0100", Some(1_582_501_512_000)),
            ("2020-02-23T23:45:12.000Z", Some(1_582_501_512_000)),
            ("2020-02-22T23:45", Some(1_582_415_100_000)),
            ("2020-02-24T24", Some(1_582_588_800_000)),
            ("2020", Some(1_577_836_800_000)),
            ("2020-03", Some(1_583_020_800_000)),
            ("2020-02-30", None),
            ("2020-02-23T25", None),
            ("yesterday", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_partial_timestamp(text), expected, "{text}");
        }
    }

    #[test]
    fn strings_compared_with_time_columns_become_millis() {
        let cases = [
            (
                "WINDOWSTART >= '1970-01-01T00:00:01' AND ID = '10'",
                "WINDOWSTART >= 1000 AND ID = '10'",
            ),
            ("'1970-01-02' > rowtime", "86400000 > rowtime"),
            (
                "WindowEnd BETWEEN '1970' AND '1970-01-01T00:00:00.005'",
                "WindowEnd BETWEEN 0 AND 5",
            ),
            ("NAME = '1970'", "NAME = '1970'"),
        ];
        for (condition, expected) in cases {
            let statements =
                parser::parse_statements(&format!("SELECT * FROM t WHERE {condition};"))
                    .expect("parses");
            let parser::ast::StatementKind::Select(query) = &statements[0].kind else {
                panic!("not a query");
            };
            let mut expr = query.where_clause.clone().expect("has a WHERE");
            rewrite_timestamp_strings(&mut expr).expect("rewrites");
            assert_eq!(expr.to_string(), expected, "{condition}");
        }
    }
}
