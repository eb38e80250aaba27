//! ksqlDB regular-expression functions: REGEXP_EXTRACT, REGEXP_EXTRACT_ALL, REGEXP_REPLACE
//! and REGEXP_SPLIT_TO_ARRAY.
//!
//! Patterns are compiled with the Rust `regex` engine that DataFusion uses (via
//! `compile_regex`), once per distinct pattern in a batch. Java-only syntax (look-around,
//! back-references) does not compile and gives null, as does any invalid pattern.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, ListBuilder, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::functions::regex::compile_regex;

use super::FunctionCategory;
use super::signature::{Overload, ParamType, ReturnType, list_type};
use super::string::{build_strings, int_at, string_at};
use super::udf::{EvalArgs, FunctionDefinition};

pub(super) fn definitions() -> Vec<FunctionDefinition> {
    use ParamType::{Int, String as Str};
    let category = FunctionCategory::RegularExpression;
    let string = || ReturnType::Fixed(DataType::Utf8);
    let strings = || ReturnType::Fixed(list_type(DataType::Utf8));
    vec![
        FunctionDefinition::new(
            "REGEXP_EXTRACT",
            category,
            "Returns the first match of a pattern in a string, or of one of its groups",
            vec![
                Overload::new(vec![Str, Str], string()),
                Overload::new(vec![Str, Str, Int], string()),
            ],
            eval_extract,
        ),
        FunctionDefinition::new(
            "REGEXP_EXTRACT_ALL",
            category,
            "Returns every match of a pattern in a string, or of one of its groups",
            vec![
                Overload::new(vec![Str, Str], strings()),
                Overload::new(vec![Str, Str, Int], strings()),
            ],
            eval_extract_all,
        ),
        FunctionDefinition::new(
            "REGEXP_REPLACE",
            category,
            "Replaces every match of a pattern in a string; $n in the replacement is group n",
            vec![Overload::new(vec![Str, Str, Str], string())],
            eval_replace,
        ),
        FunctionDefinition::new(
            "REGEXP_SPLIT_TO_ARRAY",
            category,
            "Splits a string into an array around the matches of a pattern",
            vec![Overload::new(vec![Str, Str], strings())],
            eval_split,
        ),
    ]
}

/// The capture group of each row (0 when the call has none); None for a null group.
fn group_at(args: &EvalArgs<'_>, row: usize) -> Result<Option<usize>> {
    match args.args.get(2) {
        Some(groups) => Ok(int_at(groups, row)?.and_then(|group| usize::try_from(group).ok())),
        None => Ok(Some(0)),
    }
}

fn eval_extract(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut cache = HashMap::new();
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let (Some(pattern), Some(input), Some(group)) = (
            string_at(&args.args[0], row)?,
            string_at(&args.args[1], row)?,
            group_at(args, row)?,
        ) else {
            out.push(None);
            continue;
        };
        let regex = cache
            .entry(pattern)
            .or_insert_with(|| compile_regex(pattern, None).ok());
        let extracted = match regex {
            Some(regex) if group < regex.captures_len() => regex
                .captures(input)
                .and_then(|captures| captures.get(group))
                .map(|found| found.as_str().to_string()),
            _ => None,
        };
        out.push(extracted);
    }
    Ok(build_strings(args.rows, |row| out[row].take()))
}

fn eval_extract_all(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut cache = HashMap::new();
    let mut builder = ListBuilder::new(StringBuilder::new());
    for row in 0..args.rows {
        let (Some(pattern), Some(input), Some(group)) = (
            string_at(&args.args[0], row)?,
            string_at(&args.args[1], row)?,
            group_at(args, row)?,
        ) else {
            builder.append(false);
            continue;
        };
        let regex = cache
            .entry(pattern)
            .or_insert_with(|| compile_regex(pattern, None).ok());
        match regex {
            Some(regex) if group < regex.captures_len() => {
                for captures in regex.captures_iter(input) {
                    builder
                        .values()
                        .append_option(captures.get(group).map(|found| found.as_str()));
                }
                builder.append(true);
            }
            _ => builder.append(false),
        }
    }
    Ok(Arc::new(builder.finish()))
}

/// Rewrites a Java replacement string (`$1`, `${name}`, `\$`) into the `regex` crate's
/// syntax (`${1}`, `${name}`, `$$`).
fn java_replacement(replacement: &str, groups: usize) -> String {
    let mut out = String::with_capacity(replacement.len());
    let mut chars = replacement.chars().peekable();
    while let Some(character) = chars.next() {
        match character {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(escaped) => out.push(escaped),
                None => {}
            },
            '$' => match chars.peek() {
                Some('{') => {
                    out.push('$');
                    for name_char in chars.by_ref() {
                        out.push(name_char);
                        if name_char == '}' {
                            break;
                        }
                    }
                }
                Some(digit) if digit.is_ascii_digit() => {
                    // Java takes more digits only while they still name a group.
                    let mut number = 0usize;
                    let mut first = true;
                    while let Some(digit) = chars.peek().and_then(|c| c.to_digit(10)) {
                        let candidate = number * 10 + digit as usize;
                        if !first && candidate >= groups {
                            break;
                        }
                        number = candidate;
                        first = false;
                        chars.next();
                    }
                    out.push_str(&format!("${{{number}}}"));
                }
                _ => out.push_str("$$"),
            },
            other => out.push(other),
        }
    }
    out
}

