//! A producer that reports where each record landed: every send carries a slot of a
//! `Deliveries`, filled by librdkafka's delivery report with the record's offset or error.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header as KafkaHeader, Message as _, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};

use super::{REQUEST_TIMEOUT, kafka_error};
use crate::log::Record;
use crate::{ExecError, Result};

/// Each send's outcome by index: its offset or the error, `None` until reported.
type Outcomes = Arc<Mutex<Vec<Option<std::result::Result<u64, String>>>>>;

/// The outcomes of a set of sends, by index.
#[derive(Debug, Clone)]
pub(crate) struct Deliveries {
    outcomes: Outcomes,
}

/// Where one send's outcome goes.
#[derive(Debug)]
pub(crate) struct DeliverySlot {
    outcomes: Outcomes,
    index: usize,
}

impl Deliveries {
    pub(crate) fn new(count: usize) -> Self {
        Deliveries {
            outcomes: Arc::new(Mutex::new(vec![None; count])),
        }
    }

    pub(crate) fn slot(&self, index: usize) -> Box<DeliverySlot> {
        Box::new(DeliverySlot {
            outcomes: Arc::clone(&self.outcomes),
            index,
        })
    }

    /// Every record's offset, once all were delivered (after a flush); the first error
    /// otherwise.
    pub(crate) fn offsets(&self) -> Result<Vec<u64>> {
        let outcomes = self.outcomes.lock().unwrap_or_else(PoisonError::into_inner);
        outcomes
            .iter()
            .map(|outcome| match outcome {
                Some(Ok(offset)) => Ok(*offset),
                Some(Err(error)) => Err(ExecError::Kafka(format!("produce failed: {error}"))),
                None => Err(ExecError::Kafka(
                    "a record was not delivered before the flush ended".into(),
                )),
            })
            .collect()
    }
}

/// Fills delivery slots.
pub(crate) struct DeliveryContext;

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Box<DeliverySlot>;

    fn delivery(&self, result: &DeliveryResult<'_>, slot: Self::DeliveryOpaque) {
        let outcome = match result {
            Ok(message) => Ok(message.offset().max(0) as u64),
            Err((error, _)) => Err(error.to_string()),
        };
        let mut outcomes = slot.outcomes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = outcomes.get_mut(slot.index) {
            *entry = Some(outcome);
        }
    }
}

/// A librdkafka producer whose sends report their offsets.
pub(crate) struct DeliveringProducer {
    pub(crate) inner: BaseProducer<DeliveryContext>,
}

impl DeliveringProducer {
    pub(crate) fn new(config: &mut ClientConfig) -> Result<Self> {
        let inner = config
            .create_with_context(DeliveryContext)
            .map_err(kafka_error)?;
        Ok(DeliveringProducer { inner })
    }

    /// Queues `record` for `partition` of `topic`, waiting while the local queue is full.
    pub(crate) fn send(
        &self,
        topic: &str,
        partition: u32,
        record: &Record,
        slot: Box<DeliverySlot>,
    ) -> Result<()> {
        let mut queued = BaseRecord::with_opaque_to(topic, slot)
            .partition(partition as i32)
            .timestamp(record.timestamp);
        if let Some(key) = &record.key {
            queued = queued.key(key.as_slice());
        }
        if let Some(value) = &record.value {
            queued = queued.payload(value.as_slice());
        }
        if !record.headers.is_empty() {
            let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
            for header in &record.headers {
                headers = headers.insert(KafkaHeader {
                    key: &header.key,
                    value: header.value.as_deref(),
                });
            }
            queued = queued.headers(headers);
        }
        loop {
            match self.inner.send(queued) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    queued = back;
                    self.inner.poll(Duration::from_millis(10));
                }
                Err((error, _)) => return Err(kafka_error(error)),
            }
        }
    }

    /// Waits until every queued record is delivered (or failed).
    pub(crate) fn flush(&self) -> Result<()> {
        self.inner.flush(REQUEST_TIMEOUT).map_err(kafka_error)
    }
}
