//! The Kafka backend's topic log: an Apache Kafka cluster reached through librdkafka
//! (rdkafka).
//!
//! Topics are created and deleted through the admin API; `produce` sends through one
//! idempotent producer and waits for every delivery; consumers read with
//! `isolation.level=read_committed`, so that records of an aborted or open transaction are
//! never seen. Consumer groups are named as ksqlDB names them (`KafkaConfig::group`).
//! Calls block: the admin API's futures are driven by `block_on` on the calling thread.

mod config;
mod consumer;
mod group;
mod producer;

use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Headers as _, Message as _};
use rdkafka::{Offset, TopicPartitionList};

pub use self::config::{DEFAULT_SERVICE_ID, Guarantee, KafkaConfig};
pub use self::consumer::KafkaConsumer;
pub(crate) use self::group::GroupConsumer;
pub use self::group::{GroupMember, GroupMembership, RebalanceListener};
pub(crate) use self::producer::{Deliveries, DeliveringProducer};
use crate::log::{
    ConsumedRecord, Consumer, Header, Record, TopicDescription, TopicLog, missing_topic,
};
use crate::{ExecError, Result};

/// How long one request to the cluster may take before it is an error.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Topics on a Kafka cluster.
pub struct KafkaLog {
    config: KafkaConfig,
    admin: AdminClient<DefaultClientContext>,
    /// Metadata, watermarks and committed offsets.
    metadata: BaseConsumer,
    producer: DeliveringProducer,
    /// Each persistent query's group consumer on this server (`group::group_consumer`).
    groups: std::sync::Mutex<std::collections::HashMap<String, Arc<GroupConsumer>>>,
}

impl std::fmt::Debug for KafkaLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaLog")
            .field(
                "bootstrap.servers",
                &self.config.common.get("bootstrap.servers"),
            )
            .finish_non_exhaustive()
    }
}

impl KafkaLog {
    /// Connects to the cluster of `config` and checks that it answers.
    pub fn connect(config: KafkaConfig) -> Result<Self> {
        let admin = config.admin_config().create().map_err(kafka_error)?;
        let metadata: BaseConsumer = config
            .consumer_config()
            .set("enable.auto.commit", "false")
            .create()
            .map_err(kafka_error)?;
        metadata
            .fetch_metadata(None, REQUEST_TIMEOUT)
            .map_err(|error| {
                ExecError::Kafka(format!(
                    "cannot reach the Kafka cluster at {}: {error}",
                    config.common["bootstrap.servers"]
                ))
            })?;
        let producer = DeliveringProducer::new(
            config
                .producer_config()
                .set("enable.idempotence", "true")
                .set("acks", "all"),
        )?;
        Ok(KafkaLog {
            config,
            admin,
            metadata,
            producer,
            groups: std::sync::Mutex::default(),
        })
    }

    pub fn config(&self) -> &KafkaConfig {
        &self.config
    }

    /// The number of partitions of `topic`, or `None` when it does not exist.
    fn partitions(&self, topic: &str) -> Result<Option<u32>> {
        let metadata = retrying(|| self.metadata.fetch_metadata(Some(topic), REQUEST_TIMEOUT))?;
        let Some(found) = metadata.topics().iter().find(|found| found.name() == topic) else {
            return Ok(None);
        };
        match found.error() {
            None => Ok(Some(found.partitions().len() as u32)),
            Some(code)
                if RDKafkaErrorCode::from(code) == RDKafkaErrorCode::UnknownTopicOrPartition =>
            {
                Ok(None)
            }
            Some(code) => Err(ExecError::Kafka(format!(
                "cannot describe topic \"{topic}\": {}",
                RDKafkaErrorCode::from(code)
            ))),
        }
    }

    /// Creates topic `name` as a compacted topic (a changelog) unless it exists.
    pub(crate) fn create_compacted_topic(&self, name: &str, partitions: u32) -> Result<()> {
        let name = self.config.topic(name);
        if self.partitions(&name)?.is_some() {
            return Ok(());
        }
        self.create(&name, partitions, 1, &[("cleanup.policy", "compact")])
    }

