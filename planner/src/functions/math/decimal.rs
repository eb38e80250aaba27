//! Decimal rounding as Java's `BigDecimal.setScale` does it, for ROUND, TRUNC, CEIL and FLOOR.
//!
//! Decimals are unscaled `i128` values with a scale. Doubles are rounded through their
//! shortest decimal form, like `BigDecimal.valueOf(double)`.

/// A `java.math.RoundingMode`, plus ksqlDB's ROUND mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DecimalRounding {
    /// HALF_UP for positive values and HALF_DOWN otherwise: halves go towards +infinity.
    HalfTowardsPositive,
    /// Towards zero.
    Down,
    Floor,
    Ceiling,
}

/// Rounds `value` (at `scale`) to `places` decimal places. With `keep_scale` the result is
/// at `scale` again (trailing zeros), otherwise at `places` (which must not exceed `scale`).
pub(super) fn round_decimal(
    value: i128,
    scale: i8,
    places: i8,
    rounding: DecimalRounding,
    keep_scale: bool,
) -> i128 {
    if places >= scale {
        return value;
    }
    let digits = i32::from(scale) - i32::from(places);
    let Some(factor) = u32::try_from(digits)
        .ok()
        .and_then(|digits| 10i128.checked_pow(digits))
    else {
        // Every digit is dropped: the result is zero, or one unit away for floor/ceiling.
        return 0;
    };
    let quotient = value / factor;
    let remainder = value % factor;
    let twice = remainder.abs() * 2;
    let adjusted = match rounding {
        DecimalRounding::Down => quotient,
        DecimalRounding::Floor => quotient - i128::from(remainder < 0),
        DecimalRounding::Ceiling => quotient + i128::from(remainder > 0),
        DecimalRounding::HalfTowardsPositive => {
            if value > 0 && twice >= factor {
                quotient + 1
            } else if value < 0 && twice > factor {
                quotient - 1
            } else {
                quotient
            }
        }
    };
    if keep_scale {
        adjusted.saturating_mul(factor)
    } else {
        adjusted
    }
}

/// The shortest decimal form of a finite double as (unscaled digits, scale).
fn double_to_decimal(value: f64) -> Option<(i128, i32)> {
    if !value.is_finite() {
        return None;
    }
    let text = format!("{value:e}");
    let (mantissa, exponent) = text.split_once('e')?;
    let exponent: i32 = exponent.parse().ok()?;
    let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let unscaled: i128 = format!("{integer}{fraction}").parse().ok()?;
    Some((unscaled, fraction.len() as i32 - exponent))
}

/// ROUND(DOUBLE, INT) and TRUNC(DOUBLE, INT): rounds the shortest decimal form of `value`.
pub(super) fn round_double(value: f64, places: i32, rounding: DecimalRounding) -> f64 {
    let Some((unscaled, scale)) = double_to_decimal(value) else {
        return value;
    };
    if places >= scale {
        return value;
    }
    let digits = scale - places;
    let rounded = match u32::try_from(digits)
        .ok()
        .and_then(|digits| 10i128.checked_pow(digits))
    {
        Some(factor) => {
            // Reuse the decimal rounding at scale `digits`, result at scale 0.
            let quotient = unscaled / factor;
            let twice = (unscaled % factor).abs() * 2;
            match rounding {
                DecimalRounding::HalfTowardsPositive if unscaled > 0 && twice >= factor => {
                    quotient + 1
                }
                DecimalRounding::HalfTowardsPositive if unscaled < 0 && twice > factor => {
                    quotient - 1
                }
                DecimalRounding::Floor if unscaled % factor < 0 => quotient - 1,
                DecimalRounding::Ceiling if unscaled % factor > 0 => quotient + 1,
                _ => quotient,
            }
        }
        None => 0,
    };
    format!("{rounded}e{}", -places).parse().unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_decimal_modes() {
        use DecimalRounding::*;
        let cases = [
            (15, 1, 0, HalfTowardsPositive, 2),
            (-15, 1, 0, HalfTowardsPositive, -1),
            (-16, 1, 0, HalfTowardsPositive, -2),
            (17, 1, 0, Down, 1),
            (-17, 1, 0, Down, -1),
            (-11, 1, 0, Floor, -2),
            (11, 1, 0, Ceiling, 2),
            (-11, 1, 0, Ceiling, -1),
            (12345, 2, -1, HalfTowardsPositive, 12),
            (5, 0, -40, HalfTowardsPositive, 0),
        ];
        for (value, scale, places, rounding, expected) in cases {
            assert_eq!(
                round_decimal(value, scale, places, rounding, false),
                expected,
                "{value} {scale} {places} {rounding:?}"
            );
        }
        assert_eq!(round_decimal(12345, 2, 1, HalfTowardsPositive, true), 12350);
    }

    #[test]
    fn round_double_uses_the_shortest_decimal_form() {
        use DecimalRounding::*;
        let cases = [
            (1.234567, 2, HalfTowardsPositive, 1.23),
            (12345.678, -1, HalfTowardsPositive, 12350.0),
            (-12345.678, 2, HalfTowardsPositive, -12345.68),
            (-1.5, 0, HalfTowardsPositive, -1.0),
            (1.5, 0, HalfTowardsPositive, 2.0),
            (0.285, 2, HalfTowardsPositive, 0.29),
            (12345.678, 2, Down, 12345.67),
            (-12345.678, -2, Down, -12300.0),
            (1e300, 2, HalfTowardsPositive, 1e300),
            (123.0, -5, HalfTowardsPositive, 0.0),
        ];
        for (value, places, rounding, expected) in cases {
            assert_eq!(
                round_double(value, places, rounding),
                expected,
                "{value} {places}"
            );
        }
        assert!(round_double(f64::NAN, 1, HalfTowardsPositive).is_nan());
    }
}
