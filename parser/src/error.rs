//! Parse errors: where the input went wrong and why.
//!
//! Every error names the 1-based line and column of the offending token. The grammar code
//! reports through `sqlparser`'s `ParserError`; the `parser` module translates those into
//! [`ParseError`]s that read the ksqlDB way.

use sqlparser::parser::ParserError;
use sqlparser::tokenizer::Location;
use thiserror::Error;

/// The crate's result type.
pub type Result<T, E = ParseError> = std::result::Result<T, E>;

/// What kind of mistake a [`ParseError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The text does not follow the grammar; displayed with a `Syntax Error` header.
    Syntax,
    /// A literal is well formed but out of range (`Invalid numeric literal: ...`).
    Literal,
}

/// A statement or expression that could not be parsed.
///
/// Displays as `line 1:8: Syntax Error` followed by `message` on the next line, or, for
/// out-of-range literals (which ksqlDB finds while preparing the parsed statement), as
/// `Failed to prepare statement: line 2:40: Invalid numeric literal: 9223372036854775808`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}line {line}:{column}: {}{message}", prefix(.kind), header(.kind))]
pub struct ParseError {
    /// 1-based line of the offending token.
    pub line: u64,
    /// 1-based column (in characters) of the offending token. For [`ParseErrorKind::Literal`]
    /// it is one more, as ksqlDB reports it (`line 2:40` for a literal starting at 2:39).
    pub column: u64,
    /// What went wrong, e.g. `Syntax error at or near 'FOO' at line 1:8` and, on further
    /// lines, what was expected there.
    pub message: String,
    pub kind: ParseErrorKind,
}

fn prefix(kind: &ParseErrorKind) -> &'static str {
    match kind {
        ParseErrorKind::Syntax => "",
        ParseErrorKind::Literal => "Failed to prepare statement: ",
    }
}

fn header(kind: &ParseErrorKind) -> &'static str {
    match kind {
        ParseErrorKind::Syntax => "Syntax Error\n",
        ParseErrorKind::Literal => "",
    }
}

impl ParseError {
    /// A syntax error at `line:column` near the token written as `near`.
    pub(crate) fn syntax(line: u64, column: u64, near: &str, detail: Option<&str>) -> Self {
        let mut message = format!("Syntax error at or near '{near}' at line {line}:{column}");
        if let Some(detail) = detail {
            message.push('\n');
            message.push_str(detail);
        }
        ParseError {
            line,
            column,
            message,
            kind: ParseErrorKind::Syntax,
        }
    }
}

/// Marks a `ParserError` raised for an out-of-range literal, so that translation keeps its
/// message instead of reporting a syntax error.
const LITERAL_MARKER: &str = "\u{1}literal:";

/// A `ParserError` for an out-of-range literal at `location`, e.g.
/// `Invalid numeric literal: 9223372036854775808`.
pub(crate) fn literal_error(message: &str, location: Location) -> ParserError {
    ParserError::ParserError(format!("{LITERAL_MARKER}{message}{location}"))
}

/// Marks a `ParserError` raised where the grammar requires one token of a known set (ANTLR's
/// input mismatch), so that translation reports it as ksqlDB does: `Expecting {',', ')'}`
/// and the statement.
const MISMATCH_MARKER: &str = "\u{2}mismatch:";

/// A `ParserError` at `location` for a token that is none of `expected` (ANTLR's token
/// names: `'STRING'`, `INTEGER_VALUE`, `')'`).
pub(crate) fn mismatch_error(expected: &[&str], location: Location) -> ParserError {
    ParserError::ParserError(format!(
        "{MISMATCH_MARKER}Expecting {{{}}}{location}",
        expected.join(", ")
    ))
}

/// The parts of a `sqlparser` error message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ErrorParts<'a> {
    /// Where the error happened, when the message says.
    pub location: Option<(u64, u64)>,
    /// `Some(message)` for out-of-range literals.
    pub literal: Option<&'a str>,
    /// `Some("Expecting {...}")` for a token outside a required set.
    pub mismatch: Option<&'a str>,
    /// What the parser wanted (`Expected: X, found: ...`), or the whole message otherwise.
    pub expected: Option<&'a str>,
    /// The raw message without location, for errors that are not `Expected: ...`.
    pub text: &'a str,
}

/// Splits a `sqlparser` message like `Expected: ), found: , at Line: 2, Column: 74`.
pub(crate) fn split_message(message: &str) -> ErrorParts<'_> {
    let (text, location) = match message.rfind(" at Line: ") {
        Some(at) => {
            let rest = &message[at + " at Line: ".len()..];
            let location = rest.split_once(", Column: ").and_then(|(line, column)| {
                Some((line.trim().parse().ok()?, column.trim().parse().ok()?))
            });
            match location {
                Some(location) => (&message[..at], Some(location)),
                None => (message, None),
            }
        }
        None => (message, None),
    };
    if let Some(literal) = text.strip_prefix(LITERAL_MARKER) {
        return ErrorParts {
            location,
            literal: Some(literal),
            mismatch: None,
            expected: None,
            text: literal,
        };
    }
    if let Some(mismatch) = text.strip_prefix(MISMATCH_MARKER) {
        return ErrorParts {
            location,
            literal: None,
            mismatch: Some(mismatch),
            expected: None,
            text: mismatch,
        };
    }
    let expected = text
        .strip_prefix("Expected: ")
        .and_then(|rest| rest.rsplit_once(", found: "))
        .map(|(expected, _found)| expected);
    ErrorParts {
        location,
        literal: None,
        mismatch: None,
        expected,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_ksql_headers() {
        let cases = [
            (
                ParseError::syntax(1, 8, "VALUES", None),
                "line 1:8: Syntax Error\nSyntax error at or near 'VALUES' at line 1:8",
            ),
            (
                ParseError::syntax(2, 74, ",", Some("expecting ')'")),
                "line 2:74: Syntax Error\nSyntax error at or near ',' at line 2:74\nexpecting ')'",
            ),
            (
                ParseError {
                    line: 2,
                    column: 40,
                    message: "Invalid numeric literal: 9223372036854775808".to_string(),
                    kind: ParseErrorKind::Literal,
                },
                "Failed to prepare statement: line 2:40: Invalid numeric literal: \
                 9223372036854775808",
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(error.to_string(), expected);
        }
    }

    #[test]
    fn sqlparser_messages_are_split() {
        let cases = [
            (
                "Expected: ), found: , at Line: 2, Column: 74",
                ErrorParts {
                    location: Some((2, 74)),
                    literal: None,
                    mismatch: None,
                    expected: Some(")"),
                    text: "Expected: ), found: ,",
                },
            ),
            (
                "Expected: an expression, found: EOF",
                ErrorParts {
                    location: None,
                    literal: None,
                    mismatch: None,
                    expected: Some("an expression"),
                    text: "Expected: an expression, found: EOF",
                },
            ),
            (
                "\u{1}literal:Invalid numeric literal: 1 at Line: 3, Column: 5",
                ErrorParts {
                    location: Some((3, 5)),
                    mismatch: None,
                    literal: Some("Invalid numeric literal: 1"),
                    expected: None,
                    text: "Invalid numeric literal: 1",
                },
            ),
        ];
        for (message, expected) in cases {
            assert_eq!(split_message(message), expected, "{message}");
        }
    }
}
