//! kcat's `-f` output format of `eddy topic consume`: `%t %p %o %k %s %T %h %K %S %%` tokens
//! and `\n \t \r \\` escapes, compiled once and written per record.

use std::io::Write;

use anyhow::{Result, bail};
use executor::ConsumedRecord;

/// One piece of a compiled format.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(Vec<u8>),
    Topic,
    Partition,
    Offset,
    Key,
    Value,
    Timestamp,
    Headers,
    KeyLength,
    ValueLength,
}

/// A compiled output format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFormat {
    pieces: Vec<Piece>,
}

impl RecordFormat {
    /// Compiles a kcat format string; unknown tokens and escapes are errors.
    pub fn parse(format: &str) -> Result<Self> {
        let mut pieces = Vec::new();
        let mut text = Vec::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            let piece = match c {
                '%' => match chars.next() {
                    Some('t') => Piece::Topic,
                    Some('p') => Piece::Partition,
                    Some('o') => Piece::Offset,
                    Some('k') => Piece::Key,
                    Some('s') => Piece::Value,
                    Some('T') => Piece::Timestamp,
                    Some('h') => Piece::Headers,
                    Some('K') => Piece::KeyLength,
                    Some('S') => Piece::ValueLength,
                    Some('%') => {
                        text.push(b'%');
                        continue;
                    }
                    Some(other) => bail!(
                        "unknown format token %{other}: the tokens are %t (topic), \
                         %p (partition), %o (offset), %k (key), %s (value), %T (timestamp), \
                         %h (headers), %K (key length), %S (value length) and %%"
                    ),
                    None => bail!("the format ends with a lone %: write %% for a percent sign"),
                },
                '\\' => {
                    let escaped = match chars.next() {
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('r') => '\r',
                        Some('\\') => '\\',
                        Some(other) => bail!(
                            "unknown escape \\{other} in the format: the escapes are \\n, \\t, \
                             \\r and \\\\"
                        ),
                        None => bail!("the format ends with a lone \\: write \\\\ for one"),
                    };
                    let mut buffer = [0; 4];
                    text.extend_from_slice(escaped.encode_utf8(&mut buffer).as_bytes());
                    continue;
                }
                other => {
                    let mut buffer = [0; 4];
                    text.extend_from_slice(other.encode_utf8(&mut buffer).as_bytes());
                    continue;
                }
            };
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(piece);
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(RecordFormat { pieces })
    }

    /// Writes one record of `topic`. A null key or value prints as nothing and has length -1,
    /// as in kcat.
    pub fn write(
        &self,
        out: &mut impl Write,
        topic: &str,
        consumed: &ConsumedRecord,
    ) -> std::io::Result<()> {
        let record = &consumed.record;
        let length = |bytes: &Option<Vec<u8>>| bytes.as_ref().map_or(-1, |b| b.len() as i64);
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.write_all(text)?,
                Piece::Topic => out.write_all(topic.as_bytes())?,
                Piece::Partition => write!(out, "{}", consumed.partition)?,
                Piece::Offset => write!(out, "{}", consumed.offset)?,
                Piece::Key => out.write_all(record.key.as_deref().unwrap_or_default())?,
                Piece::Value => out.write_all(record.value.as_deref().unwrap_or_default())?,
                Piece::Timestamp => write!(out, "{}", record.timestamp)?,
                Piece::KeyLength => write!(out, "{}", length(&record.key))?,
                Piece::ValueLength => write!(out, "{}", length(&record.value))?,
                Piece::Headers => {
                    for (index, header) in record.headers.iter().enumerate() {
                        if index > 0 {
                            out.write_all(b",")?;
                        }
                        out.write_all(header.key.as_bytes())?;
                        if let Some(value) = &header.value {
                            out.write_all(b"=")?;
                            out.write_all(value)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use executor::{Header, Record};

    use super::*;

    #[test]
    fn formats_print_kcat_tokens_and_escapes() {
        let record = ConsumedRecord {
            partition: 2,
            offset: 17,
            record: Record {
                key: Some(b"k1".to_vec()),
                value: Some(b"{\"a\":1}".to_vec()),
                timestamp: 1_700_000_000_000,
                headers: vec![
                    Header {
                        key: "source".into(),
                        value: Some(b"web".to_vec()),
                    },
                    Header {
                        key: "flag".into(),
                        value: None,
                    },
                ],
            },
        };
        let keyless = ConsumedRecord {
            partition: 0,
            offset: 0,
            record: Record {
                key: None,
                value: Some(Vec::new()),
                timestamp: 5,
                headers: Vec::new(),
            },
        };
        let cases = [
            ("%s\\n", &record, "{\"a\":1}\n"),
            (
                "%t/%p@%o %k=%s %T\\t%h|%K %S 100%%",
                &record,
                "pageviews/2@17 k1={\"a\":1} 1700000000000\tsource=web,flag|2 7 100%",
            ),
            ("[%k][%s] %K %S\\r\\\\", &keyless, "[][] -1 0\r\\"),
            ("plain é text", &keyless, "plain é text"),
        ];
        for (format, record, expected) in cases {
            let mut out = Vec::new();
            RecordFormat::parse(format)
                .expect(format)
                .write(&mut out, "pageviews", record)
                .expect("writing to a Vec");
            assert_eq!(String::from_utf8_lossy(&out), expected, "format {format}");
        }
    }

    #[test]
    fn unknown_tokens_and_escapes_are_errors() {
        for (format, message) in [
            ("%x", "unknown format token %x"),
            ("abc%", "lone %"),
            ("\\q", "unknown escape \\q"),
            ("\\", "lone \\"),
        ] {
            let error = RecordFormat::parse(format).expect_err(format).to_string();
            assert!(error.contains(message), "{format}: {error}");
        }
    }
}
