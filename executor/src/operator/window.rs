//! Window assignment and the byte layouts of windowed keys.
//!
//! Time windows follow Kafka Streams' `TimeWindows.windowsFor`: every window of size `size`
//! starting at a multiple of `advance` that contains the timestamp (starts never negative).
//! Windowed keys in topics are the key bytes followed by the big-endian window start (time
//! windows) or end then start (session windows), as Kafka Streams serializes them.

use planner::catalog::WindowKind;

/// The starts of the time windows of `size` and `advance` that contain `timestamp`.
pub fn time_windows(timestamp: i64, size: i64, advance: i64) -> impl Iterator<Item = i64> {
    let advance = advance.max(1);
    let first = (timestamp - size + advance).max(0) / advance * advance;
    (0..)
        .map(move |n| first + n * advance)
        .take_while(move |start| *start <= timestamp)
        .filter(move |start| timestamp < start + size)
}

/// Appends a window to serialized key bytes, in the topic layout of `kind`.
pub fn append_window(key: &mut Vec<u8>, kind: WindowKind, start: i64, end: i64) {
    if kind == WindowKind::Session {
        key.extend_from_slice(&end.to_be_bytes());
    }
    key.extend_from_slice(&start.to_be_bytes());
}

/// Splits a windowed key of `kind` into the key bytes, the window start and the window end
/// (time windows: `start + size`; `size` unknown gives `i64::MAX`).
pub fn split_window(
    bytes: &[u8],
    kind: WindowKind,
    size: Option<u64>,
) -> Option<(&[u8], i64, i64)> {
    let read = |slice: &[u8]| -> Option<i64> { Some(i64::from_be_bytes(slice.try_into().ok()?)) };
    match kind {
        WindowKind::Session => {
            let split = bytes.len().checked_sub(16)?;
            let end = read(&bytes[split..split + 8])?;
            let start = read(&bytes[split + 8..])?;
            Some((&bytes[..split], start, end))
        }
        WindowKind::Tumbling | WindowKind::Hopping => {
            let split = bytes.len().checked_sub(8)?;
            let start = read(&bytes[split..])?;
            let end = size.map_or(i64::MAX, |size| start.saturating_add(size as i64));
            Some((&bytes[..split], start, end))
        }
    }
}

/// An `i64` as 8 bytes that sort like the numbers (sign bit flipped, big-endian).
pub fn ordered_i64(value: i64) -> [u8; 8] {
    ((value as u64) ^ (1 << 63)).to_be_bytes()
}

/// The inverse of `ordered_i64`.
pub fn from_ordered_i64(bytes: &[u8]) -> Option<i64> {
    let raw = u64::from_be_bytes(bytes.try_into().ok()?);
    Some((raw ^ (1 << 63)) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_windows_contain_the_timestamp() {
        let cases: [(i64, i64, i64, &[i64]); 5] = [
            (0, 10, 10, &[0]),
            (15, 10, 10, &[10]),
            (15, 10, 5, &[10, 15]),
            (3, 10, 5, &[0]),
            (12, 10, 2, &[4, 6, 8, 10, 12]),
        ];
        for (timestamp, size, advance, expected) in cases {
            let mut got: Vec<i64> = time_windows(timestamp, size, advance).collect();
            let mut expected = expected.to_vec();
            got.sort();
            expected.sort();
            assert_eq!(
                got, expected,
                "ts={timestamp} size={size} advance={advance}"
            );
        }
    }

    #[test]
    fn windowed_keys_round_trip() {
        for kind in [WindowKind::Tumbling, WindowKind::Session] {
            let mut key = b"k".to_vec();
            append_window(&mut key, kind, 10, 20);
            let (inner, start, end) = split_window(&key, kind, Some(10)).expect("long enough");
            assert_eq!((inner, start, end), (&b"k"[..], 10, 20));
        }
        assert!(split_window(b"short", WindowKind::Session, None).is_none());
    }

    #[test]
    fn ordered_integers_sort_like_numbers() {
        let values = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        for pair in values.windows(2) {
            assert!(ordered_i64(pair[0]) < ordered_i64(pair[1]));
            assert_eq!(from_ordered_i64(&ordered_i64(pair[0])), Some(pair[0]));
        }
    }
}
