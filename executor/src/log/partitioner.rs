//! Kafka-compatible partitioning.
//!
//! Keyed records go to `(murmur2(key) & 0x7fffffff) % partitions`, exactly like Kafka's
//! default partitioner, so data moves between the embedded log and Kafka without reshuffling.
//! Records without a key are spread round robin.

/// Kafka's `Utils.murmur2` (seed `0x9747b28c`), as a signed 32-bit value like Java's.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    // Java's `int` arithmetic wraps; the length is folded in as Java's `int` would be.
    let mut h = SEED ^ (data.len() as u32);
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if let Some(&first) = tail.first() {
        h ^= u32::from(first);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Kafka's default partitioner picks for a non-null key.
///
/// `partitions` must be positive; 0 is treated as 1.
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    ((murmur2(key) as u32) & 0x7fff_ffff) % partitions.max(1)
}

/// The partition of a record: by key hash, or round robin (advancing `round_robin`) when the
/// key is null. An empty key is a key like any other and is hashed.
pub fn partition_for_record(key: Option<&[u8]>, partitions: u32, round_robin: &mut u32) -> u32 {
    match key {
        Some(key) => partition_for_key(key, partitions),
        None => {
            let partition = *round_robin % partitions.max(1);
            *round_robin = round_robin.wrapping_add(1);
            partition
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka_utils_test_vectors() {
        let cases: [(&[u8], i32); 7] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
            (b"", 275_646_681),
        ];
        for (input, expected) in cases {
            assert_eq!(
                murmur2(input),
                expected,
                "murmur2({:?})",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn partition_for_key_uses_positive_hash() {
        let cases: [(&[u8], u32, u32); 4] = [
            // -790332482 & 0x7fffffff = 1357151166; % 50 = 16.
            (b"foobar", 50, 16),
            (b"foobar", 1, 0),
            // 479470107 % 7 = 4.
            (b"abc", 7, 4),
            // -973932308 & 0x7fffffff = 1173551340; % 6 = 0.
            (b"21", 6, 0),
        ];
        for (key, partitions, expected) in cases {
            assert_eq!(
                partition_for_key(key, partitions),
                expected,
                "key {key:?} over {partitions} partitions"
            );
        }
    }

    #[test]
    fn null_keys_go_round_robin() {
        let mut round_robin = 0;
        let partitions: Vec<u32> = (0..7)
            .map(|_| partition_for_record(None, 3, &mut round_robin))
            .collect();
        assert_eq!(partitions, vec![0, 1, 2, 0, 1, 2, 0]);
        assert_eq!(
            partition_for_record(Some(b"foobar"), 50, &mut round_robin),
            16
        );
        assert_eq!(round_robin, 7, "keyed records do not advance round robin");
    }
}
