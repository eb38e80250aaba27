//! The engine a case runs on. Every case gets a fresh, empty engine from an `EngineFactory`,
//! so that the same corpus can run against another backend; `EmbeddedEngineFactory` opens
//! one on the embedded log in a temporary directory, `KafkaEngineFactory` one whose topics
//! live in a Kafka cluster.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use executor::log::KafkaConfig;
use executor::{BackendKind, TopicLog};
use server::Engine;

use crate::error::{ConformanceError, Result};

/// Creates the engines that cases run on. Called once per case, from the case's thread.
pub trait EngineFactory: Send + Sync {
    /// A new engine with no topics, sources, queries or schemas.
    fn create_engine(&self) -> Result<TestEngine>;
}

/// The engine of one case and what it needs while it runs (such as its data directory).
pub struct TestEngine {
    // Fields drop in order: the engine stops its queries and closes its store before its
    // resources (the directory) go.
    engine: Arc<Engine>,
    _resources: Box<dyn Any + Send>,
}

impl TestEngine {
    /// The engine, and what must stay alive until the engine is dropped.
    pub fn new(engine: Arc<Engine>, resources: impl Any + Send) -> Self {
        Self {
            engine,
            _resources: Box::new(resources),
        }
    }

    /// The engine under test.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }
}

/// Opens each engine on the embedded log in a new temporary directory, removed when the
/// case ends.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmbeddedEngineFactory;

impl EngineFactory for EmbeddedEngineFactory {
    fn create_engine(&self) -> Result<TestEngine> {
        let directory = tempfile::Builder::new()
            .prefix("eddy-conformance-")
            .tempdir()
            .map_err(ConformanceError::TempDir)?;
        let engine = Engine::open(directory.path()).map_err(ConformanceError::OpenEngine)?;
        Ok(TestEngine::new(engine, directory))
    }
}

/// Opens each engine on a Kafka cluster, its state in a new temporary directory. Every
/// engine gets its own topic prefix and `ksql.service.id`, so cases running at once on one
/// cluster never see each other's topics, groups or transactions; a case's topics are
/// deleted when it ends.
#[derive(Debug)]
pub struct KafkaEngineFactory {
    config: KafkaConfig,
    /// Tells this run's topics from an earlier run's on the same cluster.
    run: String,
    next: AtomicU64,
}

impl KafkaEngineFactory {
    pub fn new(config: KafkaConfig) -> Self {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis());
        Self {
            config,
            run: format!("{}-{started}", std::process::id()),
            next: AtomicU64::new(0),
        }
    }
}

/// Deletes an engine's topics when the case ends.
struct DeleteTopics(Arc<dyn TopicLog>);

impl Drop for DeleteTopics {
    fn drop(&mut self) {
        let topics = match self.0.list_topics() {
            Ok(topics) => topics,
            Err(error) => {
                eprintln!("cannot list a finished case's topics: {error}");
                return;
            }
        };
        for topic in topics {
            if let Err(error) = self.0.delete_topic(&topic.name) {
                eprintln!("cannot delete topic {}: {error}", topic.name);
            }
        }
    }
}

impl EngineFactory for KafkaEngineFactory {
    fn create_engine(&self) -> Result<TestEngine> {
        let directory = tempfile::Builder::new()
            .prefix("eddy-conformance-")
            .tempdir()
            .map_err(ConformanceError::TempDir)?;
        let number = self.next.fetch_add(1, Ordering::SeqCst);
        let mut config = self.config.clone();
        config.topic_prefix = format!("eddy-case-{}-{number}.", self.run);
        config.service_id = format!("case{number}_");
        let engine = Engine::open_with(directory.path(), BackendKind::Kafka(config))
            .map_err(ConformanceError::OpenEngine)?;
        let cleanup = DeleteTopics(engine.topic_log());
        Ok(TestEngine::new(engine, (cleanup, directory)))
    }
}
