//! A validating JSON scanner over one payload, without building a tree.
//!
//! It accepts what Jackson's default `ObjectMapper` accepts (strict JSON, nesting up to
//! 1000 levels) and hands out values as [`RawValue`] spans of the source text; what a
//! value becomes is decided in `json::decode`.

use std::borrow::Cow;

/// Deepest nesting accepted, as Jackson's default `StreamReadConstraints`.
const MAX_DEPTH: usize = 1000;

/// The kind of a JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Null,
    Bool(bool),
    /// `integer`: written without fraction or exponent.
    Number {
        integer: bool,
    },
    /// `escaped`: contains backslash escapes.
    String {
        escaped: bool,
    },
    Array,
    Object,
}

/// One complete JSON value: its kind and its exact source text (strings with quotes).
#[derive(Debug, Clone, Copy)]
pub(super) struct RawValue<'a> {
    pub(super) kind: Kind,
    pub(super) text: &'a str,
}

impl<'a> RawValue<'a> {
    /// The content of a string value, unescaped.
    pub(super) fn string_content(&self) -> Cow<'a, str> {
        let content = &self.text[1..self.text.len() - 1];
        match self.kind {
            Kind::String { escaped: true } => {
                let mut out = Vec::with_capacity(content.len());
                unescape_into(content, &mut out);
                Cow::Owned(String::from_utf8(out).expect("unescaping keeps UTF-8"))
            }
            _ => Cow::Borrowed(content),
        }
    }

    /// A scanner positioned at this value, to walk the members or elements of a container.
    pub(super) fn scanner(&self) -> Scanner<'a> {
        Scanner::new(self.text)
    }
}

/// An object member's key: the text between the quotes, still escaped if `escaped`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Key<'a> {
    pub(super) raw: &'a str,
    pub(super) escaped: bool,
}

impl<'a> Key<'a> {
    pub(super) fn unescaped(&self) -> Cow<'a, str> {
        if self.escaped {
            let mut out = Vec::with_capacity(self.raw.len());
            unescape_into(self.raw, &mut out);
            Cow::Owned(String::from_utf8(out).expect("unescaping keeps UTF-8"))
        } else {
            Cow::Borrowed(self.raw)
        }
    }
}

/// A JSON syntax error: what was wrong and at which byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SyntaxError {
    pub(super) message: String,
}

