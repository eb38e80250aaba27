//! Java `DateTimeFormatter` patterns (`yyyy-MM-dd'T'HH:mm:ss.SSSXXX`): compiling, formatting
//! and case-insensitive parsing.
//!
//! Supported letters: G u y D M L d E a h K k H m s S n A V z O X x Z, quoted literals and
//! `[optional]` sections. Missing fields default to 1970-01-01T00:00:00, as in ksqlDB.

use super::calendar::{
    MILLIS_PER_DAY, Zone, civil_from_days, days_from_civil, days_in_month, format_offset,
    iso_weekday, zone_for_abbreviation,
};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Literal(String),
    Field(char, usize),
    Optional(Vec<Item>),
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DateTimePattern {
    items: Vec<Item>,
}

/// What a value to format provides: a date, a time of day and a zone.
pub(crate) struct Moment<'a> {
    /// Days since the epoch, in the local zone.
    pub days: Option<i64>,
    /// Milliseconds since local midnight.
    pub millis_of_day: Option<i64>,
    /// The zone and the instant (for offsets and names).
    pub zone: Option<(&'a Zone, i64)>,
}

/// Fields read by `parse`, before defaults.
#[derive(Debug, Default, Clone)]
struct Parsed {
    year: Option<i64>,
    era_bc: bool,
    month: Option<u32>,
    day: Option<u32>,
    day_of_year: Option<u32>,
    hour: Option<u32>,
    hour_of_ampm: Option<u32>,
    pm: Option<bool>,
    minute: Option<u32>,
    second: Option<u32>,
    millis: Option<u32>,
    offset_seconds: Option<i32>,
    zone: Option<Zone>,
}

/// The local date-time a text denotes, and the zone it names, if any.
pub(crate) struct ParsedDateTime {
    pub days: i64,
    pub millis_of_day: i64,
    pub zone: Option<Zone>,
}

fn is_numeric_letter(letter: char) -> bool {
    matches!(
        letter,
        'u' | 'y' | 'D' | 'd' | 'h' | 'K' | 'k' | 'H' | 'm' | 's' | 'S' | 'n' | 'A'
    ) || (matches!(letter, 'M' | 'L'))
}

impl DateTimePattern {
    /// Compiles a Java pattern; None for an unknown letter or an unclosed quote or section.
    pub(crate) fn compile(pattern: &str) -> Option<Self> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut position = 0;
        let items = compile_items(&chars, &mut position, false)?;
        Some(Self { items })
    }

    /// Formats a moment; None when the pattern needs a field the moment lacks.
    pub(crate) fn format(&self, moment: &Moment<'_>) -> Option<String> {
        let mut out = String::new();
        format_items(&self.items, moment, &mut out)?;
        Some(out)
    }

    /// Parses the whole of `text`; None when it does not match or names an invalid date.
    pub(crate) fn parse(&self, text: &str) -> Option<ParsedDateTime> {
        let chars: Vec<char> = text.chars().collect();
        let mut parsed = Parsed::default();
        let end = parse_items(&self.items, &chars, 0, &mut parsed)?;
        if end != chars.len() {
            return None;
        }
        resolve(parsed)
    }
}

fn compile_items(chars: &[char], position: &mut usize, in_optional: bool) -> Option<Vec<Item>> {
    let mut items = Vec::new();
    while *position < chars.len() {
        let character = chars[*position];
        match character {
            '\'' => {
                *position += 1;
                let mut literal = String::new();
                loop {
                    let next = *chars.get(*position)?;
                    *position += 1;
                    if next == '\'' {
                        if chars.get(*position) == Some(&'\'') {
                            literal.push('\'');
                            *position += 1;
                        } else {
                            break;
                        }
                    } else {
                        literal.push(next);
                    }
                }
                if literal.is_empty() {
                    literal.push('\'');
                }
                items.push(Item::Literal(literal));
            }
            '[' => {
                *position += 1;
                items.push(Item::Optional(compile_items(chars, position, true)?));
            }
            ']' => {
                *position += 1;
                return in_optional.then_some(items);
            }
            letter if letter.is_ascii_alphabetic() => {
                let mut count = 0;
                while chars.get(*position) == Some(&letter) {
                    count += 1;
                    *position += 1;
                }
                if !"GuyDMLdEahKkHmsSnAVzOXxZ".contains(letter) {
                    return None;
                }
                items.push(Item::Field(letter, count));
            }
            '#' | '{' | '}' => return None,
            other => {
                items.push(Item::Literal(other.to_string()));
                *position += 1;
            }
        }
    }
    (!in_optional).then_some(items)
}

