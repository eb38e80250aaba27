//! Number text as the JVM writes and reads it: `Double.toString`, `Double.parseDouble`,
//! `BigDecimal(String)`, `BigDecimal.toString`/`toPlainString` and ksqlDB's `DecimalUtil.ensureFit`.
//!
//! ksqlDB's formats are built on these, so Eddy's bytes match ksqlDB's bytes. The formats
//! themselves (quoting, escaping) are in the sibling modules.

use std::io::Write;

/// Appends `value` as Java's `Double.toString` writes it: `1.0`, `100.0`, `0.001`, `1.0E7`,
/// `1.234E-5`, `NaN`, `Infinity`, `-Infinity` (shortest digits that round-trip).
pub(crate) fn write_java_double(out: &mut Vec<u8>, value: f64) {
    if value.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if value.is_infinite() {
        out.extend_from_slice(if value > 0.0 {
            b"Infinity"
        } else {
            b"-Infinity"
        });
        return;
    }
    if value == 0.0 {
        out.extend_from_slice(if value.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        });
        return;
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e-7", "1e10".
    let mut buffer = [0u8; 40];
    let written = {
        let mut cursor = &mut buffer[..];
        write!(cursor, "{value:e}").expect("a double fits in 40 bytes");
        40 - cursor.len()
    };
    let text = &buffer[..written];
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let e_at = text
        .iter()
        .position(|&b| b == b'e')
        .expect("`{:e}` output has an exponent");
    let mut digits = [0u8; 24];
    let mut digit_count = 0;
    for &b in &text[..e_at] {
        if b != b'.' {
            digits[digit_count] = b;
            digit_count += 1;
        }
    }
    let mut exponent: i32 = std::str::from_utf8(&text[e_at + 1..])
        .ok()
        .and_then(|exponent| exponent.parse().ok())
        .expect("`{:e}` output has a decimal exponent");
    if digit_count == 1 && value.abs() < f64::MIN_POSITIVE {
        // Java picks the closest decimal of one or two digits (4.9E-324, not 5.0E-324);
        // only subnormals are imprecise enough for the two to differ.
        let mut buffer = [0u8; 40];
        let written = {
            let mut cursor = &mut buffer[..];
            write!(cursor, "{:.1e}", value.abs()).expect("a double fits in 40 bytes");
            40 - cursor.len()
        };
        let closest = &buffer[..written];
        let round_trips = std::str::from_utf8(closest)
            .ok()
            .and_then(|text| text.parse::<f64>().ok())
            == Some(value.abs());
        if round_trips && closest[2] != b'0' {
            digits[0] = closest[0];
            digits[1] = closest[2];
            digit_count = 2;
            exponent = std::str::from_utf8(&closest[4..])
                .ok()
                .and_then(|exponent| exponent.parse().ok())
                .expect("`{:.1e}` output has a decimal exponent");
        }
    }
    let digits = &digits[..digit_count];
    if negative {
        out.push(b'-');
    }
    if (-3..7).contains(&exponent) {
        if exponent >= 0 {
            let integer_len = exponent as usize + 1;
            for index in 0..integer_len {
                out.push(digits.get(index).copied().unwrap_or(b'0'));
            }
            out.push(b'.');
            if digits.len() > integer_len {
                out.extend_from_slice(&digits[integer_len..]);
            } else {
                out.push(b'0');
            }
        } else {
            out.extend_from_slice(b"0.");
            for _ in 0..(-exponent - 1) {
                out.push(b'0');
            }
            out.extend_from_slice(digits);
        }
    } else {
        out.push(digits[0]);
        out.push(b'.');
        if digits.len() > 1 {
            out.extend_from_slice(&digits[1..]);
        } else {
            out.push(b'0');
        }
        out.push(b'E');
        write_i64(out, i64::from(exponent));
    }
}

/// Parses text as Java's `Double.parseDouble` does: surrounding whitespace is ignored,
/// `NaN`, `Infinity` and a trailing `f`/`d` type suffix are accepted. Hex floats are not.
pub(crate) fn parse_java_double(text: &str) -> Option<f64> {
    let text = text.trim_matches(|c: char| c <= ' ');
    let (sign, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (-1.0, &text[1..]),
        Some(b'+') => (1.0, &text[1..]),
        _ => (1.0, text),
    };
    match unsigned {
        "NaN" => return Some(f64::NAN),
        "Infinity" => return Some(sign * f64::INFINITY),
        _ => {}
    }
    let number = match unsigned.as_bytes().last() {
        Some(b'f' | b'F' | b'd' | b'D') => &text[..text.len() - 1],
        _ => text,
    };
    // Rust also reads "inf" and "nan", which Java rejects.
    let only_decimal = number
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !only_decimal {
        return None;
    }
    number.parse().ok()
}

