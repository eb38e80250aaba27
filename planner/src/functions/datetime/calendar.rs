//! Proleptic Gregorian calendar arithmetic and time zones for the date/time functions.
//!
//! Dates are days since 1970-01-01, instants are epoch milliseconds. Zone offsets come from
//! Arrow's `Tz` (IANA names through chrono-tz, or fixed offsets); the rest is done by hand
//! because chrono is not a direct dependency of the planner.

use datafusion::arrow::array::temporal_conversions::as_datetime_with_timezone;
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::datatypes::TimestampMillisecondType;

pub(crate) const MILLIS_PER_DAY: i64 = 86_400_000;

/// (year, month 1-12, day 1-31) of a day number (Howard Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The day number of a valid (year, month, day).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

pub(crate) fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// ISO day of week, Monday = 1 .. Sunday = 7.
pub(crate) fn iso_weekday(days: i64) -> u32 {
    ((days + 3).rem_euclid(7) + 1) as u32
}

/// A time zone as ksqlDB names it: an IANA region or a fixed offset.
#[derive(Debug, Clone)]
pub(crate) struct Zone {
    /// The id as given (normalized), for `VV` and abbreviations.
    pub id: String,
    tz: Tz,
}

impl Zone {
    pub(crate) fn utc() -> Self {
        Self::parse("UTC").expect("UTC is a valid zone")
    }

    /// Parses a Java `ZoneId`: `UTC`, `Z`, `+02:00`, `+0200`, `-8`, `GMT+2`, or a region.
    pub(crate) fn parse(id: &str) -> Option<Self> {
        let id = id.trim();
        let offset_text = if id == "Z" {
            Some("+00:00".to_string())
        } else if id.starts_with('+') || id.starts_with('-') {
            normalize_offset(id)
        } else {
            ["UTC", "GMT", "UT"]
                .iter()
                .find_map(|prefix| {
                    id.strip_prefix(prefix)
                        .filter(|rest| rest.starts_with('+') || rest.starts_with('-'))
                })
                .and_then(normalize_offset)
        };
        let (id, tz) = match offset_text {
            Some(offset) => (offset.clone(), offset.parse::<Tz>().ok()?),
            None => (id.to_string(), id.parse::<Tz>().ok()?),
        };
        Some(Self { id, tz })
    }

    /// A fixed offset zone, for offsets parsed out of text.
    pub(crate) fn fixed(offset_seconds: i32) -> Option<Self> {
        let sign = if offset_seconds < 0 { '-' } else { '+' };
        let minutes = offset_seconds.abs() / 60;
        Self::parse(&format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60))
    }

    /// The offset from UTC, in seconds, at the instant `utc_millis`.
    pub(crate) fn offset_seconds(&self, utc_millis: i64) -> i32 {
        as_datetime_with_timezone::<TimestampMillisecondType>(utc_millis, self.tz)
            .map(|local| {
                let local_millis = local.naive_local().and_utc().timestamp_millis();
                ((local_millis - utc_millis) / 1000) as i32
            })
            .unwrap_or(0)
    }

    /// The instant of a local date-time in this zone. In a gap the time moves forward by
    /// the gap's length, in an overlap the earlier offset wins, as in `java.time`.
    pub(crate) fn local_to_utc(&self, local_millis: i64) -> i64 {
        let before = i64::from(self.offset_seconds(local_millis - MILLIS_PER_DAY)) * 1000;
        let after = i64::from(self.offset_seconds(local_millis + MILLIS_PER_DAY)) * 1000;
        let with_before = local_millis - before;
        let with_after = local_millis - after;
        let valid = |candidate: i64, offset: i64| {
            i64::from(self.offset_seconds(candidate)) * 1000 == offset
        };
        if valid(with_before, before) || !valid(with_after, after) {
            with_before
        } else {
            with_after
        }
    }

    /// The short name Java prints for pattern letter `z`, e.g. `PDT`, or `GMT+03:00`.
    pub(crate) fn abbreviation(&self, utc_millis: i64) -> String {
        let offset = self.offset_seconds(utc_millis);
        if let Some((standard, daylight)) = known_abbreviations(&self.id) {
            let (year, _, _) = civil_from_days(utc_millis.div_euclid(MILLIS_PER_DAY));
            let january = days_from_civil(year, 1, 1) * MILLIS_PER_DAY;
            let july = days_from_civil(year, 7, 1) * MILLIS_PER_DAY;
            let standard_offset = self.offset_seconds(january).min(self.offset_seconds(july));
            return if offset > standard_offset {
                daylight
            } else {
                standard
            }
            .to_string();
        }
        if offset == 0 {
            return "Z".to_string();
        }
        format!("GMT{}", format_offset(offset, true))
    }
}

/// `+H`, `+HH`, `+HHMM` or `+HH:MM` as `+HH:MM`.
fn normalize_offset(text: &str) -> Option<String> {
    let (sign, digits) = text.split_at(1);
    let digits = digits.replace(':', "");
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes) = match digits.len() {
        1 | 2 => (digits.as_str(), "00"),
        4 => digits.split_at(2),
        _ => return None,
    };
    let hours: u32 = hours.parse().ok()?;
    let minutes: u32 = minutes.parse().ok()?;
    (hours <= 18 && minutes < 60).then(|| format!("{sign}{hours:02}:{minutes:02}"))
}

