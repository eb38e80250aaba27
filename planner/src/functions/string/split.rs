//! SPLIT (strings and bytes) and SPLIT_TO_MAP.
//!
//! Empty parts are kept; an empty delimiter splits every character or byte.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BinaryBuilder, ListBuilder, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;

use super::{bytes_at, string_at, string_map_builder};
use crate::functions::udf::EvalArgs;

/// Splits on a delimiter keeping empty parts; an empty delimiter splits every element.
fn split_slices<'a, T: PartialEq>(value: &'a [T], delimiter: &[T]) -> Vec<&'a [T]> {
    if delimiter.is_empty() {
        if value.is_empty() {
            return vec![value];
        }
        return value.chunks(1).collect();
    }
    let mut parts = Vec::new();
    let mut start = 0;
    let mut index = 0;
    while index + delimiter.len() <= value.len() {
        if value[index..index + delimiter.len()] == *delimiter {
            parts.push(&value[start..index]);
            index += delimiter.len();
            start = index;
        } else {
            index += 1;
        }
    }
    parts.push(&value[start..]);
    parts
}

pub(super) fn eval_split(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    if args.args[0].data_type() == &DataType::Binary {
        let mut builder = ListBuilder::new(BinaryBuilder::new());
        for row in 0..args.rows {
            match (bytes_at(&args.args[0], row)?, bytes_at(&args.args[1], row)?) {
                (Some(value), Some(delimiter)) => {
                    for part in split_slices(value, delimiter) {
                        builder.values().append_value(part);
                    }
                    builder.append(true);
                }
                _ => builder.append(false),
            }
        }
        return Ok(Arc::new(builder.finish()));
    }
    let mut builder = ListBuilder::new(StringBuilder::new());
    for row in 0..args.rows {
        match (
            string_at(&args.args[0], row)?,
            string_at(&args.args[1], row)?,
        ) {
            (Some(value), Some("")) => {
                if value.is_empty() {
                    builder.values().append_value("");
                }
                for character in value.chars() {
                    builder.values().append_value(character.to_string());
                }
                builder.append(true);
            }
            (Some(value), Some(delimiter)) => {
                for part in value.split(delimiter) {
                    builder.values().append_value(part);
                }
                builder.append(true);
            }
            _ => builder.append(false),
        }
    }
    Ok(Arc::new(builder.finish()))
}

pub(super) fn eval_split_to_map(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut builder = string_map_builder();
    for row in 0..args.rows {
        let (Some(input), Some(entry_delimiter), Some(kv_delimiter)) = (
            string_at(&args.args[0], row)?,
            string_at(&args.args[1], row)?,
            string_at(&args.args[2], row)?,
        ) else {
            builder.append(false)?;
            continue;
        };
        if entry_delimiter.is_empty() || kv_delimiter.is_empty() || entry_delimiter == kv_delimiter
        {
            builder.append(false)?;
            continue;
        }
        let mut entries: Vec<(&str, &str)> = Vec::new();
        for entry in input
            .split(entry_delimiter)
            .filter(|entry| !entry.is_empty())
        {
            let mut parts = entry.split(kv_delimiter);
            let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
                continue;
            };
            match entries.iter_mut().find(|(existing, _)| *existing == key) {
                Some(existing) => existing.1 = value,
                None => entries.push((key, value)),
            }
        }
        for (key, value) in entries {
            builder.keys().append_value(key);
            builder.values().append_value(value);
        }
        builder.append(true)?;
    }
    Ok(Arc::new(builder.finish()))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{BinaryArray, StringArray};

    use super::*;
    use crate::functions::testing::{call, rows};

    /// (input, entry delimiter, key-value delimiter, expected).
    type SplitToMapCase = (
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        &'static str,
    );

    fn strings(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(values.iter().copied().collect::<StringArray>())
    }

    fn bytes(values: &[Option<&[u8]>]) -> ArrayRef {
        Arc::new(values.iter().copied().collect::<BinaryArray>())
    }

    #[test]
    fn split_keeps_empty_parts() {
        let values = strings(&[Some("a.b.c"), Some(".abc."), Some("..a.."), Some(""), None]);
        let result =
            call("SPLIT", vec![Arc::clone(&values), strings(&[Some("."); 5])]).expect("split");
        assert_eq!(
            rows(&result),
            vec!["[a, b, c]", "[, abc, ]", "[, , a, , ]", "[]", "NULL"]
        );
        let result = call("SPLIT", vec![values, strings(&[Some(""); 5])]).expect("split chars");
        assert_eq!(rows(&result)[0], "[a, ., b, ., c]");
        let result =
            call("SPLIT", vec![bytes(&[Some(b"a.b")]), bytes(&[Some(b".")])]).expect("split bytes");
        assert_eq!(rows(&result), vec!["[61, 62]"]);
        let parts = split_slices::<u8>(b"", b"");
        assert_eq!(parts, vec![b"" as &[u8]]);
    }

    #[test]
    fn split_to_map_matches_ksqldb() {
        let input = "apple:green/banana:yellow/cherry:red";
        let cases: [SplitToMapCase; 7] = [
            (
                Some(input),
                Some("/"),
                Some(":"),
                "{apple:green,banana:yellow,cherry:red}",
            ),
            (Some(input), Some("&&"), Some(":"), "{apple:green/banana}"),
            (
                Some("apple:green//banana:yellow//cherry:red/"),
                Some("/"),
                Some(":"),
                "{apple:green,banana:yellow,cherry:red}",
            ),
            (Some(input), Some("/"), Some("="), "{}"),
            (Some(input), Some(""), Some(":"), "NULL"),
            (Some(input), None, Some(":"), "NULL"),
            (Some(""), Some("/"), Some(":"), "{}"),
        ];
        for (value, entry, kv, expected) in cases {
            let result = call(
                "SPLIT_TO_MAP",
                vec![strings(&[value]), strings(&[entry]), strings(&[kv])],
            )
            .expect("split_to_map");
            let printed = rows(&result)[0]
                .replace(' ', "")
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            assert_eq!(printed, expected, "{value:?} {entry:?} {kv:?}");
        }
    }
}
