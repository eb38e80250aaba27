//! Parsing text with a compiled pattern: fields are read case-insensitively into `Parsed`,
//! then `resolve` checks them and fills in ksqlDB's defaults.

use super::{Item, MONTHS, ParsedDateTime, WEEKDAYS, is_numeric_letter};
use crate::functions::datetime::calendar::{
    Zone, days_from_civil, days_in_month, zone_for_abbreviation,
};

/// Fields read by `parse`, before defaults.
#[derive(Debug, Default, Clone)]
pub(super) struct Parsed {
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

pub(super) fn parse_items(
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

pub(super) fn resolve(parsed: Parsed) -> Option<ParsedDateTime> {
    let mut year = parsed.year.unwrap_or(1970);
    if parsed.era_bc {
        year = 1 - year;
    }
    let days = match (parsed.day_of_year, parsed.month, parsed.day) {
        (Some(day_of_year), None, None) => {
            let length = if crate::functions::datetime::calendar::is_leap_year(year) {
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