/// `+HH:MM` (with colon) or `+HHMM`.
pub(crate) fn format_offset(offset_seconds: i32, colon: bool) -> String {
    let sign = if offset_seconds < 0 { '-' } else { '+' };
    let minutes = offset_seconds.abs() / 60;
    if colon {
        format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    } else {
        format!("{sign}{:02}{:02}", minutes / 60, minutes % 60)
    }
}

/// Standard and daylight abbreviations of common zones (Java's short zone names).
fn known_abbreviations(id: &str) -> Option<(&'static str, &'static str)> {
    Some(match id {
        "UTC" | "Etc/UTC" | "+00:00" => ("UTC", "UTC"),
        "GMT" | "Etc/GMT" => ("GMT", "GMT"),
        "America/Los_Angeles" | "US/Pacific" | "PST8PDT" => ("PST", "PDT"),
        "America/Denver" | "US/Mountain" | "MST7MDT" => ("MST", "MDT"),
        "America/Phoenix" => ("MST", "MST"),
        "America/Chicago" | "US/Central" | "CST6CDT" => ("CST", "CDT"),
        "America/New_York" | "US/Eastern" | "EST5EDT" => ("EST", "EDT"),
        "America/Anchorage" => ("AKST", "AKDT"),
        "Pacific/Honolulu" => ("HST", "HST"),
        "Europe/London" => ("GMT", "BST"),
        "Europe/Dublin" => ("GMT", "IST"),
        "Europe/Lisbon" => ("WET", "WEST"),
        "Europe/Paris" | "Europe/Berlin" | "Europe/Madrid" | "Europe/Rome" | "Europe/Amsterdam"
        | "Europe/Brussels" | "Europe/Vienna" | "Europe/Zurich" | "Europe/Stockholm"
        | "Europe/Oslo" | "Europe/Copenhagen" | "Europe/Prague" | "Europe/Warsaw"
        | "Europe/Budapest" | "CET" => ("CET", "CEST"),
        "Europe/Athens" | "Europe/Helsinki" | "Europe/Kiev" | "Europe/Kyiv"
        | "Europe/Bucharest" | "EET" => ("EET", "EEST"),
        "Europe/Moscow" => ("MSK", "MSK"),
        "Asia/Tokyo" => ("JST", "JST"),
        "Asia/Seoul" => ("KST", "KST"),
        "Asia/Shanghai" | "Asia/Hong_Kong" | "Asia/Taipei" => ("CST", "CST"),
        "Asia/Kolkata" | "Asia/Calcutta" => ("IST", "IST"),
        "Australia/Sydney" | "Australia/Melbourne" => ("AEST", "AEDT"),
        "Australia/Brisbane" => ("AEST", "AEST"),
        _ => return None,
    })
}

/// The zone Java's parser maps a short zone name to (e.g. `PST` -> `America/Los_Angeles`).
pub(crate) fn zone_for_abbreviation(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_uppercase().as_str() {
        "UTC" | "UT" | "Z" => "UTC",
        "GMT" => "GMT",
        "PST" | "PDT" | "PT" => "America/Los_Angeles",
        "MST" | "MDT" => "America/Denver",
        "CST" | "CDT" => "America/Chicago",
        "EST" | "EDT" => "America/New_York",
        "BST" => "Europe/London",
        "CET" | "CEST" => "Europe/Paris",
        "EET" | "EEST" => "Europe/Athens",
        "JST" => "Asia/Tokyo",
        "IST" => "Asia/Kolkata",
        "AEST" | "AEDT" => "Australia/Sydney",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips() {
        let cases = [
            (0, (1970, 1, 1)),
            (-1, (1969, 12, 31)),
            (17662, (2018, 5, 11)),
            (18993, (2022, 1, 1)),
            (11016, (2000, 2, 29)),
        ];
        for (days, civil) in cases {
            assert_eq!(civil_from_days(days), civil, "{days}");
            assert_eq!(
                days_from_civil(civil.0, civil.1, civil.2),
                days,
                "{civil:?}"
            );
        }
        assert_eq!(iso_weekday(0), 4);
        assert_eq!(iso_weekday(17662), 5);
    }

    #[test]
    fn zones_and_offsets() {
        let los_angeles = Zone::parse("America/Los_Angeles").expect("region");
        let summer = 1_526_075_913_000;
        assert_eq!(los_angeles.offset_seconds(summer), -7 * 3600);
        assert_eq!(los_angeles.abbreviation(summer), "PDT");
        assert_eq!(los_angeles.abbreviation(0), "PST");
        let cases = [
            ("+0200", 7200),
            ("+02:00", 7200),
            ("-8", -28800),
            ("GMT+3", 10800),
            ("Z", 0),
        ];
        for (id, offset) in cases {
            let zone = Zone::parse(id).expect(id);
            assert_eq!(zone.offset_seconds(0), offset, "{id}");
        }
        assert!(Zone::parse("Nowhere/City").is_none());
        // 2018-03-11 02:30 local does not exist in Los Angeles: it becomes 03:30 PDT.
        let gap_local = days_from_civil(2018, 3, 11) * MILLIS_PER_DAY + 150 * 60_000;
        let instant = los_angeles.local_to_utc(gap_local);
        assert_eq!(instant, gap_local + 8 * 3_600_000);
        assert_eq!(los_angeles.local_to_utc(summer - 7 * 3_600_000), summer);
    }
}
