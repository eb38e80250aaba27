//! A small order-preserving JSON tree for the JSON functions, printed the way Jackson prints.
//!
//! Object keys keep their input order and numbers keep their input text (ksqlDB returns
//! `1.23450` unchanged), which `serde_json` without `preserve_order` cannot do.

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JsonValue {
    Null,
    Bool(bool),
    /// The number's text as written.
    Number(String),
    String(String),
    Array(Vec<JsonValue>),
    Object(Vec<(String, JsonValue)>),
}

impl JsonValue {
    /// Parses one JSON document (surrounding whitespace allowed); None if invalid.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut parser = Parser {
            bytes: text.as_bytes(),
            position: 0,
        };
        let value = parser.value(0)?;
        parser.skip_whitespace();
        (parser.position == parser.bytes.len()).then_some(value)
    }

    /// Compact JSON text, as Jackson's `JsonNode.toString`.
    pub(crate) fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            JsonValue::Null => out.push_str("null"),
            JsonValue::Bool(value) => out.push_str(if *value { "true" } else { "false" }),
            JsonValue::Number(text) => out.push_str(text),
            JsonValue::String(text) => write_string(text, out),
            JsonValue::Array(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            JsonValue::Object(entries) => {
                out.push('{');
                for (index, (key, value)) in entries.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    write_string(key, out);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }

    /// The text ksqlDB returns for a node: a string's content, otherwise its JSON.
    pub(crate) fn to_text(&self) -> String {
        match self {
            JsonValue::String(text) => text.clone(),
            other => other.to_json(),
        }
    }
}

/// A JSON string literal with Jackson's escapes.
pub(crate) fn write_string(text: &str, out: &mut String) {
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            control if (control as u32) < 0x20 => {
                out.push_str(&format!("\\u{:04X}", control as u32));
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

/// Deepest nesting accepted, to bound recursion on hostile input.
const MAX_DEPTH: usize = 512;

struct Parser<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl Parser<'_> {
    fn skip_whitespace(&mut self) {
        while matches!(
            self.bytes.get(self.position),
            Some(b' ' | b'\t' | b'\n' | b'\r')
        ) {
            self.position += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.skip_whitespace();
        (self.bytes.get(self.position) == Some(&byte)).then(|| self.position += 1)
    }

    fn keyword(&mut self, word: &str, value: JsonValue) -> Option<JsonValue> {
        let end = self.position + word.len();
        (self.bytes.get(self.position..end) == Some(word.as_bytes())).then(|| {
            self.position = end;
            value
        })
    }

    fn value(&mut self, depth: usize) -> Option<JsonValue> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_whitespace();
        match *self.bytes.get(self.position)? {
            b'n' => self.keyword("null", JsonValue::Null),
            b't' => self.keyword("true", JsonValue::Bool(true)),
            b'f' => self.keyword("false", JsonValue::Bool(false)),
            b'"' => self.string().map(JsonValue::String),
            b'[' => {
                self.position += 1;
                let mut items = Vec::new();
                if self.eat(b']').is_some() {
                    return Some(JsonValue::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.eat(b',').is_none() {
                        self.eat(b']')?;
                        return Some(JsonValue::Array(items));
                    }
                }
            }
            b'{' => {
                self.position += 1;
                let mut entries = Vec::new();
                if self.eat(b'}').is_some() {
                    return Some(JsonValue::Object(entries));
                }
                loop {
                    self.skip_whitespace();
                    let key = self.string()?;
                    self.eat(b':')?;
                    let value = self.value(depth + 1)?;
                    // A repeated key replaces the earlier value in place, as in Jackson.
                    match entries.iter_mut().find(|(existing, _)| *existing == key) {
                        Some(entry) => entry.1 = value,
                        None => entries.push((key, value)),
                    }
                    if self.eat(b',').is_none() {
                        self.eat(b'}')?;
                        return Some(JsonValue::Object(entries));
                    }
                }
            }
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn number(&mut self) -> Option<JsonValue> {
        let start = self.position;
        if self.bytes.get(self.position) == Some(&b'-') {
            self.position += 1;
        }
        let digits = |parser: &mut Self| {
            let from = parser.position;
            while parser
                .bytes
                .get(parser.position)
                .is_some_and(u8::is_ascii_digit)
            {
                parser.position += 1;
            }
            parser.position > from
        };
        let integer_start = self.position;
        if !digits(self) {
            return None;
        }
        if self.bytes[integer_start] == b'0' && self.position - integer_start > 1 {
            return None;
        }
        if self.bytes.get(self.position) == Some(&b'.') {
            self.position += 1;
            if !digits(self) {
                return None;
            }
        }
        if matches!(self.bytes.get(self.position), Some(b'e' | b'E')) {
            self.position += 1;
            if matches!(self.bytes.get(self.position), Some(b'+' | b'-')) {
                self.position += 1;
            }
            if !digits(self) {
                return None;
            }
        }
        let text = std::str::from_utf8(&self.bytes[start..self.position]).ok()?;
        Some(JsonValue::Number(text.to_string()))
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = std::str::from_utf8(self.bytes.get(self.position..self.position + 4)?).ok()?;
        self.position += 4;
        u32::from_str_radix(digits, 16).ok()
    }

    fn string(&mut self) -> Option<String> {
        if self.bytes.get(self.position) != Some(&b'"') {
            return None;
        }
        self.position += 1;
        let mut out = String::new();
        loop {
            let start = self.position;
            while !matches!(self.bytes.get(self.position), Some(b'"' | b'\\') | None) {
                if self.bytes[self.position] < 0x20 {
                    return None;
                }
                self.position += 1;
            }
            out.push_str(std::str::from_utf8(&self.bytes[start..self.position]).ok()?);
            match *self.bytes.get(self.position)? {
                b'"' => {
                    self.position += 1;
                    return Some(out);
                }
                _ => {
                    self.position += 1;
                    let escape = *self.bytes.get(self.position)?;
                    self.position += 1;
                    match escape {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let unit = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&unit)
                                && self.bytes.get(self.position..self.position + 2) == Some(b"\\u")
                            {
                                self.position += 2;
                                let low = self.hex4()?;
                                0x10000 + ((unit - 0xD800) << 10) + (low.checked_sub(0xDC00)?)
                            } else {
                                unit
                            };
                            out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                        }
                        _ => return None,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_keep_order_and_number_text() {
        let cases = [
            (
                "{\"b\": 1, \"a\": [1.23450, -2e3, true, null]}",
                "{\"b\":1,\"a\":[1.23450,-2e3,true,null]}",
            ),
            ("  \"a\\u00e9\\n\"  ", "\"aé\\n\""),
            ("[]", "[]"),
            ("{\"a\": 1, \"b\": 2, \"a\": 3}", "{\"a\":3,\"b\":2}"),
            ("{}", "{}"),
            ("\"\\ud83d\\ude00\"", "\"😀\""),
        ];
        for (input, expected) in cases {
            let value = JsonValue::parse(input).unwrap_or_else(|| panic!("parses {input}"));
            assert_eq!(value.to_json(), expected, "{input}");
        }
        for bad in [
            "",
            "abc",
            "{\"a\" 1}",
            "[1,]",
            "01",
            "\"x",
            "1 2",
            "{'a': 1}",
        ] {
            assert_eq!(JsonValue::parse(bad), None, "{bad}");
        }
    }
}
