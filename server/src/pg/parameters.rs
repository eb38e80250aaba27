//! `$1, $2, ...` parameters of prepared statements: each bound value becomes a ksqlDB
//! literal (numbers checked to be numbers, strings quoted with `'` doubled), and the
//! placeholders outside quotes and comments are replaced by them.

use bytes::Bytes;
use pgwire::api::Type;
use pgwire::api::results::FieldFormat;

/// The number of parameters of `sql`: the highest `$n` outside quotes and comments.
pub(crate) fn count(sql: &str) -> usize {
    let mut highest = 0;
    scan(sql, |index| {
        highest = highest.max(index);
        String::new()
    });
    highest
}

/// `sql` with each `$n` replaced by `literals[n - 1]`.
pub(crate) fn substitute(sql: &str, literals: &[String]) -> Result<String, String> {
    let mut missing = None;
    let text = scan(sql, |index| match literals.get(index - 1) {
        Some(literal) => literal.clone(),
        None => {
            missing.get_or_insert(index);
            String::new()
        }
    });
    match missing {
        Some(index) => Err(format!("there is no parameter ${index}")),
        None => Ok(text),
    }
}

/// Copies `sql`, replacing each `$n` outside quotes and comments by `replace(n)`.
fn scan(sql: &str, mut replace: impl FnMut(usize) -> String) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let end = match byte {
            b'\'' | b'"' | b'`' => closing(bytes, index + 1, byte),
            b'-' if bytes.get(index + 1) == Some(&b'-') => {
                find(bytes, index, b"\n").map_or(bytes.len(), |end| end + 1)
            }
            b'/' if bytes.get(index + 1) == Some(&b'*') => {
                find(bytes, index + 2, b"*/").map_or(bytes.len(), |end| end + 2)
            }
            b'$' if bytes.get(index + 1).is_some_and(u8::is_ascii_digit) => {
                let digits_end = (index + 1..bytes.len())
                    .find(|&at| !bytes[at].is_ascii_digit())
                    .unwrap_or(bytes.len());
                let number = sql[index + 1..digits_end].parse::<usize>().unwrap_or(0);
                if number > 0 {
                    out.push_str(&replace(number));
                    index = digits_end;
                    continue;
                }
                digits_end
            }
            _ => {
                // One whole character (UTF-8 aware).
                let width = sql[index..].chars().next().map_or(1, char::len_utf8);
                index + width
            }
        };
        out.push_str(&sql[index..end]);
        index = end;
    }
    out
}

/// The index after the quote closing one opened before `from` (a doubled quote is part of
/// the text), or the end.
fn closing(bytes: &[u8], mut from: usize, quote: u8) -> usize {
    while from < bytes.len() {
        if bytes[from] == quote {
            if bytes.get(from + 1) == Some(&quote) {
                from += 2;
                continue;
            }
            return from + 1;
        }
        from += 1;
    }
    bytes.len()
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|position| from + position)
}

/// The ksqlDB literal of a bound value: its declared type (`Type::UNKNOWN` when the client
/// gave none) and format say how to read it. Untyped text is a string.
pub(crate) fn literal(
    value: Option<&Bytes>,
    pg_type: &Type,
    format: FieldFormat,
) -> Result<String, String> {
    let Some(value) = value else {
        return Ok("NULL".into());
    };
    match format {
        FieldFormat::Binary => binary_literal(value, pg_type),
        FieldFormat::Text => {
            let text = std::str::from_utf8(value)
                .map_err(|_| "a text parameter is not valid UTF-8".to_string())?;
            text_literal(text, pg_type)
        }
    }
}

fn text_literal(text: &str, pg_type: &Type) -> Result<String, String> {
    let invalid = || {
        format!(
            "invalid input for a {} parameter: \"{text}\"",
            pg_type.name()
        )
    };
    match *pg_type {
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => {
            let number: i64 = text.trim().parse().map_err(|_| invalid())?;
            Ok(number.to_string())
        }
        Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC => {
            let trimmed = text.trim();
            let plain = !trimmed.is_empty()
                && trimmed
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
            if !plain || trimmed.parse::<f64>().is_err() {
                return Err(invalid());
            }
            Ok(trimmed.to_string())
        }
        Type::BOOL => match text.trim().to_ascii_lowercase().as_str() {
            "t" | "true" | "1" | "y" | "yes" | "on" => Ok("TRUE".into()),
            "f" | "false" | "0" | "n" | "no" | "off" => Ok("FALSE".into()),
            _ => Err(invalid()),
        },
        _ => Ok(quote(text)),
    }
}

