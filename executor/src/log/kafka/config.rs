//! The Kafka backend's configuration, read from the server's properties as ksqlDB reads
//! them: `bootstrap.servers` (or `ksql.streams.bootstrap.servers`) selects Kafka, client
//! settings pass through to librdkafka, `ksql.service.id` names consumer groups and
//! internal topics, `processing.guarantee` chooses transactions or not.

use std::collections::BTreeMap;

use rdkafka::ClientConfig;

use crate::{ExecError, Result};

/// The property naming a prefix for every topic on the cluster.
pub const TOPIC_PREFIX_PROPERTY: &str = "eddy.kafka.topic.prefix";

/// ksqlDB's default `ksql.service.id`.
pub const DEFAULT_SERVICE_ID: &str = "default_";

/// How persistent queries commit on Kafka (`processing.guarantee`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarantee {
    /// Each epoch's output, changelog records and consumer offsets in one transaction.
    ExactlyOnce,
    /// Output and changelog records flushed, then offsets committed: a crash in between
    /// repeats the epoch's output.
    AtLeastOnce,
}

/// Which librdkafka client a setting is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    All,
    Producer,
    Consumer,
}

/// The Kafka backend's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    /// librdkafka settings of every client (producers, consumers, admin).
    pub common: BTreeMap<String, String>,
    /// Settings for producers only (`ksql.streams.producer.*`, `producer.*`).
    pub producer: BTreeMap<String, String>,
    /// Settings for consumers only (`ksql.streams.consumer.*`, `consumer.*`).
    pub consumer: BTreeMap<String, String>,
    /// `ksql.service.id`.
    pub service_id: String,
    pub guarantee: Guarantee,
    /// Prepended to every topic name on the cluster (`eddy.kafka.topic.prefix`, empty by
    /// default): engines sharing a cluster keep apart, as the conformance runner's cases do.
    pub topic_prefix: String,
}

/// Prefixes of ksqlDB's properties that carry client settings, with whom they are for;
/// longest first, so `ksql.streams.producer.` wins over `ksql.streams.`.
const PREFIXES: [(&str, Role); 5] = [
    ("ksql.streams.producer.", Role::Producer),
    ("ksql.streams.consumer.", Role::Consumer),
    ("ksql.streams.", Role::All),
    ("producer.", Role::Producer),
    ("consumer.", Role::Consumer),
];

/// Settings that Kafka Streams understands but librdkafka has no counterpart for, or that
/// the backend sets itself: dropped with a debug log instead of refused.
const STREAMS_ONLY: [&str; 12] = [
    "application.id",
    "processing.guarantee",
    "state.dir",
    "num.stream.threads",
    "cache.max.bytes.buffering",
    "commit.interval.ms",
    "replication.factor",
    "auto.offset.reset",
    "key.serializer",
    "value.serializer",
    "key.deserializer",
    "value.deserializer",
];

impl KafkaConfig {
    /// The Kafka configuration in `properties`, or `None` when they name no bootstrap
    /// servers (the embedded log).
    pub fn from_properties(properties: &BTreeMap<String, String>) -> Result<Option<Self>> {
        let bootstrap = properties
            .get("bootstrap.servers")
            .or_else(|| properties.get("ksql.streams.bootstrap.servers"));
        let Some(bootstrap) = bootstrap.filter(|servers| !servers.trim().is_empty()) else {
            return Ok(None);
        };
        let guarantee = match properties
            .get("processing.guarantee")
            .or_else(|| properties.get("ksql.streams.processing.guarantee"))
            .map(|value| value.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("exactly_once_v2" | "exactly_once" | "exactly_once_beta") => {
                Guarantee::ExactlyOnce
            }
            Some("at_least_once") => Guarantee::AtLeastOnce,
            Some(other) => {
                return Err(ExecError::User(format!(
                    "invalid processing.guarantee \"{other}\": expected exactly_once_v2 or \
                     at_least_once"
                )));
            }
        };
        let mut config = KafkaConfig {
            common: BTreeMap::new(),
            producer: BTreeMap::new(),
            consumer: BTreeMap::new(),
            service_id: properties
                .get("ksql.service.id")
                .cloned()
                .unwrap_or_else(|| DEFAULT_SERVICE_ID.to_string()),
            guarantee,
            topic_prefix: properties
                .get(TOPIC_PREFIX_PROPERTY)
                .cloned()
                .unwrap_or_default(),
        };
        for (key, value) in properties {
            let (role, name) = match PREFIXES
                .iter()
                .find_map(|(prefix, role)| Some((*role, key.strip_prefix(prefix)?)))
            {
                Some(found) => found,
                None if is_client_setting(key) => (Role::All, key.as_str()),
                None => continue,
            };
            config.set(role, name, value)?;
        }
        config
            .common
            .insert("bootstrap.servers".into(), bootstrap.trim().to_string());
        Ok(Some(config))
    }