    fn create(
        &self,
        name: &str,
        partitions: u32,
        replicas: u16,
        settings: &[(&str, &str)],
    ) -> Result<()> {
        let mut topic = NewTopic::new(
            name,
            partitions as i32,
            TopicReplication::Fixed(i32::from(replicas)),
        );
        for (key, value) in settings {
            topic = topic.set(key, value);
        }
        let options = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
        let results =
            block_on(self.admin.create_topics([&topic], &options)).map_err(kafka_error)?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => {
                    return Err(ExecError::Kafka(format!(
                        "cannot create topic \"{topic}\": {code}"
                    )));
                }
            }
        }
        // Metadata reaches every broker a little after the controller answers.
        self.wait_for(name, |partitions| partitions.is_some())
    }

    /// Waits until the topic's partition count satisfies `ready`.
    fn wait_for(&self, topic: &str, ready: impl Fn(Option<u32>) -> bool) -> Result<()> {
        let deadline = std::time::Instant::now() + REQUEST_TIMEOUT;
        while !ready(self.partitions(topic)?) {
            if std::time::Instant::now() > deadline {
                return Err(ExecError::Kafka(format!(
                    "topic \"{topic}\" did not reach the expected state in time"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Per partition of topic `name`: the next offset committed by persistent query
    /// `query`'s consumer group, asked through the query's group consumer (a librdkafka
    /// client per call would start its threads and connections each time).
    fn group_offsets(&self, query: &str, name: &str) -> Result<Vec<Option<u64>>> {
        let topic = &self.config.topic(name);
        let Some(partitions) = self.partitions(topic)? else {
            return Err(missing_topic(name));
        };
        let consumer = self.group_consumer(query)?;
        let mut list = TopicPartitionList::new();
        for partition in 0..partitions {
            list.add_partition(topic, partition as i32);
        }
        let committed = retrying(|| consumer.committed_offsets(list.clone(), REQUEST_TIMEOUT))?;
        let mut offsets = vec![None; partitions as usize];
        for element in committed.elements_for_topic(topic) {
            if let (Offset::Offset(offset), Some(slot)) = (
                element.offset(),
                offsets.get_mut(element.partition() as usize),
            ) {
                *slot = u64::try_from(offset).ok();
            }
        }
        Ok(offsets)
    }
}

impl TopicLog for KafkaLog {
    fn create_topic(&self, name: &str, partitions: u32, replicas: u16) -> Result<()> {
        if name.is_empty() {
            return Err(ExecError::User("topic name must not be empty".into()));
        }
        if partitions == 0 {
            return Err(ExecError::User(format!(
                "topic \"{name}\" must have at least 1 partition"
            )));
        }
        let topic = self.config.topic(name);
        match self.partitions(&topic)? {
            Some(existing) if existing == partitions => Ok(()),
            Some(existing) => Err(ExecError::User(format!(
                "topic \"{name}\" already exists with {existing} partitions, not {partitions}"
            ))),
            None => self.create(&topic, partitions, replicas.max(1), &[]),
        }
    }

    fn delete_topic(&self, name: &str) -> Result<()> {
        let options = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
        let topic = self.config.topic(name);
        let results =
            block_on(self.admin.delete_topics(&[&topic], &options)).map_err(kafka_error)?;
        for result in results {
            match result {
                Ok(_) => {}
                Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => {
                    return Err(missing_topic(name));
                }
                Err((topic, code)) => {
                    return Err(ExecError::Kafka(format!(
                        "cannot delete topic \"{topic}\": {code}"
                    )));
                }
            }
        }
        self.wait_for(&topic, |partitions| partitions.is_none())
    }

    fn describe_topic(&self, name: &str) -> Result<Option<TopicDescription>> {
        let topic = self.config.topic(name);
        let metadata = retrying(|| self.metadata.fetch_metadata(Some(&topic), REQUEST_TIMEOUT))?;
        Ok(metadata
            .topics()
            .iter()
            .find(|found| found.name() == topic && found.error().is_none())
            .and_then(|found| self.describe(found)))
    }

    fn list_topics(&self) -> Result<Vec<TopicDescription>> {
        let metadata = retrying(|| self.metadata.fetch_metadata(None, REQUEST_TIMEOUT))?;
        let mut topics: Vec<TopicDescription> = metadata
            .topics()
            .iter()
            // Kafka's own topics (`__consumer_offsets`, `__transaction_state`).
            .filter(|topic| topic.error().is_none() && !topic.name().starts_with("__"))
            .filter_map(|topic| self.describe(topic))
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(topics)
    }

    fn produce(&self, name: &str, records: Vec<(u32, Record)>) -> Result<Vec<u64>> {
        let topic = &self.config.topic(name);
        if self.partitions(topic)?.is_none() {
            return Err(missing_topic(name));
        }
        let deliveries = Deliveries::new(records.len());
        for (index, (partition, record)) in records.iter().enumerate() {
            self.producer
                .send(topic, *partition, record, deliveries.slot(index))?;
        }
        self.producer.flush()?;
        deliveries.offsets()
    }

    fn read(
        &self,
        topic: &str,
        partition: u32,
        from: u64,
        max_records: usize,
    ) -> Result<Vec<ConsumedRecord>> {
        let (_, end) = self.watermarks(&self.config.topic(topic), partition)?;
        if from >= end || max_records == 0 {
            return Ok(Vec::new());
        }
        let mut consumer = KafkaConsumer::new(&self.config)?;
        consumer.assign(topic, partition, from)?;
        let mut records = Vec::new();
        let deadline = std::time::Instant::now() + REQUEST_TIMEOUT;
        // Transaction markers and aborted records take offsets too: the read ends when the
        // consumer's position passes the end it saw, not at a record count.
        while records.len() < max_records && consumer.position(0) < end {
            if std::time::Instant::now() > deadline {
                return Err(ExecError::Kafka(format!(
                    "reading {topic}/{partition} from offset {from} timed out"
                )));
            }
            for polled in consumer.poll(max_records - records.len(), Duration::from_millis(100))? {
                records.extend(polled.records);
            }
        }
        Ok(records)
    }

    fn offsets(&self, name: &str) -> Result<Vec<(u64, u64)>> {
        let topic = &self.config.topic(name);
        let Some(partitions) = self.partitions(topic)? else {
            return Err(missing_topic(name));
        };
        (0..partitions)
            .map(|partition| self.watermarks(topic, partition))
            .collect()
    }

    fn committed_offsets(&self, group: &str, topic: &str) -> Result<Vec<Option<u64>>> {
        self.group_offsets(group, topic)
    }

    fn delete_group(&self, query: &str) -> Result<()> {
        // The query's changelog goes with its group.
        let changelog = self.config.changelog_topic(query);
        if self.describe_topic(&changelog)?.is_some() {
            self.delete_topic(&changelog)?;
        }
        let group = self.config.group(query);
        let options = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
        let results =
            block_on(self.admin.delete_groups(&[&group], &options)).map_err(kafka_error)?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::GroupIdNotFound)) => {}
                Err((group, code)) => {
                    return Err(ExecError::Kafka(format!(
                        "cannot delete consumer group \"{group}\": {code}"
                    )));
                }
            }
        }
        Ok(())
    }

    fn consumer(self: Arc<Self>) -> Result<Box<dyn Consumer>> {
        Ok(Box::new(KafkaConsumer::new(&self.config)?))
    }
}

impl KafkaLog {
    /// `(low, high)` watermarks of one partition.
    fn watermarks(&self, topic: &str, partition: u32) -> Result<(u64, u64)> {
        let (low, high) = retrying(|| {
            self.metadata
                .fetch_watermarks(topic, partition as i32, REQUEST_TIMEOUT)
        })?;
        Ok((low.max(0) as u64, high.max(0) as u64))
    }
}

impl KafkaLog {
    /// A topic of this engine (under its prefix) as the engine names it.
    fn describe(&self, topic: &rdkafka::metadata::MetadataTopic) -> Option<TopicDescription> {
        Some(TopicDescription {
            name: topic
                .name()
                .strip_prefix(&self.config.topic_prefix)?
                .to_string(),
            partitions: topic.partitions().len() as u32,
            replicas: topic
                .partitions()
                .first()
                .map_or(1, |partition| partition.replicas().len() as u16),
        })
    }
}

/// A record read from Kafka, with its position.
pub(crate) fn consumed(message: &BorrowedMessage<'_>) -> ConsumedRecord {
    let headers = message.headers().map_or_else(Vec::new, |headers| {
        headers
            .iter()
            .map(|header| Header {
                key: header.key.to_string(),
                value: header.value.map(<[u8]>::to_vec),
            })
            .collect()
    });
    ConsumedRecord {
        partition: message.partition() as u32,
        offset: message.offset() as u64,
        record: Record {
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            timestamp: message.timestamp().to_millis().unwrap_or(0),
            headers,
        },
    }
}

/// Runs a metadata, watermark or offset request again while it fails in a way that goes
/// away (a new topic's leader not elected yet, a coordinator loading, a broker restarting),
/// for up to `REQUEST_TIMEOUT`.
pub(crate) fn retrying<T>(mut request: impl FnMut() -> KafkaResult<T>) -> Result<T> {
    let deadline = std::time::Instant::now() + REQUEST_TIMEOUT;
    loop {
        match request() {
            Err(error)
                if std::time::Instant::now() < deadline
                    && error.rdkafka_error_code().is_some_and(transient) =>
            {
                tracing::debug!("a Kafka request failed, retrying: {error}");
                std::thread::sleep(Duration::from_millis(100));
            }
            other => return other.map_err(kafka_error),
        }
    }
}

fn transient(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as Code;
    matches!(
        code,
        Code::NotCoordinator
            | Code::CoordinatorLoadInProgress
            | Code::CoordinatorNotAvailable
            | Code::LeaderNotAvailable
            | Code::NotLeaderForPartition
            | Code::RequestTimedOut
            | Code::OperationTimedOut
            | Code::AllBrokersDown
            | Code::BrokerTransportFailure
            | Code::NetworkException
            | Code::UnknownTopicOrPartition
    )
}

pub(crate) fn kafka_error(error: KafkaError) -> ExecError {
    ExecError::Kafka(error.to_string())
}

/// Runs `future` to completion on this thread (the admin API's futures are completed by
/// librdkafka's background thread; nothing else needs an executor).
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}
