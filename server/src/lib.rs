//! Server: the engine facade (`Engine::execute`), the durable command log and the query
//! manager, and the ksqlDB-compatible REST API (`http`) and the Postgres wire protocol (`pg`). Next stage: `repl`.

pub mod client;
mod command_log;
pub mod credential;
mod engine;
mod error;
mod handler;
pub mod http;
mod pg;
pub mod result;
mod schema_registry;

pub use command_log::command_topic;
pub use engine::{
    Engine, LineStream, OutputColumn, PlannedSelect, RowStream, Session, StatementOutput,
};
pub(crate) use error::user_error;
pub use error::{Result, ServerError};
pub use result::StatementResult;