fn eval_replace(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut cache = HashMap::new();
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let (Some(input), Some(pattern), Some(replacement)) = (
            string_at(&args.args[0], row)?,
            string_at(&args.args[1], row)?,
            string_at(&args.args[2], row)?,
        ) else {
            out.push(None);
            continue;
        };
        let regex = cache
            .entry(pattern)
            .or_insert_with(|| compile_regex(pattern, None).ok());
        out.push(match regex {
            Some(regex) => {
                let replacement = java_replacement(replacement, regex.captures_len());
                Some(regex.replace_all(input, replacement.as_str()).into_owned())
            }
            None => None,
        });
    }
    Ok(build_strings(args.rows, |row| out[row].take()))
}

fn eval_split(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut cache = HashMap::new();
    let mut builder = ListBuilder::new(StringBuilder::new());
    for row in 0..args.rows {
        let (Some(input), Some(pattern)) = (
            string_at(&args.args[0], row)?,
            string_at(&args.args[1], row)?,
        ) else {
            builder.append(false);
            continue;
        };
        let regex = cache
            .entry(pattern)
            .or_insert_with(|| compile_regex(pattern, None).ok());
        match regex {
            // A pattern matching the empty string splits every character, like Java.
            Some(regex) if regex.is_match("") => {
                if input.is_empty() {
                    builder.values().append_value("");
                }
                for character in input.chars() {
                    builder.values().append_value(character.to_string());
                }
                builder.append(true);
            }
            Some(regex) => {
                for part in regex.split(input) {
                    builder.values().append_value(part);
                }
                builder.append(true);
            }
            None => builder.append(false),
        }
    }
    Ok(Arc::new(builder.finish()))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int32Array, StringArray};

    use super::*;
    use crate::functions::testing::{call, rows};

    fn strings(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(values.iter().copied().collect::<StringArray>())
    }

    fn repeat(value: &str, count: usize) -> ArrayRef {
        strings(&vec![Some(value); count])
    }

    #[test]
    fn extract_first_match_or_group() {
        let inputs = strings(&[
            Some("some_test_string"),
            Some("anothertest"),
            Some("testa"),
            None,
        ]);
        let result = call("REGEXP_EXTRACT", vec![repeat("test.", 4), inputs]).expect("extract");
        assert_eq!(rows(&result), vec!["test_", "NULL", "testa", "NULL"]);
        let inputs = strings(&[Some("steven zhang"), Some("agavra"), Some("a b")]);
        let groups: ArrayRef = Arc::new(Int32Array::from(vec![Some(2), Some(2), Some(3)]));
        let result = call(
            "REGEXP_EXTRACT",
            vec![repeat("(.*) (.*)", 3), inputs, groups],
        )
        .expect("extract group");
        assert_eq!(rows(&result), vec!["zhang", "NULL", "NULL"]);
        let result =
            call("REGEXP_EXTRACT", vec![repeat("(", 1), repeat("x", 1)]).expect("bad pattern");
        assert_eq!(rows(&result), vec!["NULL"]);
    }

    #[test]
    fn extract_all_matches() {
        let inputs = strings(&[
            Some("steven zhang andy coates"),
            Some("apurva mehta agavra "),
            Some("agavra"),
            None,
        ]);
        let groups: ArrayRef = Arc::new(Int32Array::from(vec![Some(2); 4]));
        let result = call(
            "REGEXP_EXTRACT_ALL",
            vec![repeat("(\\w+) (\\w*)", 4), inputs, groups],
        )
        .expect("extract all");
        let printed = rows(&result);
        assert_eq!(printed[0], "[zhang, coates]");
        assert_eq!(printed[1], "[mehta, ]");
        assert_eq!(printed[2], "[]");
        assert_eq!(printed[3], "NULL");
    }

    #[test]
    fn replace_with_java_group_references() {
        let cases = [
            ("baababaa", "(ab)+", "cat", "bacataa"),
            ("baabbabaa", "(ab)+", "cat", "bacatbcataa"),
            ("john smith", "(\\w+) (\\w+)", "$2, $1", "smith, john"),
            ("a1", "(\\d)", "$1a", "a1a"),
            ("cost", "o", "\\$", "c$st"),
        ];
        for (input, pattern, replacement, expected) in cases {
            let result = call(
                "REGEXP_REPLACE",
                vec![repeat(input, 1), repeat(pattern, 1), repeat(replacement, 1)],
            )
            .expect("replace");
            assert_eq!(
                rows(&result),
                vec![expected],
                "{input} {pattern} {replacement}"
            );
        }
        let result = call(
            "REGEXP_REPLACE",
            vec![
                strings(&[None, Some("x")]),
                strings(&[Some("x"), None]),
                repeat("y", 2),
            ],
        )
        .expect("nulls");
        assert_eq!(rows(&result), vec!["NULL", "NULL"]);
    }

    #[test]
    fn split_keeps_empty_parts() {
        let inputs = strings(&[Some("aabcda"), Some("aabdcda"), Some("zxy"), None]);
        let result =
            call("REGEXP_SPLIT_TO_ARRAY", vec![inputs, repeat("(ab|cd)", 4)]).expect("split");
        assert_eq!(
            rows(&result),
            vec!["[a, , a]", "[a, d, a]", "[zxy]", "NULL"]
        );
        let result = call(
            "REGEXP_SPLIT_TO_ARRAY",
            vec![repeat("abc", 1), repeat("", 1)],
        )
        .expect("split chars");
        assert_eq!(rows(&result), vec!["[a, b, c]"]);
    }
}
