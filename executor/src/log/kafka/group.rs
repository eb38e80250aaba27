//! Consumer-group membership: how servers of one service split a persistent query's
//! partitions, as Kafka Streams' instances do.
//!
//! Each query has one group consumer per server (`KafkaLog::group_consumer`), named as
//! ksqlDB names the query's group. Committers take the group metadata of their
//! transactions from it (so a member that lost its partitions is fenced by the group's
//! generation) and commit `at_least_once` offsets through it. `KafkaLog::join` subscribes
//! it to the query's input topics: the group's coordinator hands each member a range of
//! every topic's partitions (the range assignor gives co-partitioned topics the same
//! numbers), and the member's `RebalanceListener` stops the query's tasks when partitions
//! are revoked (their epochs committed first) and starts tasks over the new assignment.
//! The member never reads records itself: its assigned partitions stay paused.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer as _, ConsumerContext, Rebalance};

use super::{KafkaLog, kafka_error};
use crate::Result;

/// Told by a group member when its partitions change.
pub trait RebalanceListener: Send + Sync {
    /// Partitions are being taken away: stop processing them and commit what was
    /// processed before returning.
    fn revoked(&self);
    /// The partitions `(topic, partition)` the member now owns.
    fn assigned(&self, partitions: Vec<(String, u32)>);
}

/// A query's membership in its consumer group, driven by `poll`.
pub trait GroupMember: Send {
    /// Keeps the membership alive and runs the listener's callbacks (on this thread).
    fn poll(&mut self, timeout: Duration);
    /// Leaves the group (the listener is told its partitions are revoked first).
    fn leave(self: Box<Self>);
}

/// Joins consumer groups.
pub trait GroupMembership: Send + Sync {
    /// Joins persistent query `query`'s group subscribed to `topics`.
    fn join(
        &self,
        query: &str,
        topics: &[String],
        listener: Arc<dyn RebalanceListener>,
    ) -> Result<Box<dyn GroupMember>>;
}

/// The context of group consumers: forwards rebalances to the listener, if any.
#[derive(Default)]
pub struct GroupContext {
    listener: Mutex<Option<Arc<dyn RebalanceListener>>>,
    /// Prepended to topic names on the cluster.
    prefix: String,
}

impl ClientContext for GroupContext {}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(_) = rebalance
            && let Some(listener) = self.listener()
        {
            listener.revoked();
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Assign(partitions) = rebalance else {
            return;
        };
        // The member only holds the partitions; the query's tasks read them.
        if let Err(error) = consumer.pause(partitions) {
            tracing::warn!("cannot pause a group member's partitions: {error}");
        }
        let Some(listener) = self.listener() else {
            return;
        };
        let assigned = partitions
            .elements()
            .iter()
            .filter_map(|element| {
                let topic = element.topic().strip_prefix(&self.prefix)?;
                Some((topic.to_string(), element.partition() as u32))
            })
            .collect();
        listener.assigned(assigned);
    }
}

impl GroupContext {
    fn listener(&self) -> Option<Arc<dyn RebalanceListener>> {
        self.listener
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A Kafka group consumer.
pub type GroupConsumer = BaseConsumer<GroupContext>;

impl KafkaLog {
    /// The group consumer of persistent query `query` on this server (created on first
    /// use, not subscribed until `join`).
    pub(crate) fn group_consumer(&self, query: &str) -> Result<Arc<GroupConsumer>> {
        let mut groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(consumer) = groups.get(query) {
            return Ok(Arc::clone(consumer));
        }
        let mut config = rdkafka::ClientConfig::new();
        // A lost server's partitions move within seconds, not the default 45 s; the range
        // assignor keeps co-partitioned topics together. The user's settings win.
        config
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "1000")
            .set("partition.assignment.strategy", "range");
        for (key, value) in self.config.consumer_config().config_map() {
            config.set(key, value);
        }
        config
            .set("group.id", self.config.group(query))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("isolation.level", "read_committed");
        let context = GroupContext {
            listener: Mutex::new(None),
            prefix: self.config.topic_prefix.clone(),
        };
        let consumer: GroupConsumer = config.create_with_context(context).map_err(kafka_error)?;
        let consumer = Arc::new(consumer);
        groups.insert(query.to_string(), Arc::clone(&consumer));
        Ok(consumer)
    }
}

/// A subscribed group consumer.
struct Member {
    consumer: Arc<GroupConsumer>,
    log: Arc<KafkaLog>,
    query: String,
}

impl GroupMember for Member {
    fn poll(&mut self, timeout: Duration) {
        // Records never arrive (the partitions are paused); errors are the client's
        // reconnects, which it logs itself.
        if let Some(Err(error)) = self.consumer.poll(timeout) {
            tracing::debug!("group member of {}: {error}", self.query);
        }
    }

    fn leave(self: Box<Self>) {
        if let Some(listener) = self.consumer.context().listener() {
            listener.revoked();
        }
        *self
            .consumer
            .context()
            .listener
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        self.consumer.unsubscribe();
        // The next `join` of the query (a restart) creates a fresh consumer.
        self.log
            .groups
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.query);
    }
}

impl GroupMembership for Arc<KafkaLog> {
    fn join(
        &self,
        query: &str,
        topics: &[String],
        listener: Arc<dyn RebalanceListener>,
    ) -> Result<Box<dyn GroupMember>> {
        let consumer = self.group_consumer(query)?;
        *consumer
            .context()
            .listener
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(listener);
        let topics: Vec<String> = topics
            .iter()
            .map(|topic| self.config.topic(topic))
            .collect();
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&names).map_err(kafka_error)?;
        Ok(Box::new(Member {
            consumer,
            log: Arc::clone(self),
            query: query.to_string(),
        }))
    }
}