fn pad(value: i64, width: usize) -> String {
    if value < 0 {
        format!("-{:0width$}", -value)
    } else {
        format!("{value:0width$}")
    }
}

fn format_items(items: &[Item], moment: &Moment<'_>, out: &mut String) -> Option<()> {
    for item in items {
        match item {
            Item::Literal(text) => out.push_str(text),
            Item::Optional(inner) => {
                let mut section = String::new();
                if format_items(inner, moment, &mut section).is_some() {
                    out.push_str(&section);
                }
            }
            Item::Field(letter, count) => out.push_str(&format_field(*letter, *count, moment)?),
        }
    }
    Some(())
}

fn format_field(letter: char, count: usize, moment: &Moment<'_>) -> Option<String> {
    let date = || moment.days.map(|days| (days, civil_from_days(days)));
    let time = || moment.millis_of_day;
    let offset = || {
        moment
            .zone
            .map(|(zone, instant)| zone.offset_seconds(instant))
    };
    Some(match letter {
        'G' => {
            let (_, (year, _, _)) = date()?;
            if year > 0 { "AD" } else { "BC" }.to_string()
        }
        'u' | 'y' => {
            let (_, (year, _, _)) = date()?;
            let year = if letter == 'y' && year <= 0 {
                1 - year
            } else {
                year
            };
            if count == 2 {
                pad(year.rem_euclid(100), 2)
            } else {
                pad(year, count)
            }
        }
        'M' | 'L' => {
            let (_, (_, month, _)) = date()?;
            let name = MONTHS[month as usize - 1];
            match count {
                1 | 2 => pad(i64::from(month), count),
                3 => name[..3].to_string(),
                4 => name.to_string(),
                _ => name[..1].to_string(),
            }
        }
        'd' => pad(i64::from(date()?.1.2), count),
        'D' => {
            let (days, (year, _, _)) = date()?;
            pad(days - days_from_civil(year, 1, 1) + 1, count)
        }
        'E' => {
            let (days, _) = date()?;
            let name = WEEKDAYS[iso_weekday(days) as usize - 1];
            match count {
                1..=3 => name[..3].to_string(),
                4 => name.to_string(),
                _ => name[..1].to_string(),
            }
        }
        'a' => if time()? < MILLIS_PER_DAY / 2 {
            "AM"
        } else {
            "PM"
        }
        .to_string(),
        'H' => pad(time()? / 3_600_000, count),
        'k' => {
            let hour = time()? / 3_600_000;
            pad(if hour == 0 { 24 } else { hour }, count)
        }
        'K' => pad(time()? / 3_600_000 % 12, count),
        'h' => {
            let hour = time()? / 3_600_000 % 12;
            pad(if hour == 0 { 12 } else { hour }, count)
        }
        'm' => pad(time()? / 60_000 % 60, count),
        's' => pad(time()? / 1000 % 60, count),
        'S' => {
            let nanos = format!("{:09}", time()? % 1000 * 1_000_000);
            if count <= 9 {
                nanos[..count].to_string()
            } else {
                format!("{nanos:0<count$}")
            }
        }
        'n' => pad(time()? % 1000 * 1_000_000, count),
        'A' => pad(time()?, count),
        'V' => moment.zone?.0.id.clone(),
        'z' => {
            let (zone, instant) = moment.zone?;
            zone.abbreviation(instant)
        }
        'O' => {
            let offset = offset()?;
            if offset == 0 {
                "GMT".to_string()
            } else if count == 4 {
                format!("GMT{}", format_offset(offset, true))
            } else {
                let minutes = offset.abs() / 60;
                let sign = if offset < 0 { '-' } else { '+' };
                match minutes % 60 {
                    0 => format!("GMT{sign}{}", minutes / 60),
                    rest => format!("GMT{sign}{}:{rest:02}", minutes / 60),
                }
            }
        }
        'X' | 'x' | 'Z' => {
            let offset = offset()?;
            if offset == 0 && (letter == 'X' || (letter == 'Z' && count == 5)) {
                return Some("Z".to_string());
            }
            match (letter, count) {
                ('Z', 4) if offset == 0 => "GMT".to_string(),
                ('Z', 4) => format!("GMT{}", format_offset(offset, true)),
                ('Z', 5) | (_, 3) | (_, 5) => format_offset(offset, true),
                ('Z', _) | (_, 2) | (_, 4) => format_offset(offset, false),
                _ => {
                    let text = format_offset(offset, false);
                    if text.ends_with("00") {
                        text[..3].to_string()
                    } else {
                        text
                    }
                }
            }
        }
        _ => return None,
    })
}

