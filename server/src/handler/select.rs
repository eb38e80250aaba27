//! Push and pull queries (`SELECT`): start a transient query whose rows stream back.

use executor::query::StartPosition;
use planner::DataflowPlan;
use planner::catalog::ColumnDefinition;

use crate::Result;
use crate::engine::{Engine, RowStream, Session, StatementOutput};

pub fn run(
    engine: &Engine,
    plan: &DataflowPlan,
    columns: Vec<ColumnDefinition>,
    is_pull: bool,
    session: &Session,
) -> Result<StatementOutput> {
    let start = if is_pull {
        StartPosition::Earliest
    } else {
        Engine::start_position(&session.properties, StartPosition::Latest)
    };
    let (sender, receiver) = Engine::stream_channel();
    let handle = executor::start_transient(
        plan,
        engine.topic_log(),
        &engine.metrics,
        start,
        is_pull,
        sender,
    )?;
    Ok(StatementOutput::Rows(RowStream {
        columns: columns
            .into_iter()
            .map(|column| {
                (
                    column.name,
                    planner::types::sql_type_name(&column.data_type),
                )
            })
            .collect(),
        receiver,
        handle,
    }))
}
