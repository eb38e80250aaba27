//! The bytes of an `AggState` as stored in RocksDB: `AggregateFunction::encode` and `decode`.
//!
//! Scalar values and varints are written by `aggregate::codec`.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering as AtomicOrdering;

use super::number::Number;
use super::{AggState, AggregateFunction};
use crate::aggregate::codec::{
    decode_scalar, encode_scalar, get_bytes, get_f64, get_i128, get_signed, get_varint, put_bytes,
    put_f64, put_i128, put_signed, put_varint, take_byte,
};
use crate::{ExecError, Result};

impl AggregateFunction {
    /// Appends the state's bytes.
    pub fn encode(&self, state: &AggState, out: &mut Vec<u8>) {
        match state {
            AggState::Int(value) => put_signed(out, *value),
            AggState::Float(value) => put_f64(out, *value),
            AggState::Decimal { sum, overflow } => {
                put_i128(out, *sum);
                out.push(u8::from(*overflow));
            }
            AggState::ExtremeInt(value) => {
                put_option(out, value.as_ref(), |out, v| put_signed(out, *v))
            }
            AggState::ExtremeFloat(value) => {
                put_option(out, value.as_ref(), |out, v| put_f64(out, *v))
            }
            AggState::ExtremeDecimal(value) => {
                put_option(out, value.as_ref(), |out, v| put_i128(out, *v))
            }
            AggState::ExtremeBytes(value) => {
                put_option(out, value.as_ref(), |out, v| put_bytes(out, v))
            }
            AggState::Average { sum, count } => {
                put_number(out, *sum);
                put_signed(out, *count);
            }
            AggState::Moments { sum, count, m2 } => {
                put_number(out, *sum);
                put_signed(out, *count);
                put_f64(out, *m2);
            }
            AggState::Correlation {
                x,
                y,
                xx,
                yy,
                xy,
                count,
            } => {
                for value in [x, y, xx, yy, xy] {
                    put_f64(out, *value);
                }
                put_signed(out, *count);
            }
            AggState::Distinct(values) => {
                put_varint(out, values.len() as u64);
                values.iter().for_each(|value| put_bytes(out, value));
            }
            AggState::User(value) => encode_scalar(value, out),
            AggState::Values(values) => {
                put_varint(out, values.len() as u64);
                values.iter().for_each(|value| encode_scalar(value, out));
            }
            AggState::Offsets(entries) => {
                put_varint(out, entries.len() as u64);
                for (sequence, value) in entries {
                    put_varint(out, *sequence);
                    encode_scalar(value, out);
                }
            }
            AggState::Histogram(counts) => {
                put_varint(out, counts.len() as u64);
                for (key, count) in counts {
                    put_bytes(out, key.as_bytes());
                    put_signed(out, *count);
                }
            }
        }
    }

    /// Reads a state written by `encode`, consuming exactly its bytes.
    pub fn decode(&self, input: &mut &[u8]) -> Result<AggState> {
        if let super::Kind::User(user) = &self.kind {
            return Ok(AggState::User(decode_scalar(
                &user.0.aggregate_type,
                input,
            )?));
        }
        let state = match self.init() {
            AggState::Int(_) => AggState::Int(get_signed(input)?),
            AggState::Float(_) => AggState::Float(get_f64(input)?),
            AggState::Decimal { .. } => AggState::Decimal {
                sum: get_i128(input)?,
                overflow: take_byte(input)? != 0,
            },
            AggState::ExtremeInt(_) => AggState::ExtremeInt(get_option(input, get_signed)?),
            AggState::ExtremeFloat(_) => AggState::ExtremeFloat(get_option(input, get_f64)?),
            AggState::ExtremeDecimal(_) => AggState::ExtremeDecimal(get_option(input, get_i128)?),
            AggState::ExtremeBytes(_) => {
                AggState::ExtremeBytes(get_option(input, |input| Ok(get_bytes(input)?.to_vec()))?)
            }
            AggState::Average { sum, .. } => AggState::Average {
                sum: get_number(input, sum)?,
                count: get_signed(input)?,
            },
            AggState::Moments { sum, .. } => AggState::Moments {
                sum: get_number(input, sum)?,
                count: get_signed(input)?,
                m2: get_f64(input)?,
            },
            AggState::Correlation { .. } => AggState::Correlation {
                x: get_f64(input)?,
                y: get_f64(input)?,
                xx: get_f64(input)?,
                yy: get_f64(input)?,
                xy: get_f64(input)?,
                count: get_signed(input)?,
            },
            AggState::Distinct(_) => {
                let len = get_len(input)?;
                let mut values = BTreeSet::new();
                for _ in 0..len {
                    values.insert(get_bytes(input)?.to_vec());
                }
                AggState::Distinct(values)
            }
            AggState::Values(_) => {
                let len = get_len(input)?;
                let width = self.arg_types.len().max(1);
                let mut values = Vec::with_capacity(len);
                for index in 0..len {
                    let data_type = &self.arg_types[index % width];
                    values.push(decode_scalar(data_type, input)?);
                }
                AggState::Values(values)
            }
            AggState::Offsets(_) => {
                let len = get_len(input)?;
                let mut entries = Vec::with_capacity(len);
                for _ in 0..len {
                    let sequence = get_varint(input)?;
                    self.sequence
                        .fetch_max(sequence.saturating_add(1), AtomicOrdering::Relaxed);
                    entries.push((sequence, decode_scalar(&self.arg_types[0], input)?));
                }
                AggState::Offsets(entries)
            }
            AggState::Histogram(_) => {
                let len = get_len(input)?;
                let mut counts = Vec::with_capacity(len);
                for _ in 0..len {
                    let key = std::str::from_utf8(get_bytes(input)?)
                        .map_err(|_| ExecError::Internal("corrupt histogram state".into()))?
                        .to_string();
                    counts.push((key, get_signed(input)?));
                }
                AggState::Histogram(counts)
            }
            AggState::User(_) => unreachable!("user states are decoded above"),
        };
        Ok(state)
    }
}

fn put_option<T>(out: &mut Vec<u8>, value: Option<&T>, put: impl FnOnce(&mut Vec<u8>, &T)) {
    match value {
        None => out.push(0),
        Some(value) => {
            out.push(1);
            put(out, value);
        }
    }
}

fn get_option<T>(
    input: &mut &[u8],
    get: impl FnOnce(&mut &[u8]) -> Result<T>,
) -> Result<Option<T>> {
    match take_byte(input)? {
        0 => Ok(None),
        _ => Ok(Some(get(input)?)),
    }
}

fn put_number(out: &mut Vec<u8>, value: Number) {
    match value {
        Number::Int(value) => put_signed(out, value),
        Number::Float(value) => put_f64(out, value),
    }
}

/// Reads a number of the same kind as `like`.
fn get_number(input: &mut &[u8], like: Number) -> Result<Number> {
    Ok(match like {
        Number::Int(_) => Number::Int(get_signed(input)?),
        Number::Float(_) => Number::Float(get_f64(input)?),
    })
}

fn get_len(input: &mut &[u8]) -> Result<usize> {
    let len = usize::try_from(get_varint(input)?)
        .map_err(|_| ExecError::Internal("corrupt aggregate state: length".into()))?;
    if len > input.len() {
        return Err(ExecError::Internal(
            "corrupt aggregate state: length past the end".into(),
        ));
    }
    Ok(len)
}
