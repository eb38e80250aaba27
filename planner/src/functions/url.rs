//! ksqlDB URL functions: URL_ENCODE_PARAM, URL_DECODE_PARAM and the URL_EXTRACT_* family.
//!
//! URLs are split the way `java.net.URI` splits them (scheme, authority, path, query,
//! fragment); an invalid URL or a missing part gives null.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int32Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::common::cast::as_string_array;

use super::FunctionCategory;
use super::signature::{Overload, ParamType, ReturnType};
use super::string::{build_strings, string_at};
use super::udf::{EvalArgs, FunctionDefinition};

pub(super) fn definitions() -> Vec<FunctionDefinition> {
    use ParamType::String as Str;
    let category = FunctionCategory::Url;
    let extract = |name, description, eval| {
        FunctionDefinition::new(
            name,
            category,
            description,
            vec![Overload::new(vec![Str], ReturnType::Fixed(DataType::Utf8))],
            eval,
        )
    };
    vec![
        extract(
            "URL_ENCODE_PARAM",
            "Encodes a string as an application/x-www-form-urlencoded parameter",
            |args| map_url(args, |value| Some(encode_param(value))),
        ),
        extract(
            "URL_DECODE_PARAM",
            "Decodes an application/x-www-form-urlencoded parameter",
            |args| map_url(args, decode_param),
        ),
        extract(
            "URL_EXTRACT_PROTOCOL",
            "Returns the protocol (scheme) of a URL",
            |args| map_url(args, |url| Uri::parse(url)?.scheme.map(str::to_string)),
        ),
        extract("URL_EXTRACT_HOST", "Returns the host of a URL", |args| {
            map_url(args, |url| Uri::parse(url)?.host.map(str::to_string))
        }),
        extract(
            "URL_EXTRACT_PATH",
            "Returns the decoded path of a URL",
            |args| map_url(args, |url| percent_decode(Uri::parse(url)?.path?, false)),
        ),
        extract(
            "URL_EXTRACT_QUERY",
            "Returns the decoded query of a URL",
            |args| map_url(args, |url| percent_decode(Uri::parse(url)?.query?, false)),
        ),
        extract(
            "URL_EXTRACT_FRAGMENT",
            "Returns the decoded fragment of a URL",
            |args| {
                map_url(args, |url| {
                    percent_decode(Uri::parse(url)?.fragment?, false)
                })
            },
        ),
        FunctionDefinition::new(
            "URL_EXTRACT_PORT",
            category,
            "Returns the port of a URL",
            vec![Overload::new(vec![Str], ReturnType::Fixed(DataType::Int32))],
            eval_extract_port,
        ),
        FunctionDefinition::new(
            "URL_EXTRACT_PARAMETER",
            category,
            "Returns the value of a named query parameter of a URL",
            vec![Overload::new(
                vec![Str, Str],
                ReturnType::Fixed(DataType::Utf8),
            )],
            eval_extract_parameter,
        ),
    ]
}

fn map_url(args: &EvalArgs<'_>, f: fn(&str) -> Option<String>) -> Result<ArrayRef> {
    let strings = as_string_array(&args.args[0])?;
    Ok(build_strings(args.rows, |row| {
        strings
            .is_valid(row)
            .then(|| f(strings.value(row)))
            .flatten()
    }))
}

/// The parts of a URI reference, raw (still percent-encoded).
#[derive(Debug, Default, PartialEq)]
struct Uri<'a> {
    scheme: Option<&'a str>,
    host: Option<&'a str>,
    port: Option<i32>,
    path: Option<&'a str>,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

impl<'a> Uri<'a> {
    /// Splits `text` like `java.net.URI`; None when it has characters a URI may not hold.
    fn parse(text: &'a str) -> Option<Self> {
        if text.is_empty() {
            return Some(Self {
                path: Some(""),
                ..Self::default()
            });
        }
        let valid = text
            .chars()
            .all(|c| !(c.is_control() || c.is_whitespace() || "\"<>\\^`{|}".contains(c)));
        if !valid || !percent_escapes_valid(text) {
            return None;
        }
        let mut uri = Self::default();
        let (rest, fragment) = match text.split_once('#') {
            Some((rest, fragment)) => (rest, Some(fragment)),
            None => (text, None),
        };
        uri.fragment = fragment;
        let mut rest = rest;
        if let Some(colon) = rest.find(':') {
            let scheme = &rest[..colon];
            let is_scheme = scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
            if is_scheme {
                uri.scheme = Some(scheme);
                rest = &rest[colon + 1..];
                if rest.is_empty() {
                    return None;
                }
                if !rest.starts_with('/') {
                    // An opaque URI such as `mailto:a@b`: no path, query or host.
                    return Some(uri);
                }
            } else if !scheme.contains('/') && !scheme.contains('?') {
                return None;
            }
        }
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query)),
            None => (rest, None),
        };
        uri.query = query;
        if let Some(after) = rest.strip_prefix("//") {
            let end = after.find('/').unwrap_or(after.len());
            let authority = &after[..end];
            uri.path = Some(&after[end..]);
            let host_port = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            let (host, port) = match host_port.rsplit_once(':') {
                Some((host, port)) if !port.contains(']') => (host, Some(port)),
                _ => (host_port, None),
            };
            match port {
                Some("") | None => {}
                Some(port) => uri.port = Some(port.parse().ok()?),
            }
            if !host.is_empty() {
                uri.host = Some(host);
            }
        } else {
            uri.path = Some(rest);
        }
        Some(uri)
    }
}

