//! Binary encoding of a chunk: consecutive records of one partition stored under one key.
//!
//! ```text
//! chunk  = version: u8 (1) | count: u32 LE | record*
//! record = flags: u8 (1 key, 2 value, 4 headers)
//!          | [key: varint length | bytes] | [value: varint length | bytes]
//!          | timestamp: zigzag varint of the difference to the previous record's (first: to 0)
//!          | [headers: varint count | (key: varint length | bytes | value: u8 present
//!             | [varint length | bytes])*]
//! ```

use crate::log::{Header, Record};
use crate::{ExecError, Result};

const VERSION: u8 = 1;
const HEADER_BYTES: usize = 5;
const HAS_KEY: u8 = 1;
const HAS_VALUE: u8 = 2;
const HAS_HEADERS: u8 = 4;

/// Builds one chunk value; reusable after `clear`.
#[derive(Debug)]
pub(super) struct ChunkEncoder {
    buffer: Vec<u8>,
    count: u32,
    last_timestamp: i64,
}

impl ChunkEncoder {
    pub(super) fn new() -> Self {
        let mut encoder = ChunkEncoder {
            buffer: Vec::with_capacity(4096),
            count: 0,
            last_timestamp: 0,
        };
        encoder.clear();
        encoder
    }

    /// Forgets every record pushed so far.
    pub(super) fn clear(&mut self) {
        self.buffer.clear();
        self.buffer.push(VERSION);
        self.buffer.extend_from_slice(&[0; 4]);
        self.count = 0;
        self.last_timestamp = 0;
    }

    pub(super) fn count(&self) -> u32 {
        self.count
    }

    /// Bytes encoded so far.
    pub(super) fn encoded_bytes(&self) -> usize {
        self.buffer.len()
    }

    pub(super) fn push(&mut self, record: &Record) {
        let mut flags = 0;
        if record.key.is_some() {
            flags |= HAS_KEY;
        }
        if record.value.is_some() {
            flags |= HAS_VALUE;
        }
        if !record.headers.is_empty() {
            flags |= HAS_HEADERS;
        }
        self.buffer.push(flags);
        if let Some(key) = &record.key {
            put_bytes(&mut self.buffer, key);
        }
        if let Some(value) = &record.value {
            put_bytes(&mut self.buffer, value);
        }
        let delta = record.timestamp.wrapping_sub(self.last_timestamp);
        put_varint(&mut self.buffer, zigzag(delta));
        self.last_timestamp = record.timestamp;
        if !record.headers.is_empty() {
            put_varint(&mut self.buffer, record.headers.len() as u64);
            for header in &record.headers {
                put_bytes(&mut self.buffer, header.key.as_bytes());
                match &header.value {
                    Some(value) => {
                        self.buffer.push(1);
                        put_bytes(&mut self.buffer, value);
                    }
                    None => self.buffer.push(0),
                }
            }
        }
        self.count += 1;
    }

    /// The encoded chunk.
    pub(super) fn finish(&mut self) -> &[u8] {
        self.buffer[1..HEADER_BYTES].copy_from_slice(&self.count.to_le_bytes());
        &self.buffer
    }
}

/// The number of records in an encoded chunk.
pub(super) fn chunk_count(chunk: &[u8]) -> Result<u32> {
    match chunk {
        [VERSION, a, b, c, d, ..] => Ok(u32::from_le_bytes([*a, *b, *c, *d])),
        _ => Err(corrupt("bad chunk header")),
    }
}

/// Reads the records of one chunk in order.
#[derive(Debug)]
pub(super) struct ChunkDecoder<'a> {
    data: &'a [u8],
    position: usize,
    remaining: u32,
    last_timestamp: i64,
}

impl<'a> ChunkDecoder<'a> {
    pub(super) fn new(chunk: &'a [u8]) -> Result<Self> {
        Ok(ChunkDecoder {
            remaining: chunk_count(chunk)?,
            data: chunk,
            position: HEADER_BYTES,
            last_timestamp: 0,
        })
    }

    /// Records not decoded or skipped yet.
    pub(super) fn remaining(&self) -> u32 {
        self.remaining
    }

    /// Steps over the next `n` records without allocating.
    pub(super) fn skip(&mut self, n: u32) -> Result<()> {
        for _ in 0..n {
            if self.remaining == 0 {
                return Err(corrupt("skip past the end of a chunk"));
            }
            let flags = self.byte()?;
            if flags & HAS_KEY != 0 {
                self.bytes()?;
            }
            if flags & HAS_VALUE != 0 {
                self.bytes()?;
            }
            self.timestamp()?;
            if flags & HAS_HEADERS != 0 {
                let headers = self.varint()?;
                for _ in 0..headers {
                    self.bytes()?;
                    if self.byte()? != 0 {
                        self.bytes()?;
                    }
                }
            }
            self.remaining -= 1;
        }
        Ok(())
    }