/// Reads up to `max` digits (at least `min`) at `position`.
fn parse_digits(text: &[char], position: usize, min: usize, max: usize) -> Option<(i64, usize)> {
    let mut end = position;
    while end < text.len() && end - position < max && text[end].is_ascii_digit() {
        end += 1;
    }
    if end - position < min {
        return None;
    }
    let digits: String = text[position..end].iter().collect();
    Some((digits.parse().ok()?, end))
}

/// Matches one of `names` case-insensitively; returns its index and the end position.
fn parse_name(text: &[char], position: usize, names: &[String]) -> Option<(usize, usize)> {
    names
        .iter()
        .enumerate()
        .filter(|(_, name)| {
            let length = name.chars().count();
            position + length <= text.len()
                && text[position..position + length]
                    .iter()
                    .collect::<String>()
                    .eq_ignore_ascii_case(name)
        })
        .max_by_key(|(_, name)| name.len())
        .map(|(index, name)| (index, position + name.chars().count()))
}

/// Parses `+HH`, `+HHMM` or `+HH:MM` (or `Z` when `z_allowed`) as seconds east of UTC.
fn parse_offset(text: &[char], position: usize, z_allowed: bool) -> Option<(i32, usize)> {
    match text.get(position)? {
        'Z' | 'z' if z_allowed => Some((0, position + 1)),
        sign @ ('+' | '-') => {
            let (hours, mut end) = parse_digits(text, position + 1, 2, 2)?;
            let mut minutes = 0;
            if text.get(end) == Some(&':') {
                let (value, next) = parse_digits(text, end + 1, 2, 2)?;
                minutes = value;
                end = next;
            } else if let Some((value, next)) = parse_digits(text, end, 2, 2) {
                minutes = value;
                end = next;
            }
            let seconds = (hours * 3600 + minutes * 60) as i32;
            Some((if *sign == '-' { -seconds } else { seconds }, end))
        }
        _ => None,
    }
}

fn next_is_numeric(items: &[Item], index: usize) -> bool {
    matches!(items.get(index + 1), Some(Item::Field(letter, count))
        if is_numeric_letter(*letter) && !(matches!(letter, 'M' | 'L') && *count >= 3))
}

fn parse_items(
    items: &[Item],
    text: &[char],
    mut position: usize,
    parsed: &mut Parsed,
) -> Option<usize> {
    for (index, item) in items.iter().enumerate() {
        position = match item {
            Item::Literal(literal) => {
                let length = literal.chars().count();
                let found: String = text.get(position..position + length)?.iter().collect();
                if !found.eq_ignore_ascii_case(literal) {
                    return None;
                }
                position + length
            }
            Item::Optional(inner) => {
                let mut attempt = parsed.clone();
                match parse_items(inner, text, position, &mut attempt) {
                    Some(end) => {
                        *parsed = attempt;
                        end
                    }
                    None => position,
                }
            }
            Item::Field(letter, count) => {
                let adjacent = next_is_numeric(items, index);
                parse_field(*letter, *count, adjacent, text, position, parsed)?
            }
        };
    }
    Some(position)
}