fn binary_literal(value: &[u8], pg_type: &Type) -> Result<String, String> {
    let size = |expected: usize| -> Result<(), String> {
        if value.len() == expected {
            Ok(())
        } else {
            Err(format!(
                "a binary {} parameter has {} bytes",
                pg_type.name(),
                value.len()
            ))
        }
    };
    let mut array = [0u8; 8];
    match *pg_type {
        Type::BOOL => {
            size(1)?;
            Ok(if value[0] != 0 { "TRUE" } else { "FALSE" }.into())
        }
        Type::INT2 => {
            size(2)?;
            Ok(i16::from_be_bytes([value[0], value[1]]).to_string())
        }
        Type::INT4 => {
            size(4)?;
            Ok(i32::from_be_bytes([value[0], value[1], value[2], value[3]]).to_string())
        }
        Type::INT8 => {
            size(8)?;
            array.copy_from_slice(value);
            Ok(i64::from_be_bytes(array).to_string())
        }
        Type::FLOAT4 | Type::FLOAT8 => {
            let number = if *pg_type == Type::FLOAT4 {
                size(4)?;
                f64::from(f32::from_be_bytes([value[0], value[1], value[2], value[3]]))
            } else {
                size(8)?;
                array.copy_from_slice(value);
                f64::from_be_bytes(array)
            };
            if !number.is_finite() {
                return Err(format!("a {number} parameter has no ksqlDB literal"));
            }
            Ok(format!("{number:?}"))
        }
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON => {
            let text = std::str::from_utf8(value)
                .map_err(|_| "a text parameter is not valid UTF-8".to_string())?;
            Ok(quote(text))
        }
        _ => Err(format!(
            "binary parameters of type {} are not supported: send them as text",
            pg_type.name()
        )),
    }
}

/// A ksqlDB string literal: `'it''s'`.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_outside_quotes_and_comments_are_replaced() {
        let literals = vec!["5".to_string(), "'a''b'".to_string()];
        let cases = [
            (
                "SELECT * FROM t WHERE id = $1;",
                "SELECT * FROM t WHERE id = 5;",
            ),
            ("SELECT '$1', $2 FROM t", "SELECT '$1', 'a''b' FROM t"),
            ("SELECT `$1` -- $2\n, $1", "SELECT `$1` -- $2\n, 5"),
            ("SELECT /* $1 */ $2", "SELECT /* $1 */ 'a''b'"),
            ("SELECT 'it''s $1' , $1", "SELECT 'it''s $1' , 5"),
            ("SELECT ${var}, $0", "SELECT ${var}, $0"),
            ("SELECT 'é', $1", "SELECT 'é', 5"),
        ];
        for (sql, expected) in cases {
            assert_eq!(substitute(sql, &literals).as_deref(), Ok(expected), "{sql}");
        }
        assert_eq!(count("SELECT $2, '$3', $1"), 2);
        assert!(substitute("SELECT $3", &literals).is_err());
    }

    #[test]
    fn bound_values_become_escaped_literals() {
        let text = |value: &str, pg_type: Type| {
            literal(
                Some(&Bytes::copy_from_slice(value.as_bytes())),
                &pg_type,
                FieldFormat::Text,
            )
        };
        assert_eq!(text("5", Type::INT8), Ok("5".into()));
        assert!(text("5; DROP STREAM s", Type::INT8).is_err());
        assert_eq!(text("1.5e3", Type::NUMERIC), Ok("1.5e3".into()));
        assert!(text("1 OR 1=1", Type::FLOAT8).is_err());
        assert_eq!(
            text("x' OR 'a'='a", Type::UNKNOWN),
            Ok("'x'' OR ''a''=''a'".into())
        );
        assert_eq!(text("true", Type::BOOL), Ok("TRUE".into()));
        assert_eq!(
            literal(None, &Type::TEXT, FieldFormat::Text),
            Ok("NULL".into())
        );
        let binary = |value: &[u8], pg_type: Type| {
            literal(
                Some(&Bytes::copy_from_slice(value)),
                &pg_type,
                FieldFormat::Binary,
            )
        };
        assert_eq!(binary(&7i32.to_be_bytes(), Type::INT4), Ok("7".into()));
        assert_eq!(
            binary(&2.5f64.to_be_bytes(), Type::FLOAT8),
            Ok("2.5".into())
        );
        assert_eq!(binary(b"o'k", Type::TEXT), Ok("'o''k'".into()));
        assert!(binary(&[1, 2], Type::INT4).is_err());
    }
}
