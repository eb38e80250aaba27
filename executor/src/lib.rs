//! Executor: runs the `planner::DataflowPlan` of persistent and push queries.
//!
//! A plan compiles to an `graph::OperatorGraph` of operators (`operator`), run by a
//! `task::Task` per partition group over the backend's topic log (`log`; embedded, Kafka
//! later); each epoch is committed by the backend's `commit::Committer`. Also owns the
//! record formats and the RocksDB state store. The server (`server::Engine`) drives it.

pub mod aggregate;
pub mod backend;
pub mod commit;
mod error;
pub mod format;
pub mod graph;
mod insert;
pub mod log;
pub mod metrics;
pub mod operator;
pub mod processing_log;
pub mod pull;
pub mod query;
pub mod schema_registry;
pub mod state;
pub mod store;
pub mod table_provider;
pub mod task;

pub use backend::{Backend, BackendKind};
pub use commit::{Committer, Epoch};
pub use error::{ExecError, Result, error_chain};
pub use insert::insert_values;
pub use log::{ConsumedRecord, EmbeddedLog, Header, Record, TopicDescription, TopicLog};
pub use metrics::Metrics;
pub use operator::sink::table_state_id;
pub use query::{QueryHandle, QueryState, StartPosition, start_persistent, start_transient};
pub use state::{StateStorage, StateStore};
pub use store::Store;
