//! Splits streamed response bodies into JSON values as their bytes arrive: the elements of a
//! JSON array (`POST /query`) and newline-delimited values (`/query-stream`, `/inserts-stream`).
//!
//! Both splitters keep only the bytes of the value being received, so a push query that never
//! ends does not grow memory. Parsing a complete value is left to `serde_json`.

use serde_json::Value;

/// Splits a body into JSON values as its chunks arrive.
pub(crate) trait Splitter: Default {
    /// Adds a chunk and returns the values it completed, in order.
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<Value>, String>;
    /// Ends the body, returning a value still pending; a value cut off is an error.
    fn finish(&mut self) -> Result<Option<Value>, String>;
}

/// Splits a body holding one JSON array into its elements, chunk by chunk. A body that is
/// not an array (an error object) comes out as one element.
#[derive(Debug, Default)]
pub(crate) struct ArraySplitter {
    /// Unconsumed bytes: the element being received and what follows it.
    buffer: Vec<u8>,
    /// The next byte of `buffer` to scan.
    position: usize,
    /// Where the element being received starts in `buffer`.
    element_start: Option<usize>,
    /// Nesting of `[`/`{` inside the element.
    depth: usize,
    in_string: bool,
    escaped: bool,
    top: Top,
}

/// What has been seen at the top level of the body.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Top {
    /// Nothing but whitespace yet.
    #[default]
    Start,
    /// Inside the top-level array.
    Array,
    /// The body is a single value, not an array.
    Single,
    /// After the closing `]` or the single value: only whitespace may follow.
    Done,
}

/// Where a scanned byte leaves the element.
enum Scan {
    Continue,
    /// The byte is the element's last one (a closing bracket or quote).
    EndsWith,
    /// The byte follows the element (the delimiter after a number, `true`, `null`...).
    EndsBefore,
}

impl Splitter for ArraySplitter {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<Value>, String> {
        self.buffer.extend_from_slice(chunk);
        let mut elements = Vec::new();
        while self.position < self.buffer.len() {
            let byte = self.buffer[self.position];
            if let Some(start) = self.element_start {
                match self.scan(byte, start) {
                    Scan::Continue => self.position += 1,
                    Scan::EndsWith => {
                        self.position += 1;
                        elements.push(self.take_element(start, self.position)?);
                    }
                    Scan::EndsBefore => {
                        if self.position == start {
                            return Err(format!("unexpected {:?} in the response", byte as char));
                        }
                        elements.push(self.take_element(start, self.position)?);
                    }
                }
                continue;
            }
            match (self.top, byte) {
                (_, b' ' | b'\t' | b'\r' | b'\n') => self.position += 1,
                (Top::Start, b'[') => {
                    self.top = Top::Array;
                    self.position += 1;
                }
                (Top::Start, _) => {
                    self.top = Top::Single;
                    self.start_element();
                }
                (Top::Array, b',') => self.position += 1,
                (Top::Array, b']') => {
                    self.top = Top::Done;
                    self.position += 1;
                }
                (Top::Array, _) => self.start_element(),
                (Top::Single | Top::Done, other) => {
                    return Err(format!(
                        "unexpected {:?} after the end of the response",
                        other as char
                    ));
                }
            }
        }
        // Keep only the element being received.
        let keep_from = self.element_start.unwrap_or(self.position);
        self.buffer.drain(..keep_from);
        self.position -= keep_from;
        self.element_start = self.element_start.map(|_| 0);
        Ok(elements)
    }

    /// A pending single scalar (a body such as `42`) is completed.
    fn finish(&mut self) -> Result<Option<Value>, String> {
        let Some(start) = self.element_start else {
            return Ok(None);
        };
        let scalar = !matches!(self.buffer.get(start), Some(b'[' | b'{' | b'"'));
        if scalar && self.top == Top::Single {
            let end = self.buffer.len();
            return self.take_element(start, end).map(Some);
        }
        Err(format!(
            "the response ended in the middle of a value: {}",
            String::from_utf8_lossy(&self.buffer[start..])
        ))
    }
}

impl ArraySplitter {
    fn start_element(&mut self) {
        self.element_start = Some(self.position);
        self.depth = 0;
        self.in_string = false;
        self.escaped = false;
    }

    fn scan(&mut self, byte: u8, start: usize) -> Scan {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if byte == b'\\' {
                self.escaped = true;
            } else if byte == b'"' {
                self.in_string = false;
                if self.depth == 0 {
                    return Scan::EndsWith;
                }
            }
            return Scan::Continue;
        }
        let container = matches!(self.buffer[start], b'[' | b'{' | b'"');
        match byte {
            b'"' => {
                self.in_string = true;
                Scan::Continue
            }
            b'[' | b'{' => {
                self.depth += 1;
                Scan::Continue
            }
            b']' | b'}' if self.depth > 0 => {
                self.depth -= 1;
                if self.depth == 0 {
                    Scan::EndsWith
                } else {
                    Scan::Continue
                }
            }
            b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n' if !container => Scan::EndsBefore,
            _ => Scan::Continue,
        }
    }

    /// Parses `buffer[start..end]`, the completed element.
    fn take_element(&mut self, start: usize, end: usize) -> Result<Value, String> {
        self.element_start = None;
        if self.top == Top::Single {
            self.top = Top::Done;
        }
        let element = &self.buffer[start..end];
        serde_json::from_slice(element).map_err(|error| {
            format!(
                "invalid JSON element {}: {error}",
                String::from_utf8_lossy(element)
            )
        })
    }
}