    /// Stores one client setting, translating Java client names librdkafka spells otherwise.
    fn set(&mut self, role: Role, name: &str, value: &str) -> Result<()> {
        if STREAMS_ONLY.contains(&name) || name == "bootstrap.servers" {
            tracing::debug!("Kafka setting {name} is not passed to librdkafka");
            return Ok(());
        }
        let target = match role {
            Role::All => &mut self.common,
            Role::Producer => &mut self.producer,
            Role::Consumer => &mut self.consumer,
        };
        match name {
            // Java's JAAS line for PLAIN and SCRAM carries the credentials librdkafka
            // takes as two settings.
            "sasl.jaas.config" => {
                for field in ["username", "password"] {
                    let value = jaas_field(value, field).ok_or_else(|| {
                        ExecError::User(format!(
                            "sasl.jaas.config has no {field}=\"...\": only PLAIN and SCRAM \
                             login modules are supported"
                        ))
                    })?;
                    target.insert(format!("sasl.{field}"), value);
                }
            }
            "ssl.truststore.location" => {
                target.insert("ssl.ca.location".into(), value.into());
            }
            // PEM trust stores need no type or password in librdkafka.
            "ssl.truststore.type" | "ssl.truststore.password" => {}
            _ => {
                target.insert(name.to_string(), value.to_string());
            }
        }
        Ok(())
    }

    /// A librdkafka configuration for a producer.
    pub fn producer_config(&self) -> ClientConfig {
        self.client_config(&self.producer)
    }

    /// A librdkafka configuration for a consumer.
    pub fn consumer_config(&self) -> ClientConfig {
        self.client_config(&self.consumer)
    }

    /// A librdkafka configuration for an admin client.
    pub fn admin_config(&self) -> ClientConfig {
        self.client_config(&BTreeMap::new())
    }

    fn client_config(&self, role: &BTreeMap<String, String>) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (key, value) in self.common.iter().chain(role) {
            config.set(key, value);
        }
        config
    }

    /// The consumer group of persistent query `query`, as ksqlDB names it.
    pub fn group(&self, query: &str) -> String {
        format!("_confluent-ksql-{}query_{query}", self.service_id)
    }

    /// The name on the cluster of topic `name`.
    pub fn topic(&self, name: &str) -> String {
        format!("{}{name}", self.topic_prefix)
    }

    /// The changelog topic of persistent query `query`'s state.
    pub fn changelog_topic(&self, query: &str) -> String {
        format!("{}-changelog", self.group(query))
    }
}

/// Settings that go to librdkafka without a prefix: security, SASL and TLS, and the
/// client's identity.
fn is_client_setting(key: &str) -> bool {
    key == "security.protocol"
        || key == "client.id"
        || key.starts_with("sasl.")
        || key.starts_with("ssl.")
}

/// `field="value"` (or `field=value`) in a JAAS configuration line.
fn jaas_field(jaas: &str, field: &str) -> Option<String> {
    let start = jaas
        .split_whitespace()
        .find_map(|part| part.strip_prefix(field)?.strip_prefix('='))?;
    let value = start.trim_end_matches(';');
    Some(
        value
            .strip_prefix('"')
            .and_then(|value| value.strip_suffix('"'))
            .unwrap_or(value)
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn properties(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn without_bootstrap_servers_the_embedded_log_stays() {
        let config = KafkaConfig::from_properties(&properties(&[("ksql.service.id", "x")]));
        assert_eq!(config.ok(), Some(None));
    }

    #[test]
    fn ksqldb_prefixes_map_to_librdkafka_settings_by_client() {
        let config = KafkaConfig::from_properties(&properties(&[
            ("ksql.streams.bootstrap.servers", "127.0.0.1:9092"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            (
                "sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required \
                 username=\"alice\" password=\"s3cret\";",
            ),
            ("ksql.streams.producer.linger.ms", "5"),
            ("consumer.fetch.min.bytes", "1"),
            ("ksql.streams.num.stream.threads", "4"),
            ("ksql.service.id", "svc_"),
            ("ksql.streams.processing.guarantee", "at_least_once"),
        ]))
        .expect("valid")
        .expect("Kafka");
        assert_eq!(config.common["bootstrap.servers"], "127.0.0.1:9092");
        assert_eq!(config.common["security.protocol"], "SASL_SSL");
        assert_eq!(config.common["sasl.mechanism"], "PLAIN");
        assert_eq!(config.common["sasl.username"], "alice");
        assert_eq!(config.common["sasl.password"], "s3cret");
        assert!(!config.common.contains_key("sasl.jaas.config"));
        assert!(!config.common.contains_key("num.stream.threads"));
        assert_eq!(config.producer["linger.ms"], "5");
        assert_eq!(config.consumer["fetch.min.bytes"], "1");
        assert_eq!(config.guarantee, Guarantee::AtLeastOnce);
        assert_eq!(
            config.group("CSAS_S_1"),
            "_confluent-ksql-svc_query_CSAS_S_1"
        );
    }

    #[test]
    fn exactly_once_is_the_default_and_unknown_guarantees_are_refused() {
        let config = KafkaConfig::from_properties(&properties(&[("bootstrap.servers", "h:1")]))
            .expect("valid")
            .expect("Kafka");
        assert_eq!(config.guarantee, Guarantee::ExactlyOnce);
        assert_eq!(config.service_id, "default_");
        let refused = KafkaConfig::from_properties(&properties(&[
            ("bootstrap.servers", "h:1"),
            ("processing.guarantee", "sometimes"),
        ]));
        assert!(matches!(refused, Err(ExecError::User(message)) if message.contains("sometimes")));
    }
}
