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
    let source = &plan.root.source().name;
    let catalog = engine.catalog();
    let materialized = is_pull
        && plan.root.source().changelog
        && catalog.queries().any(|query| &query.sink == source);
    let handle = if materialized {
        executor::query::start_table_scan(
            plan,
            &executor::table_state_id(source),
            engine.topic_log(),
            &engine.metrics,
            sender,
            engine.state_store(),
        )?
    } else {
        executor::start_transient(
            plan,
            engine.topic_log(),
            &engine.metrics,
            start,
            is_pull,
            sender,
            engine.state_store(),
        )?
    };
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