/// Splits a body of newline-delimited JSON values, chunk by chunk; blank lines are skipped.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    buffer: Vec<u8>,
}

impl Splitter for LineSplitter {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<Value>, String> {
        let mut values = Vec::new();
        for &byte in chunk {
            if byte == b'\n' {
                let line = std::mem::take(&mut self.buffer);
                if let Some(value) = parse_line(&line)? {
                    values.push(value);
                }
            } else {
                self.buffer.push(byte);
            }
        }
        Ok(values)
    }

    /// A last line without a newline is a value too.
    fn finish(&mut self) -> Result<Option<Value>, String> {
        let line = std::mem::take(&mut self.buffer);
        parse_line(&line)
    }
}

fn parse_line(line: &[u8]) -> Result<Option<Value>, String> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(line).map(Some).map_err(|error| {
        format!(
            "invalid JSON line {}: {error}",
            String::from_utf8_lossy(line)
        )
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Feeds `body` cut into chunks of `size` bytes.
    fn split_array(body: &str, size: usize) -> Result<Vec<Value>, String> {
        let mut splitter = ArraySplitter::default();
        let mut values = Vec::new();
        for chunk in body.as_bytes().chunks(size) {
            values.extend(splitter.push(chunk)?);
        }
        values.extend(splitter.finish()?);
        Ok(values)
    }

    #[test]
    fn array_elements_come_out_whatever_the_chunking() {
        let cases: Vec<(&str, Vec<Value>)> = vec![
            ("[]", vec![]),
            ("  [ ]\n", vec![]),
            (
                "[{\"header\":{\"queryId\":\"q\",\"schema\":\"`A` INTEGER\"}},\n{\"row\":{\"columns\":[1,\"a]},\\\"\"]}},\n{\"finalMessage\":\"Limit Reached\"}]\n",
                vec![
                    json!({"header": {"queryId": "q", "schema": "`A` INTEGER"}}),
                    json!({"row": {"columns": [1, "a]},\""]}}),
                    json!({"finalMessage": "Limit Reached"}),
                ],
            ),
            (
                "[1, -2.5e3,\"x\" ,true,null,[[]],{}]",
                vec![
                    json!(1),
                    json!(-2.5e3),
                    json!("x"),
                    json!(true),
                    json!(null),
                    json!([[]]),
                    json!({}),
                ],
            ),
            (
                "{\"@type\":\"statement_error\",\"error_code\":40001,\"message\":\"a [b\"}",
                vec![json!({"@type": "statement_error", "error_code": 40001, "message": "a [b"})],
            ),
            ("42", vec![json!(42)]),
            ("\"text\"\n", vec![json!("text")]),
            // Keep-alive newlines between elements of a push query.
            (
                "[\n\n{\"a\":1},\n\n\n{\"a\":2}",
                vec![json!({"a": 1}), json!({"a": 2})],
            ),
        ];
        for (body, expected) in cases {
            for size in 1..=body.len().max(1) {
                let got = split_array(body, size);
                assert_eq!(got, Ok(expected.clone()), "{body:?} in chunks of {size}");
            }
        }
    }

    #[test]
    fn elements_are_returned_as_soon_as_they_are_complete() {
        let mut splitter = ArraySplitter::default();
        assert_eq!(splitter.push(b"[{\"a\":"), Ok(vec![]));
        assert_eq!(splitter.push(b"1},"), Ok(vec![json!({"a": 1})]));
        assert_eq!(splitter.push(b"{\"b\":2}"), Ok(vec![json!({"b": 2})]));
        // The array is not closed: the stream is still open, nothing is pending.
        assert_eq!(splitter.finish(), Ok(None));
    }

    #[test]
    fn broken_bodies_are_errors() {
        let cases = [
            ("[{\"a\":1}", false),
            ("[{\"a\":", true),
            ("[{\"a\" 1}]", true),
            ("[1] 2", true),
            ("{\"a\":1} x", true),
        ];
        for (body, broken) in cases {
            let result = split_array(body, body.len());
            assert_eq!(result.is_err(), broken, "{body:?}: {result:?}");
        }
    }

    #[test]
    fn lines_come_out_whatever_the_chunking() {
        let body = "{\"queryId\":\"q1\",\"columnNames\":[\"A\"]}\n[1]\n\n[\"x\\ny\"]\n{\"status\":\"ok\",\"seq\":0}";
        let expected = vec![
            json!({"queryId": "q1", "columnNames": ["A"]}),
            json!([1]),
            json!(["x\ny"]),
            json!({"status": "ok", "seq": 0}),
        ];
        for size in 1..=body.len() {
            let mut splitter = LineSplitter::default();
            let mut values = Vec::new();
            for chunk in body.as_bytes().chunks(size) {
                values.extend(splitter.push(chunk).expect("valid lines"));
            }
            values.extend(splitter.finish().expect("valid last line"));
            assert_eq!(values, expected, "chunks of {size}");
        }
        assert!(LineSplitter::default().push(b"{oops\n").is_err());
    }
}
