//! Executor: runs the `planner::DataflowPlan` of persistent and push queries.
//!
//! Owns the operators, the topic logs (embedded log; Kafka later), the record formats and
//! the RocksDB store. The server (`server::Engine`) drives it.

pub mod aggregate;
mod error;
pub mod format;
mod insert;
pub mod log;
pub mod metrics;
mod operator;
mod pipeline;
pub mod pull;
pub mod query;
pub mod schema_registry;
pub mod state;
pub mod store;
pub mod table_provider;

pub use error::{ExecError, Result};
pub use insert::insert_values;
pub use log::{
    ConsumedRecord, EmbeddedLog, Header, Record, TopicDescription, TopicLog, Transaction,
};
pub use metrics::Metrics;
pub use operator::sink::table_state_id;
pub use pipeline::error_chain;
pub use query::{QueryHandle, QueryState, StartPosition, start_persistent, start_transient};
pub use state::StateStore;
pub use store::Store;
