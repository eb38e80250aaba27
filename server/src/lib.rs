//! Server: the engine facade (`Engine::execute`), the durable command log and the query
//! manager. The REST API (ksqlDB-compatible) will live here too. Next stage: `repl`.

mod command_log;
mod engine;
mod error;
mod handler;

pub use engine::{Engine, LineStream, RowStream, Session, StatementOutput};
pub(crate) use error::user_error;
pub use error::{Result, ServerError};