/// Appends a decimal integer.
pub(crate) fn write_i64(out: &mut Vec<u8>, value: i64) {
    let mut buffer = [0u8; 20];
    let mut position = buffer.len();
    let negative = value < 0;
    let mut rest = value.unsigned_abs();
    loop {
        position -= 1;
        buffer[position] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if negative {
        out.push(b'-');
    }
    out.extend_from_slice(&buffer[position..]);
}

/// A decimal number in the text form `BigDecimal(String)` accepts: an optional sign,
/// digits with at most one point, and an optional exponent (`-12.50`, `1E+3`, `.5`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct DecimalText<'a> {
    negative: bool,
    integer: &'a [u8],
    fraction: &'a [u8],
    exponent: i64,
}

impl<'a> DecimalText<'a> {
    /// Parses `text`; `None` when `BigDecimal(String)` would throw.
    pub(crate) fn parse(text: &'a str) -> Option<Self> {
        let bytes = text.as_bytes();
        let (negative, mut position) = match bytes.first() {
            Some(b'-') => (true, 1),
            Some(b'+') => (false, 1),
            _ => (false, 0),
        };
        let integer_start = position;
        while bytes.get(position).is_some_and(u8::is_ascii_digit) {
            position += 1;
        }
        let integer = &bytes[integer_start..position];
        let mut fraction: &[u8] = &[];
        if bytes.get(position) == Some(&b'.') {
            position += 1;
            let fraction_start = position;
            while bytes.get(position).is_some_and(u8::is_ascii_digit) {
                position += 1;
            }
            fraction = &bytes[fraction_start..position];
        }
        if integer.is_empty() && fraction.is_empty() {
            return None;
        }
        let mut exponent = 0i64;
        if matches!(bytes.get(position), Some(b'e' | b'E')) {
            position += 1;
            let exponent_negative = match bytes.get(position) {
                Some(b'-') => {
                    position += 1;
                    true
                }
                Some(b'+') => {
                    position += 1;
                    false
                }
                _ => false,
            };
            let exponent_start = position;
            while let Some(digit) = bytes.get(position).filter(|b| b.is_ascii_digit()) {
                exponent = exponent * 10 + i64::from(digit - b'0');
                if exponent > i64::from(i32::MAX) {
                    return None;
                }
                position += 1;
            }
            if position == exponent_start {
                return None;
            }
            if exponent_negative {
                exponent = -exponent;
            }
        }
        if position != bytes.len() {
            return None;
        }
        Some(Self {
            negative,
            integer,
            fraction,
            exponent,
        })
    }

    /// `BigDecimal.scale()`: digits after the point, minus the exponent.
    fn scale(&self) -> i64 {
        self.fraction.len() as i64 - self.exponent
    }

    /// The unscaled digits without leading zeros, as two slices (integer part, fraction
    /// part); both empty for zero.
    fn significant(&self) -> (&'a [u8], &'a [u8]) {
        match self.integer.iter().position(|&b| b != b'0') {
            Some(first) => (&self.integer[first..], self.fraction),
            None => match self.fraction.iter().position(|&b| b != b'0') {
                Some(first) => (&[], &self.fraction[first..]),
                None => (&[], &[]),
            },
        }
    }

    /// The unscaled digits without leading zeros (`"0"` for zero).
    fn digits(&self) -> Vec<u8> {
        let (integer, fraction) = self.significant();
        if integer.is_empty() && fraction.is_empty() {
            return vec![b'0'];
        }
        [integer, fraction].concat()
    }

    /// Appends the number as `BigDecimal.toString()` writes it (`1.50`, `1E+3`, `1E-7`).
    pub(crate) fn write_java_string(&self, out: &mut Vec<u8>) {
        let digits = self.digits();
        write_scientific(out, self.negative && digits != b"0", &digits, self.scale());
    }

    /// Truncates toward zero and keeps the low 64 bits, as `BigDecimal.longValue()` does.
    pub(crate) fn wrapping_i64(&self) -> i64 {
        let (integer, fraction) = self.significant();
        let count = integer.len() + fraction.len();
        let digit = |index: usize| {
            if index < integer.len() {
                integer[index]
            } else {
                fraction[index - integer.len()]
            }
        };
        let scale = self.scale();
        let mut value = 0i64;
        if scale <= 0 {
            for index in 0..count {
                value = value
                    .wrapping_mul(10)
                    .wrapping_add(i64::from(digit(index) - b'0'));
            }
            // 10^64 is a multiple of 2^64: more factors of ten leave zero.
            for _ in 0..(-scale).min(64) {
                value = value.wrapping_mul(10);
            }
        } else if (scale as u64) < count as u64 {
            for index in 0..count - scale as usize {
                value = value
                    .wrapping_mul(10)
                    .wrapping_add(i64::from(digit(index) - b'0'));
            }
        }
        if self.negative {
            value.wrapping_neg()
        } else {
            value
        }
    }