/// Whether any of the eight bytes of `word` is a quote, a backslash or a control character
/// (below 0x20): what ends the plain run of a string. Exact as a whole (a borrow can only
/// mark bytes after a byte that is itself marked).
#[inline]
pub(super) fn needs_attention(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let quote = zero_byte(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control != 0
}

/// A cursor over JSON text.
pub(super) struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Scanner<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Self {
            text,
            bytes: text.as_bytes(),
            position: 0,
        }
    }

    /// Skips whitespace; true when nothing but whitespace remains.
    pub(super) fn at_end(&mut self) -> bool {
        self.skip_whitespace();
        self.position >= self.bytes.len()
    }

    /// The next byte after whitespace, not consumed.
    pub(super) fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes.get(self.position).copied()
    }

    /// Reads one complete value, validating all of it.
    pub(super) fn value(&mut self) -> Result<RawValue<'a>, SyntaxError> {
        self.skip_whitespace();
        let start = self.position;
        let kind = match self.bytes.get(self.position) {
            Some(b'{' | b'[') => {
                let kind = if self.bytes[self.position] == b'{' {
                    Kind::Object
                } else {
                    Kind::Array
                };
                self.skip_container()?;
                kind
            }
            _ => self.scalar()?,
        };
        Ok(RawValue {
            kind,
            text: &self.text[start..self.position],
        })
    }

    /// Reads the root value the way Jackson's `readTree` does: content after it is ignored,
    /// but a number or literal must not run into other characters.
    pub(super) fn root_value(&mut self) -> Result<RawValue<'a>, SyntaxError> {
        let value = self.value()?;
        if matches!(value.kind, Kind::Number { .. } | Kind::Bool(_) | Kind::Null)
            && let Some(&next) = self.bytes.get(self.position)
            && (next.is_ascii_alphanumeric() || next == b'.' || next == b'_')
        {
            return Err(self.unexpected(next));
        }
        Ok(value)
    }

    /// Walks the members of the object at the cursor, validating them.
    pub(super) fn members<E: From<SyntaxError>>(
        &mut self,
        mut each: impl FnMut(Key<'a>, RawValue<'a>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.expect(b'{')?;
        if self.peek() == Some(b'}') {
            self.position += 1;
            return Ok(());
        }
        loop {
            let key = self.key()?;
            let value = self.value()?;
            each(key, value)?;
            match self.next_byte()? {
                b',' => {}
                b'}' => return Ok(()),
                other => return Err(self.unexpected_at(other, self.position - 1).into()),
            }
        }
    }

    /// Walks the elements of the array at the cursor, validating them.
    pub(super) fn elements<E: From<SyntaxError>>(
        &mut self,
        mut each: impl FnMut(usize, RawValue<'a>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.expect(b'[')?;
        if self.peek() == Some(b']') {
            self.position += 1;
            return Ok(());
        }
        let mut index = 0;
        loop {
            let value = self.value()?;
            each(index, value)?;
            index += 1;
            match self.next_byte()? {
                b',' => {}
                b']' => return Ok(()),
                other => return Err(self.unexpected_at(other, self.position - 1).into()),
            }
        }
    }

    #[inline]
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.position) {
            self.position += 1;
        }
    }

    /// The next byte after whitespace, consumed.
    fn next_byte(&mut self) -> Result<u8, SyntaxError> {
        self.skip_whitespace();
        let byte = *self.bytes.get(self.position).ok_or_else(|| self.end())?;
        self.position += 1;
        Ok(byte)
    }

    fn expect(&mut self, wanted: u8) -> Result<(), SyntaxError> {
        let byte = self.next_byte()?;
        if byte == wanted {
            Ok(())
        } else {
            Err(self.unexpected_at(byte, self.position - 1))
        }
    }

    /// A member key and its colon.
    fn key(&mut self) -> Result<Key<'a>, SyntaxError> {
        self.skip_whitespace();
        match self.bytes.get(self.position) {
            Some(b'"') => {}
            Some(&other) => return Err(self.unexpected(other)),
            None => return Err(self.end()),
        }
        let start = self.position + 1;
        let escaped = self.string()?;
        let raw = &self.text[start..self.position - 1];
        self.expect(b':')?;
        Ok(Key { raw, escaped })
    }

    /// A string, number or literal at the cursor.
    fn scalar(&mut self) -> Result<Kind, SyntaxError> {
        match self.bytes.get(self.position) {
            Some(b'"') => Ok(Kind::String {
                escaped: self.string()?,
            }),
            Some(b't') => self.literal(b"true", Kind::Bool(true)),
            Some(b'f') => self.literal(b"false", Kind::Bool(false)),
            Some(b'n') => self.literal(b"null", Kind::Null),
            Some(b'-' | b'0'..=b'9') => Ok(Kind::Number {
                integer: self.number()?,
            }),
            Some(&other) => Err(self.unexpected(other)),
            None => Err(self.end()),
        }
    }

    fn literal(&mut self, word: &[u8], kind: Kind) -> Result<Kind, SyntaxError> {
        if self.bytes[self.position..].starts_with(word) {
            self.position += word.len();
            Ok(kind)
        } else {
            Err(SyntaxError {
                message: format!("unrecognized token at byte {}", self.position),
            })
        }
    }

    /// A number; returns whether it is an integer (no fraction, no exponent).
    fn number(&mut self) -> Result<bool, SyntaxError> {
        let bytes = self.bytes;
        let mut position = self.position;
        if bytes[position] == b'-' {
            position += 1;
        }
        match bytes.get(position) {
            Some(b'0') => {
                position += 1;
                if bytes.get(position).is_some_and(u8::is_ascii_digit) {
                    return Err(SyntaxError {
                        message: format!("leading zeroes not allowed at byte {position}"),
                    });
                }
            }
            Some(b'1'..=b'9') => {
                while bytes.get(position).is_some_and(u8::is_ascii_digit) {
                    position += 1;
                }
            }
            _ => return Err(self.number_error(position)),
        }
        let mut integer = true;
        if bytes.get(position) == Some(&b'.') {
            position += 1;
            let digits = position;
            while bytes.get(position).is_some_and(u8::is_ascii_digit) {
                position += 1;
            }
            if position == digits {
                return Err(self.number_error(position));
            }
            integer = false;
        }
        if let Some(b'e' | b'E') = bytes.get(position) {
            position += 1;
            if let Some(b'+' | b'-') = bytes.get(position) {
                position += 1;
            }
            let digits = position;
            while bytes.get(position).is_some_and(u8::is_ascii_digit) {
                position += 1;
            }
            if position == digits {
                return Err(self.number_error(position));
            }
            integer = false;
        }
        self.position = position;
        Ok(integer)
    }

    /// A string at the cursor (on its opening quote); returns whether it has escapes.
    fn string(&mut self) -> Result<bool, SyntaxError> {
        let bytes = self.bytes;
        let mut position = self.position + 1;
        let mut escaped = false;
        loop {
            // Fast path over plain characters: eight at a time, then one by one.
            while let Some(chunk) = bytes.get(position..position + 8) {
                let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
                if needs_attention(word) {
                    break;
                }
                position += 8;
            }
            while let Some(&byte) = bytes.get(position) {
                if byte == b'"' || byte == b'\\' || byte < 0x20 {
                    break;
                }
                position += 1;
            }
            match bytes.get(position) {
                Some(b'"') => {
                    self.position = position + 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    match bytes.get(position + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            position += 2;
                        }
                        Some(b'u') => {
                            let hex = bytes.get(position + 2..position + 6);
                            if !hex.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
                                return Err(SyntaxError {
                                    message: format!("invalid unicode escape at byte {position}"),
                                });
                            }
                            position += 6;
                        }
                        Some(_) => {
                            return Err(SyntaxError {
                                message: format!(
                                    "unrecognized character escape at byte {position}"
                                ),
                            });
                        }
                        None => return Err(self.end()),
                    }
                }
                Some(&control) => {
                    return Err(SyntaxError {
                        message: format!(
                            "illegal unquoted character (code {control}) at byte {position}: \
                             has to be escaped using backslash"
                        ),
                    });
                }
                None => return Err(self.end()),
            }
        }
    }

    /// Skips an object or array at the cursor, iteratively (no recursion on the data).
    fn skip_container(&mut self) -> Result<(), SyntaxError> {
        // Bit `d` of `objects` says whether the container at depth `d` is an object.
        let mut objects = [0u64; MAX_DEPTH.div_ceil(64)];
        let mut depth = 0usize;
        loop {
            // At the start of a value.
            self.skip_whitespace();
            let mut finished_value = match self.bytes.get(self.position) {
                Some(&open @ (b'{' | b'[')) => {
                    if depth == MAX_DEPTH {
                        return Err(SyntaxError {
                            message: format!(
                                "nesting depth exceeds the maximum allowed ({MAX_DEPTH})"
                            ),
                        });
                    }
                    let is_object = open == b'{';
                    if is_object {
                        objects[depth / 64] |= 1 << (depth % 64);
                    } else {
                        objects[depth / 64] &= !(1 << (depth % 64));
                    }
                    depth += 1;
                    self.position += 1;
                    let close = if is_object { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.position += 1;
                        depth -= 1;
                        true
                    } else {
                        if is_object {
                            self.key()?;
                        }
                        false
                    }
                }
                _ => {
                    self.scalar()?;
                    true
                }
            };
            // After a value: close containers or move to the next member or element.
            while finished_value {
                if depth == 0 {
                    return Ok(());
                }
                let is_object = objects[(depth - 1) / 64] & (1 << ((depth - 1) % 64)) != 0;
                match self.next_byte()? {
                    b',' => {
                        if is_object {
                            self.key()?;
                        }
                        finished_value = false;
                    }
                    b'}' if is_object => depth -= 1,
                    b']' if !is_object => depth -= 1,
                    other => return Err(self.unexpected_at(other, self.position - 1)),
                }
            }
        }
    }

    fn unexpected(&self, byte: u8) -> SyntaxError {
        self.unexpected_at(byte, self.position)
    }

    fn unexpected_at(&self, byte: u8, position: usize) -> SyntaxError {
        let shown = if byte.is_ascii_graphic() {
            format!("'{}' ", byte as char)
        } else {
            String::new()
        };
        SyntaxError {
            message: format!("unexpected character ({shown}code {byte}) at byte {position}"),
        }
    }

    fn number_error(&self, position: usize) -> SyntaxError {
        SyntaxError {
            message: format!("invalid numeric value at byte {position}"),
        }
    }

    fn end(&self) -> SyntaxError {
        SyntaxError {
            message: "unexpected end of input".to_string(),
        }
    }
}

