//! Java `DateTimeFormatter` patterns (`yyyy-MM-dd'T'HH:mm:ss.SSSXXX`): compiling, formatting
//! and case-insensitive parsing.
//!
//! Supported letters: G u y D M L d E a h K k H m s S n A V z O X x Z, quoted literals and
//! `[optional]` sections. Missing fields default to 1970-01-01T00:00:00, as in ksqlDB.

mod parse;

use super::calendar::{
    MILLIS_PER_DAY, Zone, civil_from_days, days_from_civil, format_offset, iso_weekday,
};

use self::parse::{Parsed, parse_items, resolve};

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

#[cfg(test)]
mod tests;
