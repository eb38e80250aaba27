//! The engine a case runs on. Every case gets a fresh, empty engine from an `EngineFactory`,
//! so that the same corpus can run against another backend; `EmbeddedEngineFactory` opens
//! one on the embedded log in a temporary directory.

use std::any::Any;
use std::sync::Arc;

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
