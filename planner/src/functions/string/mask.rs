//! ksqlDB masking functions: MASK, MASK_LEFT, MASK_RIGHT, MASK_KEEP_LEFT, MASK_KEEP_RIGHT.
//!
//! Upper-case letters become 'X', lower-case 'x', digits 'n' and anything else '-', unless
//! the call gives its own mask characters (a NULL mask leaves that class unmasked).

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;

use super::{build_strings, int_at, string_at};
use crate::functions::FunctionCategory;
use crate::functions::signature::{Overload, ParamType, ReturnType};
use crate::functions::udf::{EvalArgs, FunctionDefinition};

pub(super) fn definitions() -> Vec<FunctionDefinition> {
    use ParamType::{Int, String as Str};
    let string = || ReturnType::Fixed(DataType::Utf8);
    let category = FunctionCategory::String;
    let counted = |name, description, eval| {
        FunctionDefinition::new(
            name,
            category,
            description,
            vec![
                Overload::new(vec![Str, Int], string()),
                Overload::new(vec![Str, Int, Str, Str, Str, Str], string()),
            ],
            eval,
        )
    };
    vec![
        FunctionDefinition::new(
            "MASK",
            category,
            "Masks every character of a string",
            vec![
                Overload::new(vec![Str], string()),
                Overload::new(vec![Str, Str, Str, Str, Str], string()),
            ],
            eval_mask,
        ),
        counted(
            "MASK_LEFT",
            "Masks the first n characters of a string",
            eval_mask_left,
        ),
        counted(
            "MASK_RIGHT",
            "Masks the last n characters of a string",
            eval_mask_right,
        ),
        counted(
            "MASK_KEEP_LEFT",
            "Masks all but the first n characters of a string",
            eval_mask_keep_left,
        ),
        counted(
            "MASK_KEEP_RIGHT",
            "Masks all but the last n characters of a string",
            eval_mask_keep_right,
        ),
    ]
}

/// The replacement for each class of character; None leaves the class as it is.
struct Masker {
    upper: Option<char>,
    lower: Option<char>,
    digit: Option<char>,
    other: Option<char>,
}

impl Masker {
    const DEFAULT: Masker = Masker {
        upper: Some('X'),
        lower: Some('x'),
        digit: Some('n'),
        other: Some('-'),
    };

    fn mask_char(&self, character: char) -> char {
        let mask = if character.is_uppercase() {
            self.upper
        } else if character.is_lowercase() {
            self.lower
        } else if character.is_numeric() {
            self.digit
        } else {
            self.other
        };
        mask.unwrap_or(character)
    }

    /// Masks the characters whose index is in `range`.
    fn mask(&self, value: &str, range: std::ops::Range<usize>) -> String {
        value
            .chars()
            .enumerate()
            .map(|(index, character)| {
                if range.contains(&index) {
                    self.mask_char(character)
                } else {
                    character
                }
            })
            .collect()
    }
}

/// Reads the optional mask characters starting at argument `first`. A mask that is not
/// exactly one character makes the row null (ksqlDB fails the call).
fn masker_at(args: &EvalArgs<'_>, first: usize, row: usize) -> Result<Option<Masker>> {
    if args.args.len() <= first {
        return Ok(Some(Masker::DEFAULT));
    }
    let mut masks = [None; 4];
    for (slot, array) in masks.iter_mut().zip(&args.args[first..]) {
        if let Some(mask) = string_at(array, row)? {
            let mut chars = mask.chars();
            match (chars.next(), chars.next()) {
                (Some(character), None) => *slot = Some(character),
                _ => return Ok(None),
            }
        }
    }
    let [upper, lower, digit, other] = masks;
    Ok(Some(Masker {
        upper,
        lower,
        digit,
        other,
    }))
}

fn eval_mask(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let masked = match (string_at(&args.args[0], row)?, masker_at(args, 1, row)?) {
            (Some(value), Some(masker)) => Some(masker.mask(value, 0..usize::MAX)),
            _ => None,
        };
        out.push(masked);
    }
    Ok(build_strings(args.rows, |row| out[row].take()))
}

/// Masks the index range that `range(length, count)` picks for each row.
fn eval_counted(
    args: &EvalArgs<'_>,
    range: fn(usize, usize) -> std::ops::Range<usize>,
) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let count = int_at(&args.args[1], row)?.and_then(|count| usize::try_from(count).ok());
        let masked = match (
            string_at(&args.args[0], row)?,
            count,
            masker_at(args, 2, row)?,
        ) {
            (Some(value), Some(count), Some(masker)) => {
                let length = value.chars().count();
                Some(masker.mask(value, range(length, count.min(length))))
            }
            _ => None,
        };
        out.push(masked);
    }
    Ok(build_strings(args.rows, |row| out[row].take()))
}

fn eval_mask_left(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    eval_counted(args, |_, count| 0..count)
}

fn eval_mask_right(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    eval_counted(args, |length, count| length - count..length)
}

fn eval_mask_keep_left(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    eval_counted(args, |length, count| count..length)
}

fn eval_mask_keep_right(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    eval_counted(args, |length, count| 0..length - count)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int32Array, StringArray};

    use crate::functions::testing::{call, rows};

    fn strings(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(values.iter().copied().collect::<StringArray>())
    }

    use super::*;

    #[test]
    fn default_masks() {
        let input = strings(&[Some("AbCd#$123xy Z"), None]);
        let count: ArrayRef = Arc::new(Int32Array::from(vec![Some(5), Some(5)]));
        let cases = [
            ("MASK", false, "XxXx--nnnxx-X"),
            ("MASK_LEFT", true, "XxXx-$123xy Z"),
            ("MASK_RIGHT", true, "AbCd#$12nxx-X"),
            ("MASK_KEEP_LEFT", true, "AbCd#-nnnxx-X"),
            ("MASK_KEEP_RIGHT", true, "XxXx--nn3xy Z"),
        ];
        for (name, counted, expected) in cases {
            let args = if counted {
                vec![Arc::clone(&input), Arc::clone(&count)]
            } else {
                vec![Arc::clone(&input)]
            };
            let result = call(name, args).expect(name);
            assert_eq!(rows(&result), vec![expected, "NULL"], "{name}");
        }
    }

    #[test]
    fn custom_masks_and_bad_counts() {
        let result = call(
            "MASK",
            vec![
                strings(&[Some("Ab1-"), Some("Ab1-")]),
                strings(&[Some("U"), Some("UU")]),
                strings(&[None, Some("l")]),
                strings(&[Some("d"), Some("d")]),
                strings(&[Some("o"), Some("o")]),
            ],
        )
        .expect("mask");
        assert_eq!(rows(&result), vec!["Ubdo", "NULL"]);
        let result = call(
            "MASK_LEFT",
            vec![
                strings(&[Some("abc"), Some("abc")]),
                Arc::new(Int32Array::from(vec![Some(-1), Some(10)])),
            ],
        )
        .expect("mask_left");
        assert_eq!(rows(&result), vec!["NULL", "xxx"]);
    }
}