    /// The unscaled value at `scale` of a `DECIMAL(precision, scale)`, or ksqlDB's error when
    /// the number is too large or would need rounding (`DecimalUtil.ensureFit`).
    pub(crate) fn to_decimal(self, precision: u8, scale: i8) -> Result<i128, String> {
        let (integer, fraction) = self.significant();
        let count = (integer.len() + fraction.len()) as i64;
        if count == 0 {
            return Ok(0);
        }
        let digit = |index: usize| {
            if index < integer.len() {
                integer[index]
            } else {
                fraction[index - integer.len()]
            }
        };
        let own_scale = self.scale();
        let integer_digits = i64::from(precision) - i64::from(scale);
        if count - 1 - own_scale >= integer_digits {
            let mut plain = Vec::new();
            write_plain(&mut plain, self.negative, &self.digits(), own_scale);
            return Err(format!(
                "Numeric field overflow: A field with precision {precision} and scale {scale} \
                 must round to an absolute value less than 10^{integer_digits}. Got {}",
                String::from_utf8_lossy(&plain)
            ));
        }
        let target_scale = i64::from(scale);
        let mut value = 0i128;
        if target_scale >= own_scale {
            for index in 0..count as usize {
                value = value * 10 + i128::from(digit(index) - b'0');
            }
            for _ in 0..target_scale - own_scale {
                value *= 10;
            }
        } else {
            let dropped = own_scale - target_scale;
            let kept = (count - dropped).max(0) as usize;
            let exact = (kept..count as usize).all(|index| digit(index) == b'0');
            if !exact {
                let mut plain = Vec::new();
                write_plain(&mut plain, self.negative, &self.digits(), own_scale);
                return Err(format!(
                    "Cannot fit decimal '{}' into DECIMAL({precision}, {scale}) without rounding. \
                     (Requires {count},{own_scale})",
                    String::from_utf8_lossy(&plain)
                ));
            }
            for index in 0..kept {
                value = value * 10 + i128::from(digit(index) - b'0');
            }
        }
        Ok(if self.negative { -value } else { value })
    }
}

/// Appends a `DECIMAL` value as `BigDecimal.toString()` writes it (`1.10`, `0E-7`).
pub(crate) fn write_java_decimal(out: &mut Vec<u8>, unscaled: i128, scale: i8) {
    let mut buffer = [0u8; 40];
    let digits = u128_digits(&mut buffer, unscaled.unsigned_abs());
    write_scientific(out, unscaled < 0, digits, i64::from(scale));
}

/// Appends a `DECIMAL` value as `BigDecimal.toPlainString()` writes it (`0.0000001`).
pub(crate) fn write_plain_decimal(out: &mut Vec<u8>, unscaled: i128, scale: i8) {
    let mut buffer = [0u8; 40];
    let digits = u128_digits(&mut buffer, unscaled.unsigned_abs());
    write_plain(out, unscaled < 0, digits, i64::from(scale));
}

fn u128_digits(buffer: &mut [u8; 40], mut value: u128) -> &[u8] {
    let mut position = buffer.len();
    loop {
        position -= 1;
        buffer[position] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    &buffer[position..]
}

/// `BigDecimal.toString()` layout of `digits × 10^-scale` (digits without leading zeros).
fn write_scientific(out: &mut Vec<u8>, negative: bool, digits: &[u8], scale: i64) {
    let adjusted = digits.len() as i64 - 1 - scale;
    if scale >= 0 && adjusted >= -6 {
        write_plain(out, negative, digits, scale);
        return;
    }
    if negative {
        out.push(b'-');
    }
    out.push(digits[0]);
    if digits.len() > 1 {
        out.push(b'.');
        out.extend_from_slice(&digits[1..]);
    }
    out.push(b'E');
    if adjusted > 0 {
        out.push(b'+');
    }
    write_i64(out, adjusted);
}

/// `BigDecimal.toPlainString()` layout of `digits × 10^-scale`.
fn write_plain(out: &mut Vec<u8>, negative: bool, digits: &[u8], scale: i64) {
    if negative {
        out.push(b'-');
    }
    if scale <= 0 {
        out.extend_from_slice(digits);
        if digits != b"0" {
            out.extend(std::iter::repeat_n(b'0', (-scale) as usize));
        }
        return;
    }
    let scale = scale as usize;
    if digits.len() > scale {
        let point = digits.len() - scale;
        out.extend_from_slice(&digits[..point]);
        out.push(b'.');
        out.extend_from_slice(&digits[point..]);
    } else {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', scale - digits.len()));
        out.extend_from_slice(digits);
    }
}

#[cfg(test)]
mod tests;