fn percent_escapes_valid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().all(|(index, &byte)| {
        byte != b'%'
            || (bytes.get(index + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(index + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// Decodes `%XX` escapes as UTF-8 (and `+` as a space for form parameters).
fn percent_decode(text: &str, plus_is_space: bool) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(index + 1..index + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                index += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                index += 1;
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Java's `URLEncoder.encode(value, UTF-8)`.
fn encode_param(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Java's `URLDecoder.decode(value, UTF-8)`; None for a malformed escape.
fn decode_param(value: &str) -> Option<String> {
    percent_decode(value, true)
}

fn eval_extract_port(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let strings = as_string_array(&args.args[0])?;
    Ok(Arc::new(
        strings
            .iter()
            .map(|value| Uri::parse(value?)?.port)
            .collect::<Int32Array>(),
    ))
}

fn eval_extract_parameter(args: &EvalArgs<'_>) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(args.rows);
    for row in 0..args.rows {
        let (Some(url), Some(name)) = (
            string_at(&args.args[0], row)?,
            string_at(&args.args[1], row)?,
        ) else {
            out.push(None);
            continue;
        };
        let query = Uri::parse(url)
            .and_then(|uri| uri.query)
            .and_then(|query| percent_decode(query, false));
        out.push(query.and_then(|query| {
            query
                .split('&')
                .find_map(|parameter| match parameter.split_once('=') {
                    Some((key, value)) if key == name => Some(value.to_string()),
                    None if parameter == name => Some(String::new()),
                    _ => None,
                })
        }));
    }
    Ok(build_strings(args.rows, |row| out[row].take()))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::StringArray;

    use super::*;
    use crate::functions::testing::{call, rows};

    fn strings(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(values.iter().copied().collect::<StringArray>())
    }

    #[test]
    fn encode_and_decode_params() {
        let result = call(
            "URL_ENCODE_PARAM",
            vec![strings(&[
                Some("?foo $bar"),
                Some("hello&world"),
                Some("é"),
                None,
            ])],
        )
        .expect("encode");
        assert_eq!(
            rows(&result),
            vec!["%3Ffoo+%24bar", "hello%26world", "%C3%A9", "NULL"]
        );
        let result = call(
            "URL_DECODE_PARAM",
            vec![strings(&[Some("%3Ffoo+%24bar"), Some("bad%zz"), None])],
        )
        .expect("decode");
        assert_eq!(rows(&result), vec!["?foo $bar", "NULL", "NULL"]);
    }

    #[test]
    fn extract_parts() {
        let urls = strings(&[
            Some("http://user@www.test.com:8080/nested/p%20ath?query=a%20b#frag"),
            Some("http://www.nofragment.com"),
            Some("not a url"),
            None,
        ]);
        let cases = [
            ("URL_EXTRACT_PROTOCOL", vec!["http", "http", "NULL", "NULL"]),
            (
                "URL_EXTRACT_HOST",
                vec!["www.test.com", "www.nofragment.com", "NULL", "NULL"],
            ),
            (
                "URL_EXTRACT_PATH",
                vec!["/nested/p ath", "", "NULL", "NULL"],
            ),
            (
                "URL_EXTRACT_QUERY",
                vec!["query=a b", "NULL", "NULL", "NULL"],
            ),
            ("URL_EXTRACT_FRAGMENT", vec!["frag", "NULL", "NULL", "NULL"]),
            ("URL_EXTRACT_PORT", vec!["8080", "NULL", "NULL", "NULL"]),
        ];
        for (name, expected) in cases {
            let result = call(name, vec![Arc::clone(&urls)]).expect(name);
            assert_eq!(rows(&result), expected, "{name}");
        }
        let result = call(
            "URL_EXTRACT_PARAMETER",
            vec![
                strings(&[Some("http://www.test.com/?one=a&two=b&three"); 4]),
                strings(&[Some("one"), Some("two"), Some("three"), Some("four")]),
            ],
        )
        .expect("parameter");
        assert_eq!(rows(&result), vec!["a", "b", "", "NULL"]);
    }
}