fn parse_field(
    letter: char,
    count: usize,
    adjacent: bool,
    text: &[char],
    position: usize,
    parsed: &mut Parsed,
) -> Option<usize> {
    // Width of a plain number: exact for padded fields and before another number.
    let number = |max_single: usize| -> Option<(i64, usize)> {
        if count >= 2 || adjacent {
            parse_digits(text, position, count, count)
        } else {
            parse_digits(text, position, 1, max_single)
        }
    };
    let small = |value: i64| u32::try_from(value).ok();
    let end = match letter {
        'G' => {
            let names = ["AD".to_string(), "BC".to_string()];
            let (index, end) = parse_name(text, position, &names)?;
            parsed.era_bc = index == 1;
            end
        }
        'u' | 'y' => {
            let (sign, start) = match text.get(position) {
                Some('-') if letter == 'u' => (-1, position + 1),
                Some('+') => (1, position + 1),
                _ => (1, position),
            };
            let (value, end) = if count == 2 {
                let (value, end) = parse_digits(text, start, 2, 2)?;
                (2000 + value, end)
            } else if adjacent {
                parse_digits(text, start, count, count)?
            } else {
                parse_digits(text, start, count.max(1), 9)?
            };
            parsed.year = Some(sign * value);
            end
        }
        'M' | 'L' if count >= 3 => {
            let names: Vec<String> = MONTHS
                .iter()
                .map(|name| match count {
                    3 => name[..3].to_string(),
                    4 => name.to_string(),
                    _ => name[..1].to_string(),
                })
                .collect();
            let (index, end) = parse_name(text, position, &names)?;
            parsed.month = Some(index as u32 + 1);
            end
        }
        'M' | 'L' => {
            let (value, end) = number(2)?;
            parsed.month = Some(small(value)?);
            end
        }
        'd' => {
            let (value, end) = number(2)?;
            parsed.day = Some(small(value)?);
            end
        }
        'D' => {
            let (value, end) = number(3)?;
            parsed.day_of_year = Some(small(value)?);
            end
        }
        'E' => {
            let names: Vec<String> = WEEKDAYS
                .iter()
                .map(|name| {
                    if count == 4 {
                        name.to_string()
                    } else {
                        name[..3].to_string()
                    }
                })
                .collect();
            parse_name(text, position, &names)?.1
        }
        'a' => {
            let names = ["AM".to_string(), "PM".to_string()];
            let (index, end) = parse_name(text, position, &names)?;
            parsed.pm = Some(index == 1);
            end
        }
        'H' | 'k' => {
            let (value, end) = number(2)?;
            let hour = small(value)?;
            parsed.hour = Some(if letter == 'k' && hour == 24 { 0 } else { hour });
            end
        }
        'h' | 'K' => {
            let (value, end) = number(2)?;
            parsed.hour_of_ampm = Some(small(value)? % 12);
            end
        }
        'm' => {
            let (value, end) = number(2)?;
            parsed.minute = Some(small(value)?);
            end
        }
        's' => {
            let (value, end) = number(2)?;
            parsed.second = Some(small(value)?);
            end
        }
        'S' => {
            let (value, end) = parse_digits(text, position, count, count)?;
            let millis = match count {
                1 => value * 100,
                2 => value * 10,
                3 => value,
                digits => value / 10_i64.pow(digits as u32 - 3),
            };
            parsed.millis = Some(small(millis)?);
            end
        }
        'n' => {
            let (value, end) = parse_digits(text, position, 1, 9)?;
            parsed.millis = Some(small(value / 1_000_000)?);
            end
        }
        'A' => {
            let (value, end) = parse_digits(text, position, 1, 8)?;
            let value = small(value)?;
            parsed.hour = Some(value / 3_600_000);
            parsed.minute = Some(value / 60_000 % 60);
            parsed.second = Some(value / 1000 % 60);
            parsed.millis = Some(value % 1000);
            end
        }
        'V' | 'z' => {
            let mut end = position;
            while end < text.len()
                && (text[end].is_ascii_alphanumeric() || matches!(text[end], '/' | '_' | '+' | '-'))
            {
                end += 1;
            }
            let name: String = text[position..end].iter().collect();
            let zone = Zone::parse(&name)
                .or_else(|| zone_for_abbreviation(&name).and_then(Zone::parse))?;
            parsed.zone = Some(zone);
            end
        }
        'O' => {
            let rest = position + 3;
            let prefix: String = text.get(position..rest)?.iter().collect();
            if !prefix.eq_ignore_ascii_case("GMT") {
                return None;
            }
            match parse_offset(text, rest, false) {
                Some((offset, end)) => {
                    parsed.offset_seconds = Some(offset);
                    end
                }
                None => {
                    parsed.offset_seconds = Some(0);
                    rest
                }
            }
        }
        'X' | 'x' | 'Z' => {
            let z_allowed = letter == 'X' || (letter == 'Z' && count == 5);
            let (offset, end) = parse_offset(text, position, z_allowed)?;
            parsed.offset_seconds = Some(offset);
            end
        }
        _ => return None,
    };
    Some(end)
}

