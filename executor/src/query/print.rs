//! `PRINT`: the records of a topic as text lines, as they arrive.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;

use super::{BATCH_RECORDS, IDLE_WAIT, QueryHandle, spawn};
use crate::Result;
use crate::log::{ConsumedRecord, TopicLog};

/// Starts a `PRINT` of `topic`: one formatted line per record (every `interval`-th record),
/// ending after `limit` lines.
pub fn start_print(
    topic: &str,
    log: Arc<dyn TopicLog>,
    from_beginning: bool,
    interval: u64,
    limit: Option<u64>,
    output: mpsc::Sender<String>,
) -> Result<QueryHandle> {
    let mut consumer = Arc::clone(&log).consumer()?;
    for (partition, (earliest, next)) in log.offsets(topic)?.into_iter().enumerate() {
        let offset = if from_beginning { earliest } else { next };
        consumer.assign(topic, partition as u32, offset)?;
    }
    let mut seen: u64 = 0;
    let mut printed: u64 = 0;
    spawn("print", vec![consumer.waker()], move |stop| {
        while !stop.load(Ordering::SeqCst) {
            for polled in consumer.poll(BATCH_RECORDS, IDLE_WAIT)? {
                for record in &polled.records {
                    seen += 1;
                    if !(seen - 1).is_multiple_of(interval.max(1)) {
                        continue;
                    }
                    if output.blocking_send(print_line(record)).is_err() {
                        return Ok(());
                    }
                    printed += 1;
                    if limit.is_some_and(|limit| printed >= limit) {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    })
}

/// One `PRINT` line: `rowtime: ..., key: ..., value: ..., partition: N`.
fn print_line(record: &ConsumedRecord) -> String {
    fn text(bytes: &Option<Vec<u8>>) -> String {
        match bytes {
            None => "<null>".into(),
            Some(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) if !text.chars().any(|c| c.is_control()) => text.to_string(),
                _ if bytes.len() == 4 => {
                    i32::from_be_bytes(bytes[..4].try_into().expect("four bytes")).to_string()
                }
                _ if bytes.len() == 8 => {
                    i64::from_be_bytes(bytes[..8].try_into().expect("eight bytes")).to_string()
                }
                _ => bytes.iter().map(|b| format!("{b:02x}")).collect(),
            },
        }
    }
    let rowtime = arrow::temporal_conversions::timestamp_ms_to_datetime(record.record.timestamp)
        .map(|time| time.format("%Y/%m/%d %H:%M:%S%.3f Z").to_string())
        .unwrap_or_else(|| record.record.timestamp.to_string());
    format!(
        "rowtime: {rowtime}, key: {}, value: {}, partition: {}",
        text(&record.record.key),
        text(&record.record.value),
        record.partition
    )
}