/// Appends the unescaped form of string content (validated by the scanner).
pub(super) fn unescape_into(content: &str, out: &mut Vec<u8>) {
    let bytes = content.as_bytes();
    let mut position = 0;
    while position < bytes.len() {
        let run_end = bytes[position..]
            .iter()
            .position(|&b| b == b'\\')
            .map_or(bytes.len(), |offset| position + offset);
        out.extend_from_slice(&bytes[position..run_end]);
        position = run_end;
        if position >= bytes.len() {
            break;
        }
        let escape = bytes.get(position + 1).copied().unwrap_or(b'\\');
        position += 2;
        let simple = match escape {
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'u' => None,
            other => Some(other),
        };
        if let Some(byte) = simple {
            out.push(byte);
            continue;
        }
        let unit = hex4(bytes, position);
        position += 4;
        let character = if (0xD800..0xDC00).contains(&unit)
            && bytes.get(position) == Some(&b'\\')
            && bytes.get(position + 1) == Some(&b'u')
        {
            let low = hex4(bytes, position + 2);
            if (0xDC00..0xE000).contains(&low) {
                position += 6;
                char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
            } else {
                None
            }
        } else {
            char::from_u32(unit)
        };
        let character = character.unwrap_or(char::REPLACEMENT_CHARACTER);
        let mut buffer = [0u8; 4];
        out.extend_from_slice(character.encode_utf8(&mut buffer).as_bytes());
    }
}

fn hex4(bytes: &[u8], position: usize) -> u32 {
    bytes
        .get(position..position + 4)
        .and_then(|hex| std::str::from_utf8(hex).ok())
        .and_then(|hex| u32::from_str_radix(hex, 16).ok())
        .unwrap_or(0xFFFD)
}

#[cfg(test)]
mod tests;