fn resolve(parsed: Parsed) -> Option<ParsedDateTime> {
    let mut year = parsed.year.unwrap_or(1970);
    if parsed.era_bc {
        year = 1 - year;
    }
    let days = match (parsed.day_of_year, parsed.month, parsed.day) {
        (Some(day_of_year), None, None) => {
            let length = if super::calendar::is_leap_year(year) {
                366
            } else {
                365
            };
            if day_of_year == 0 || day_of_year > length {
                return None;
            }
            days_from_civil(year, 1, 1) + i64::from(day_of_year) - 1
        }
        (_, month, day) => {
            let month = month.unwrap_or(1);
            let day = day.unwrap_or(1);
            if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
                return None;
            }
            // Java's smart resolver moves the 29th-31st to the month's last day.
            days_from_civil(year, month, day.min(days_in_month(year, month)))
        }
    };
    let hour = match (parsed.hour, parsed.hour_of_ampm) {
        (Some(hour), _) => hour,
        (None, Some(hour)) => hour + if parsed.pm == Some(true) { 12 } else { 0 },
        (None, None) => 0,
    };
    let minute = parsed.minute.unwrap_or(0);
    let second = parsed.second.unwrap_or(0);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let millis_of_day = i64::from(hour) * 3_600_000
        + i64::from(minute) * 60_000
        + i64::from(second) * 1000
        + i64::from(parsed.millis.unwrap_or(0));
    let zone = match parsed.offset_seconds {
        Some(offset) => Zone::fixed(offset),
        None => parsed.zone,
    };
    Some(ParsedDateTime {
        days,
        millis_of_day,
        zone,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format_timestamp(pattern: &str, utc_millis: i64, zone: &str) -> Option<String> {
        let zone = Zone::parse(zone).expect("zone");
        let local = utc_millis + i64::from(zone.offset_seconds(utc_millis)) * 1000;
        DateTimePattern::compile(pattern)?.format(&Moment {
            days: Some(local.div_euclid(MILLIS_PER_DAY)),
            millis_of_day: Some(local.rem_euclid(MILLIS_PER_DAY)),
            zone: Some((&zone, utc_millis)),
        })
    }

    #[test]
    fn formats_java_patterns() {
        let instant = 1_526_075_913_123;
        let cases = [
            ("yyyy-MM-dd HH:mm:ss.SSS", "UTC", "2018-05-11 21:58:33.123"),
            (
                "yyyy-MM-dd HH:mm:ss zzz",
                "America/Los_Angeles",
                "2018-05-11 14:58:33 PDT",
            ),
            (
                "yyyy-MM-dd HH:mm:ss zzz",
                "Europe/London",
                "2018-05-11 22:58:33 BST",
            ),
            (
                "yyyy-MM-dd'T'HH:mm:ssXXX",
                "+05:30",
                "2018-05-12T03:28:33+05:30",
            ),
            ("yyyy-MM-dd'T'HH:mm:ssX", "UTC", "2018-05-11T21:58:33Z"),
            ("yyMMddZ", "-08:00", "180511-0800"),
            (
                "EEE, d MMM yyyy hh:mm a",
                "UTC",
                "Fri, 11 May 2018 09:58 PM",
            ),
            ("EEEE MMMM D", "UTC", "Friday May 131"),
            ("'It''s' h 'o''clock'", "UTC", "It's 9 o'clock"),
            ("yyyy[ VV]", "Asia/Tokyo", "2018 Asia/Tokyo"),
        ];
        for (pattern, zone, expected) in cases {
            assert_eq!(
                format_timestamp(pattern, instant, zone).as_deref(),
                Some(expected),
                "{pattern}"
            );
        }
        assert!(DateTimePattern::compile("yyyy-MM-dd'T").is_none());
        assert!(DateTimePattern::compile("yyyy-bb").is_none());
        let date_only = Moment {
            days: Some(0),
            millis_of_day: None,
            zone: None,
        };
        let pattern = DateTimePattern::compile("HH:mm").expect("valid");
        assert_eq!(pattern.format(&date_only), None);
    }

    #[test]
    fn parses_java_patterns() {
        let cases = [
            (
                "yyyy-MM-dd'T'HH:mm:ss",
                "2018-05-11T21:58:33",
                17662,
                79_113_000,
                None,
            ),
            ("yyyy-MM-dd'Lit'", "2018-05-11lit", 17662, 0, None),
            ("dd-MMM-yyyy", "01-JAN-2022", 18993, 0, None),
            ("MMM-yyyy", "jan-2022", 18993, 0, None),
            ("hh:mm:ss a", "01:00:00 Pm", 0, 46_800_000, None),
            ("HH/mm/ss", "11/05/19", 0, 39_919_000, None),
            (
                "yyyyMMddHHmmssSSS",
                "20180511215833123",
                17662,
                79_113_123,
                None,
            ),
            (
                "yyyy-MM-dd HH:mm:ssXXX",
                "2018-05-11 21:58:33+02:00",
                17662,
                79_113_000,
                Some(7200),
            ),
            ("yyyy-MM-dd[ HH:mm]", "2018-05-11", 17662, 0, None),
            ("d/M/yy", "1/2/03", 12084, 0, None),
        ];
        for (pattern, text, days, millis, offset) in cases {
            let parsed = DateTimePattern::compile(pattern)
                .and_then(|pattern| pattern.parse(text))
                .unwrap_or_else(|| panic!("{pattern} parses {text}"));
            assert_eq!(
                (parsed.days, parsed.millis_of_day),
                (days, millis),
                "{pattern}"
            );
            assert_eq!(
                parsed.zone.map(|zone| zone.offset_seconds(0)),
                offset,
                "{pattern}"
            );
        }
        let bad = [
            ("yyyy-MM-dd", "2018-13-01"),
            ("yyyy-MM-dd", "2018-05-11 extra"),
            ("yyyy-MM-dd", "nope"),
            ("HH:mm", "25:00"),
        ];
        for (pattern, text) in bad {
            let pattern = DateTimePattern::compile(pattern).expect("valid pattern");
            assert!(pattern.parse(text).is_none(), "{text}");
        }
        let zoned = DateTimePattern::compile("yyyy-MM-dd'T'HH:mm:ss zzz")
            .and_then(|pattern| pattern.parse("2018-05-11T21:58:33 PST"))
            .expect("zone name parses");
        assert_eq!(
            zoned.zone.map(|zone| zone.id),
            Some("America/Los_Angeles".to_string())
        );
    }
}