    /// The next record, or `None` at the end of the chunk.
    pub(super) fn next_record(&mut self) -> Result<Option<Record>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let flags = self.byte()?;
        let key = if flags & HAS_KEY != 0 {
            Some(self.bytes()?.to_vec())
        } else {
            None
        };
        let value = if flags & HAS_VALUE != 0 {
            Some(self.bytes()?.to_vec())
        } else {
            None
        };
        let timestamp = self.timestamp()?;
        let mut headers = Vec::new();
        if flags & HAS_HEADERS != 0 {
            let count = self.varint()?;
            for _ in 0..count {
                let key = String::from_utf8(self.bytes()?.to_vec())
                    .map_err(|_| corrupt("header key is not utf-8"))?;
                let value = if self.byte()? != 0 {
                    Some(self.bytes()?.to_vec())
                } else {
                    None
                };
                headers.push(Header { key, value });
            }
        }
        self.remaining -= 1;
        Ok(Some(Record {
            key,
            value,
            timestamp,
            headers,
        }))
    }

    fn byte(&mut self) -> Result<u8> {
        let byte = *self
            .data
            .get(self.position)
            .ok_or_else(|| corrupt("truncated chunk"))?;
        self.position += 1;
        Ok(byte)
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(corrupt("varint too long"))
    }

    fn bytes(&mut self) -> Result<&'a [u8]> {
        let length = usize::try_from(self.varint()?).map_err(|_| corrupt("length too large"))?;
        let end = self
            .position
            .checked_add(length)
            .filter(|&end| end <= self.data.len())
            .ok_or_else(|| corrupt("truncated chunk"))?;
        let bytes = &self.data[self.position..end];
        self.position = end;
        Ok(bytes)
    }

    fn timestamp(&mut self) -> Result<i64> {
        let delta = unzigzag(self.varint()?);
        self.last_timestamp = self.last_timestamp.wrapping_add(delta);
        Ok(self.last_timestamp)
    }
}

fn put_varint(buffer: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        buffer.push((value as u8) | 0x80);
        value >>= 7;
    }
    buffer.push(value as u8);
}

fn put_bytes(buffer: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(buffer, bytes.len() as u64);
    buffer.extend_from_slice(bytes);
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

fn corrupt(what: &str) -> ExecError {
    ExecError::Internal(format!("corrupt embedded log chunk: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: Option<&[u8]>, value: Option<&[u8]>, timestamp: i64) -> Record {
        Record {
            key: key.map(<[u8]>::to_vec),
            value: value.map(<[u8]>::to_vec),
            timestamp,
            headers: Vec::new(),
        }
    }

    #[test]
    fn records_round_trip() {
        let mut with_headers = record(Some(b"k"), Some(b"v"), 5);
        with_headers.headers = vec![
            Header {
                key: "a".into(),
                value: Some(b"1".to_vec()),
            },
            Header {
                key: String::new(),
                value: None,
            },
        ];
        let records = vec![
            record(Some(b"key"), Some(&[7; 300]), 1_700_000_000_000),
            record(None, None, i64::MIN),
            record(Some(b""), Some(b""), i64::MAX),
            record(None, Some(b"x"), -1),
            with_headers,
        ];
        let mut encoder = ChunkEncoder::new();
        for record in &records {
            encoder.push(record);
        }
        let chunk = encoder.finish().to_vec();
        assert_eq!(chunk_count(&chunk).expect("count"), 5);

        let mut decoder = ChunkDecoder::new(&chunk).expect("decoder");
        let mut decoded = Vec::new();
        while let Some(record) = decoder.next_record().expect("decode") {
            decoded.push(record);
        }
        assert_eq!(decoded, records);

        for skipped in 0..=records.len() {
            let mut decoder = ChunkDecoder::new(&chunk).expect("decoder");
            decoder.skip(skipped as u32).expect("skip");
            assert_eq!(decoder.remaining() as usize, records.len() - skipped);
            assert_eq!(
                decoder.next_record().expect("decode").as_ref(),
                records.get(skipped),
                "after skipping {skipped}"
            );
        }
    }

    #[test]
    fn cleared_encoder_starts_a_new_chunk() {
        let mut encoder = ChunkEncoder::new();
        encoder.push(&record(Some(b"a"), None, 10));
        encoder.clear();
        encoder.push(&record(Some(b"b"), None, 20));
        let chunk = encoder.finish().to_vec();
        let mut decoder = ChunkDecoder::new(&chunk).expect("decoder");
        assert_eq!(
            decoder.next_record().expect("decode"),
            Some(record(Some(b"b"), None, 20))
        );
        assert_eq!(decoder.next_record().expect("decode"), None);
    }

    #[test]
    fn truncated_chunks_are_errors() {
        let mut encoder = ChunkEncoder::new();
        encoder.push(&record(Some(b"key"), Some(b"value"), 1));
        let chunk = encoder.finish().to_vec();
        for length in 0..chunk.len() {
            let result = ChunkDecoder::new(&chunk[..length]).and_then(|mut decoder| {
                decoder.next_record()?;
                Ok(())
            });
            assert!(result.is_err(), "prefix of {length} bytes decoded");
        }
    }
}
