//! The engine facade: executes statements against the catalog, the topic log and the
//! running queries, and logs catalog changes to the command log.
//!
//! One engine per data directory. Statements are executed one at a time under the engine
//! lock; push queries run on their own threads and stream rows without holding it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use arrow::record_batch::RecordBatch;
use executor::query::StartPosition;
use executor::{Backend, BackendKind, Metrics, QueryHandle, StateStore, Store, TopicLog};
use parser::ast::{Statement, StatementKind};
use planner::pull::PullPlan;
use planner::{Catalog, Properties, StatementPlan};
use tokio::sync::mpsc;

use crate::command_log::{Command, CommandLog};
use crate::handler;
use crate::result::StatementResult;
use crate::{Result, ServerError};

/// Rows or lines buffered between a query thread and its consumer.
pub(crate) const STREAM_BUFFER: usize = 64;

/// Per-client state: `SET` properties and `DEFINE` variables.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub properties: Properties,
    pub variables: BTreeMap<String, String>,
}

/// What a statement returns.
pub enum StatementOutput {
    /// A statement that ran to completion: what it did or found.
    Completed(StatementResult),
    /// A push or pull query's rows as they arrive; dropping it stops the query.
    Rows(RowStream),
    /// PRINT output lines as they arrive; dropping it stops the printing.
    Lines(LineStream),
}

/// One output column of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputColumn {
    pub name: String,
    /// The ksqlDB type name (`BIGINT`, `ARRAY<STRING>`, ...).
    pub type_name: String,
    /// The column's type (its rows as protobuf follow from it).
    pub data_type: parser::ast::DataType,
    /// A key column; ksqlDB's REST header marks these `KEY` for pull queries.
    pub key: bool,
    /// A header column a pull query's `SELECT *` answers: `HEADERS` or `HEADER('key')`,
    /// as the REST header marks it.
    pub header: Option<String>,
}

/// Rows of a running transient query.
pub struct RowStream {
    pub columns: Vec<OutputColumn>,
    pub receiver: mpsc::Receiver<RecordBatch>,
    /// Keeps the query running; dropped with the stream.
    pub handle: QueryHandle,
    /// A pull query (no `EMIT CHANGES`): it ends by itself once it has read what is there.
    pub is_pull: bool,
    /// What ksqlDB sends after the last row when the query ends by itself without error
    /// (`Limit Reached`, `Query Completed`); `None` when it ends silently.
    pub final_message: Option<&'static str>,
    /// A push query ksqlDB would run as a scalable push query (its id says so).
    pub scalable_push: bool,
}

/// A query planned by `Engine::plan_select`, ready for `Engine::run_select`.
pub enum PlannedSelect {
    /// A push query.
    Push {
        plan: planner::DataflowPlan,
        columns: Vec<planner::catalog::ColumnDefinition>,
        /// ksqlDB would run it as a scalable push query.
        scalable_push: bool,
    },
    /// A pull query, answered as the planner picked.
    Pull(PullPlan),
}

impl PlannedSelect {
    /// A pull query over a table that reads only the keys it looks up: it answers in
    /// microseconds (the planner says so).
    pub fn is_key_lookup(&self) -> bool {
        matches!(self, PlannedSelect::Pull(pull) if pull.is_key_lookup())
    }

    /// The columns the query will answer, known before it runs (a Postgres client describes
    /// a statement before executing it).
    pub fn columns(&self) -> Vec<OutputColumn> {
        handler::select::planned_columns(self)
    }
}

/// Lines of a running PRINT.
pub struct LineStream {
    pub receiver: mpsc::Receiver<String>,
    pub handle: QueryHandle,
}

/// A persistent query known to the engine.
pub(crate) struct RunningQuery {
    pub handle: QueryHandle,
    /// Its plan keeps state (a join, an aggregation): `DESCRIBE EXTENDED` shows its size.
    pub keeps_state: bool,
}

/// Everything behind the engine lock.
pub(crate) struct EngineState {
    /// Shared with the queries being planned from a snapshot of it (`Arc::make_mut` to
    /// change it).
    pub catalog: Arc<Catalog>,
    pub queries: BTreeMap<String, RunningQuery>,
    pub command_log: CommandLog,
    /// While the command log is replayed at start: the persistent queries to start once it
    /// has been (a query terminated later in the log is never started, so it cannot
    /// reprocess its input into its sink before its TERMINATE is replayed).
    pub replaying: Option<Vec<DeferredQuery>>,
}

/// A persistent query whose start waits for the end of the replay.
pub(crate) struct DeferredQuery {
    pub id: String,
    pub plan: planner::DataflowPlan,
    pub start: executor::query::StartPosition,
}

/// One input topic of a running persistent query (see [`Engine::query_lags`]).
struct QueryInput {
    query: String,
    topic: String,
    /// (earliest, end) offsets per partition.
    ends: Vec<(u64, u64)>,
    /// The query's committed offset per partition.
    committed: Vec<Option<u64>>,
}

/// The engine over one data directory.
pub struct Engine {
    /// The topic log and epoch committer the engine runs on.
    pub(crate) backend: Backend,
    pub(crate) log: Arc<dyn TopicLog>,
    pub(crate) metrics: Metrics,
    state_store: StateStore,
    /// Where the schema registry's registrations are persisted.
    pub(crate) schemas: executor::schema_registry::SchemaStore,
    /// The external schema registry the catalog's registry caches, once configured.
    pub(crate) remote_registry: crate::schema_registry::RemoteSlot,
    state: Mutex<EngineState>,
}

/// How often a server looks for commands other servers appended to the command topic.
const COMMAND_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);

/// Applies other servers' commands until the engine is dropped.
fn spawn_command_runner(engine: &Arc<Engine>) {
    let engine = Arc::downgrade(engine);
    let spawned = std::thread::Builder::new()
        .name("command-runner".into())
        .spawn(move || {
            loop {
                std::thread::sleep(COMMAND_POLL_INTERVAL);
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                if let Err(error) = engine.run_new_commands() {
                    tracing::warn!("reading the command topic failed: {error}");
                }
            }
        });
    if let Err(error) = spawned {
        tracing::error!("cannot start the command runner: {error}");
    }
}

impl Engine {
    /// Opens (or creates) the data directory on the embedded backend and replays the
    /// command log, restarting persistent queries from their committed offsets.
    pub fn open(data_dir: &Path) -> Result<Arc<Engine>> {
        Engine::open_with(data_dir, BackendKind::default())
    }

    /// `open` on the backend of `backend` (the `eddy.backend` configuration).
    pub fn open_with(data_dir: &Path, backend: BackendKind) -> Result<Arc<Engine>> {
        Engine::open_inner(data_dir, backend, true)
    }

    /// `open_with` for tools that need the catalog but run nothing (`eddy topic delete`
    /// checks that no source uses the topic): the command log is replayed into the catalog,
    /// but no persistent query starts and other servers' commands are not followed.
    pub fn open_without_queries(data_dir: &Path, backend: BackendKind) -> Result<Arc<Engine>> {
        Engine::open_inner(data_dir, backend, false)
    }

    fn open_inner(data_dir: &Path, backend: BackendKind, run: bool) -> Result<Arc<Engine>> {
        std::fs::create_dir_all(data_dir)
            .map_err(|error| ServerError::Exec(executor::ExecError::Io(error)))?;
        let store = Store::open(data_dir)?;
        let backend_kind = backend;
        let backend = Backend::open(backend_kind.clone(), &store)?;
        let log = Arc::clone(&backend.log);
        // On Kafka the command topic is the log every server of the service shares.
        let command_topic = match &backend_kind {
            BackendKind::Kafka(config) => {
                Some(crate::command_log::command_topic(&config.service_id))
            }
            BackendKind::Embedded => None,
        };
        let (command_log, commands) = match command_topic {
            Some(topic) => CommandLog::open_topic(Arc::clone(&log), topic)?,
            None => CommandLog::open(Arc::clone(&store))?,
        };
        let schemas = executor::schema_registry::SchemaStore::new(Arc::clone(&store));
        // Schemas first: replayed statements look up the ids they registered or used.
        let mut catalog = Catalog::default();
        for registration in schemas.load()? {
            catalog.schema_registry_mut().restore(registration);
        }
        for (subject, level) in schemas.load_compatibility()? {
            catalog
                .schema_registry_mut()
                .set_compatibility(subject.as_deref(), level);
        }
        let engine = Arc::new(Engine {
            backend,
            log,
            metrics: Metrics::default(),
            state_store: StateStore::new(Arc::clone(&store)),
            schemas,
            remote_registry: crate::schema_registry::RemoteSlot::new(),
            state: Mutex::new(EngineState {
                catalog: Arc::new(catalog),
                queries: BTreeMap::new(),
                command_log,
                replaying: Some(Vec::new()),
            }),
        });
        engine.apply_commands(commands.into_iter().map(|command| (None, command)));
        if !run {
            return Ok(engine);
        }
        engine.start_replayed_queries();
        if matches!(engine.lock().command_log, CommandLog::Topic { .. }) {
            spawn_command_runner(&engine);
        }
        Ok(engine)
    }

    /// Starts ksqlDB's processing log as `properties` (the server's configuration) set it:
    /// unless `ksql.logging.processing.stream.auto.create` is `false`, creates the topic
    /// `ksql.logging.processing.topic.name` (default `<ksql.service.id>ksql_processing_log`)
    /// and the stream `ksql.logging.processing.stream.name` (default `KSQL_PROCESSING_LOG`)
    /// over it, and writes every query's bad records there from now on.
    pub fn start_processing_log(&self, properties: &BTreeMap<String, String>) -> Result<()> {
        let property = |name: &str| properties.get(name).map(|value| value.trim());
        if property("ksql.logging.processing.stream.auto.create")
            .is_some_and(|value| value.eq_ignore_ascii_case("false"))
        {
            return Ok(());
        }
        let topic = match property("ksql.logging.processing.topic.name") {
            Some(topic) if !topic.is_empty() => topic.to_string(),
            _ => format!(
                "{}ksql_processing_log",
                property("ksql.service.id").unwrap_or("default_")
            ),
        };
        let stream = property("ksql.logging.processing.stream.name")
            .unwrap_or("KSQL_PROCESSING_LOG")
            .to_string();
        self.log.create_topic(&topic, 1, 1)?;
        if self.catalog_snapshot().source(&stream).is_none() {
            let sql = format!(
                "CREATE STREAM {stream} ({}) WITH (KAFKA_TOPIC='{topic}', VALUE_FORMAT='JSON');",
                executor::processing_log::STREAM_COLUMNS
            );
            let session = Session {
                properties: BTreeMap::new(),
                variables: BTreeMap::new(),
            };
            // Not logged: the stream is declared again at every start.
            for statement in parser::parse_statements(&sql)? {
                self.apply(&statement, &session, false)?;
            }
        }
        let log = executor::processing_log::ProcessingLog::start(Arc::clone(&self.log), topic)
            .map_err(|error| ServerError::Exec(executor::ExecError::Io(error)))?;
        self.metrics.set_processing_log(log);
        Ok(())
    }

    /// Applies logged commands in order (at start, and those other servers append); a
    /// command that fails is logged and skipped, as it failed where it was first run too.
    fn apply_commands(&self, commands: impl IntoIterator<Item = (Option<u64>, Command)>) {
        for (offset, command) in commands {
            let session = Session {
                properties: command.properties.clone(),
                variables: BTreeMap::new(),
            };
            let statements = match parser::parse_statements(&command.sql) {
                Ok(statements) => statements,
                Err(error) => {
                    tracing::warn!("replaying \"{}\" failed: {error}", command.sql);
                    continue;
                }
            };
            if let Some(offset) = offset {
                tracing::info!(
                    offset,
                    "applying \"{}\" from the command topic",
                    command.sql
                );
            }
            for statement in statements {
                if let Err(error) = self.apply(&statement, &session, false) {
                    tracing::warn!(
                        "replaying \"{}\" failed: {}",
                        command.sql,
                        executor::error_chain(&error)
                    );
                }
            }
        }
    }

    /// Ends the replay at start: starts the persistent queries it left running.
    fn start_replayed_queries(&self) {
        let mut state = self.lock();
        for deferred in state.replaying.take().unwrap_or_default() {
            if state.catalog.query(&deferred.id).is_none() {
                continue;
            }
            if let Err(error) = handler::ddl::run_query(
                self,
                &mut state,
                &deferred.id,
                &deferred.plan,
                deferred.start,
            ) {
                tracing::warn!(
                    "restarting query {} failed: {}",
                    deferred.id,
                    executor::error_chain(&error)
                );
            }
        }
    }

    /// Applies the commands other servers appended to the command topic since the last
    /// call.
    fn run_new_commands(&self) -> Result<()> {
        let commands = self.lock().command_log.poll()?;
        self.apply_commands(
            commands
                .into_iter()
                .map(|(offset, command)| (Some(offset), command)),
        );
        Ok(())
    }

    /// The state store of queries and materialized tables.
    pub fn state_store(&self) -> &StateStore {
        &self.state_store
    }

    /// The topic log (for tools such as datagen and the test runner).
    pub fn topic_log(&self) -> Arc<dyn TopicLog> {
        Arc::clone(&self.log)
    }

    /// True when every running persistent query has consumed everything its sources hold
    /// (or has stopped). Test harnesses wait for this instead of sleeping.
    pub fn queries_caught_up(&self) -> Result<bool> {
        Ok(self.query_inputs()?.iter().all(|input| {
            input
                .ends
                .iter()
                .zip(&input.committed)
                .all(|((_, end), committed)| committed.is_some_and(|c| c >= *end))
        }))
    }

    /// How far each running persistent query is behind each partition of its sources and
    /// internal topics: (query id, topic, partition, records not yet consumed).
    pub fn query_lags(&self) -> Result<Vec<(String, String, u32, u64)>> {
        let mut lags = Vec::new();
        for input in self.query_inputs()? {
            for (partition, ((earliest, end), committed)) in
                input.ends.iter().zip(&input.committed).enumerate()
            {
                let position = committed.unwrap_or(*earliest);
                lags.push((
                    input.query.clone(),
                    input.topic.clone(),
                    partition as u32,
                    end.saturating_sub(position),
                ));
            }
        }
        Ok(lags)
    }

    /// The input topics of the running persistent queries, with their end offsets and the
    /// queries' committed offsets.
    fn query_inputs(&self) -> Result<Vec<QueryInput>> {
        let state = self.lock();
        let mut inputs = Vec::new();
        for query in state.catalog.queries() {
            let running = state
                .queries
                .get(&query.id)
                .is_some_and(|running| running.handle.state() == executor::QueryState::Running);
            if !running {
                continue;
            }
            // Sources first: a stage that consumed them has already written its repartition
            // topics, read next.
            let topics = query
                .sources
                .iter()
                .filter_map(|source| state.catalog.source(source))
                .map(|definition| &definition.topic)
                .chain(&query.internal_topics);
            for topic in topics {
                inputs.push(QueryInput {
                    query: query.id.clone(),
                    topic: topic.clone(),
                    ends: self.log.offsets(topic)?,
                    committed: self.log.committed_offsets(&query.id, topic)?,
                });
            }
        }
        Ok(inputs)
    }

    /// Ids and states of the persistent queries.
    pub fn query_states(&self) -> Vec<(String, executor::QueryState)> {
        let state = self.lock();
        state
            .queries
            .iter()
            .map(|(id, running)| (id.clone(), running.handle.state()))
            .collect()
    }

    /// The catalog as it is now (a copy).
    pub fn catalog(&self) -> planner::Catalog {
        Catalog::clone(&self.lock().catalog)
    }

    /// The catalog as it is now, shared: planning from it needs no engine lock.
    pub(crate) fn catalog_snapshot(&self) -> Arc<Catalog> {
        Arc::clone(&self.lock().catalog)
    }

    /// Parses and executes a script, statement by statement, handing each output to
    /// `on_output` before the next statement runs. Stops at the first error.
    pub fn execute_script(
        &self,
        sql: &str,
        session: &mut Session,
        mut on_output: impl FnMut(&Statement, StatementOutput),
    ) -> Result<()> {
        let sql = substitute_variables(sql, &session.variables);
        let statements = parser::parse_statements(&sql)?;
        for statement in statements {
            let output = self.execute(&statement, session)?;
            on_output(&statement, output);
        }
        Ok(())
    }

    /// Executes one statement.
    pub fn execute(&self, statement: &Statement, session: &mut Session) -> Result<StatementOutput> {
        match &statement.kind {
            StatementKind::SetProperty { name, value } => {
                handler::properties::set(session, name, value).map(StatementOutput::Completed)
            }
            StatementKind::UnsetProperty { name } => {
                handler::properties::unset(session, name).map(StatementOutput::Completed)
            }
            StatementKind::DefineVariable { name, value } => {
                session.variables.insert(name.clone(), value.clone());
                Ok(StatementOutput::Completed(
                    StatementResult::VariableDefined { name: name.clone() },
                ))
            }
            StatementKind::UndefineVariable { name } => {
                session.variables.remove(name);
                Ok(StatementOutput::Completed(
                    StatementResult::VariableUndefined { name: name.clone() },
                ))
            }
            StatementKind::RunScript { path } => {
                let text = std::fs::read_to_string(path).map_err(|error| {
                    ServerError::User(format!("cannot read script \"{path}\": {error}"))
                })?;
                // An empty script reports nothing.
                let mut last = StatementOutput::Completed(StatementResult::Status(String::new()));
                self.execute_script(&text, session, |_, output| last = output)?;
                Ok(last)
            }
            StatementKind::Print(print) => handler::print::print(self, print, session),
            StatementKind::Select(_) | StatementKind::SqlQuery(_) => {
                let planned = self.plan_select(statement, session)?;
                self.run_select(planned, session)
            }
            _ => self.apply(statement, session, true),
        }
    }

    /// Executes a statement that may change the catalog; `log` says whether to record it in
    /// the command log (false while replaying).
    fn apply(
        &self,
        statement: &Statement,
        session: &Session,
        log: bool,
    ) -> Result<StatementOutput> {
        let mut state = self.lock();
        let plan = self.plan_with_registry(&mut state, statement, &session.properties)?;
        let result = match plan {
            Some(StatementPlan::Select { .. } | StatementPlan::Pull(_)) => {
                return Err(ServerError::Internal(
                    "a query is executed, not applied".into(),
                ));
            }
            Some(StatementPlan::InsertValues(plan)) => {
                drop(state);
                executor::insert_values(&plan, self.log.as_ref(), executor::log::now_millis())?;
                return Ok(StatementOutput::Completed(StatementResult::RowInserted));
            }
            Some(plan) => handler::ddl::apply_plan(self, &mut state, plan, session)?,
            None => {
                let result = handler::admin::run(self, &mut state, statement, session)?;
                if !changes_catalog(&statement.kind) {
                    return Ok(StatementOutput::Completed(result));
                }
                result
            }
        };
        // Sources created by the statement may have registered schemas.
        self.schemas.save(state.catalog.schema_registry())?;
        if log {
            state.command_log.append(&Command {
                sql: statement.text.clone(),
                properties: session.properties.clone(),
            })?;
        }
        Ok(StatementOutput::Completed(result))
    }

    /// Plans a push or pull query (`SELECT`, or SQL beyond ksqlDB's). A query changes
    /// nothing: it is planned from a snapshot of the catalog, without holding the engine
    /// lock, so queries are planned in parallel.
    pub fn plan_select(&self, statement: &Statement, session: &Session) -> Result<PlannedSelect> {
        let catalog = self.catalog_snapshot();
        match planner::plan_statement(&catalog, statement, &session.properties)? {
            Some(StatementPlan::Select { plan, columns }) => {
                let scalable_push = match &statement.kind {
                    StatementKind::Select(query) => {
                        planner::is_scalable_push(&catalog, query, &session.properties)
                    }
                    _ => false,
                };
                Ok(PlannedSelect::Push {
                    plan,
                    columns,
                    scalable_push,
                })
            }
            Some(StatementPlan::Pull(pull)) => Ok(PlannedSelect::Pull(pull)),
            _ => Err(ServerError::Internal("a SELECT planned to no query".into())),
        }
    }

    /// Starts (or, for a pull query over a table, answers) a planned query.
    pub fn run_select(&self, planned: PlannedSelect, session: &Session) -> Result<StatementOutput> {
        handler::select::run(self, planned, session)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, EngineState> {
        self.state.lock().expect("engine lock is never poisoned")
    }

    /// The start position for queries of `session` (`auto.offset.reset`), or `default`.
    pub(crate) fn start_position(
        session_properties: &Properties,
        default: StartPosition,
    ) -> StartPosition {
        session_properties
            .get("auto.offset.reset")
            .and_then(|value| StartPosition::parse(value))
            .unwrap_or(default)
    }

    pub(crate) fn stream_channel<T>() -> (mpsc::Sender<T>, mpsc::Receiver<T>) {
        mpsc::channel(STREAM_BUFFER)
    }
}

/// Statements the server handles itself that must be replayed at start.
fn changes_catalog(kind: &StatementKind) -> bool {
    matches!(
        kind,
        StatementKind::DropSource(_)
            | StatementKind::Terminate(_)
            | StatementKind::CreateType { .. }
            | StatementKind::DropType { .. }
    )
}

/// Replaces `${name}` with defined variables (names compare case-insensitively).
pub(crate) fn substitute_variables(sql: &str, variables: &BTreeMap<String, String>) -> String {
    let mut text = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = rest.find("${") {
        text.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match variables
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                {
                    Some((_, value)) => text.push_str(value),
                    None => text.push_str(&rest[start..start + 2 + end + 1]),
                }
                rest = &after[end + 1..];
            }
            None => {
                text.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    text.push_str(rest);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_starts_only_the_queries_still_running_at_the_end_of_the_command_log() {
        let directory = tempfile::tempdir().expect("temp dir");
        let run = |engine: &Engine, sql: &str| {
            engine
                .execute_script(sql, &mut Session::default(), |_, _| {})
                .expect("runs")
        };
        {
            let engine = Engine::open(directory.path()).expect("engine");
            run(
                &engine,
                "CREATE STREAM S (ID STRING KEY, V BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=1);
                 CREATE STREAM GONE AS SELECT * FROM S;
                 CREATE STREAM KEPT AS SELECT * FROM S;",
            );
            run(&engine, "TERMINATE CSAS_GONE_0;");
        }
        let engine = Engine::open(directory.path()).expect("reopens");
        let states = engine.query_states();
        assert_eq!(
            states,
            [("CSAS_KEPT_1".to_string(), executor::QueryState::Running)]
        );
        // TERMINATE ALL and a DROP after it replay as they ran.
        run(
            &engine,
            "CREATE STREAM MORE AS SELECT * FROM S; TERMINATE ALL; DROP STREAM MORE DELETE TOPIC;",
        );
        drop(engine);
        let engine = Engine::open(directory.path()).expect("reopens again");
        assert_eq!(engine.query_states(), []);
        assert!(engine.catalog_snapshot().source("MORE").is_none());
        assert!(engine.catalog_snapshot().source("KEPT").is_some());
        // The terminated queries never ran again: nothing was registered under their ids.
        let names = engine.metrics.names();
        assert!(
            !names.iter().any(|name| name.starts_with("CSAS_")),
            "{names:?}"
        );
    }

    #[test]
    fn only_pull_queries_reading_just_their_keys_are_key_lookups() {
        let directory = tempfile::tempdir().expect("temp dir");
        let engine = Engine::open(directory.path()).expect("engine");
        let mut session = Session::default();
        engine
            .execute_script(
                "CREATE STREAM S (ID STRING KEY, V BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=1);
                 CREATE TABLE T AS SELECT ID, COUNT(*) AS N FROM S GROUP BY ID;
                 INSERT INTO S (ID, V) VALUES ('a', 1);",
                &mut session,
                |_, _| {},
            )
            .expect("setup");
        let plan = |sql: &str| {
            let statement = parser::parse_statements(sql).expect("parses").remove(0);
            engine.plan_select(&statement, &session)
        };
        for sql in [
            "SELECT * FROM T WHERE ID = 'a';",
            "SELECT * FROM T WHERE ID IN ('a', 'b');",
        ] {
            let planned = plan(sql).expect("plans");
            assert!(planned.is_key_lookup(), "{sql}: not a key lookup");
            match engine.run_select(planned, &session) {
                Ok(StatementOutput::Rows(stream)) => assert!(stream.is_pull, "{sql}"),
                _ => panic!("{sql}: no rows"),
            }
        }
        for sql in [
            "SELECT * FROM T;",
            "SELECT * FROM T WHERE N > 1;",
            "SELECT * FROM T WHERE ID > 'a';",
            "SELECT * FROM T WHERE ID = 'a' EMIT CHANGES;",
            "SELECT * FROM S;",
        ] {
            assert!(
                !plan(sql).expect("plans").is_key_lookup(),
                "{sql}: a key lookup"
            );
        }
        match plan("SELECT * FROM MISSING WHERE ID = 'a';") {
            Err(error) => assert!(error.to_string().contains("MISSING"), "{error}"),
            Ok(_) => panic!("a query of a missing source plans"),
        }
    }

    #[test]
    fn a_source_asking_for_other_partitions_than_its_existing_topic_has_is_refused() {
        let directory = tempfile::tempdir().expect("temp dir");
        let engine = Engine::open(directory.path()).expect("engine");
        let mut session = Session::default();
        let run = |sql: &str, session: &mut Session| engine.execute_script(sql, session, |_, _| {});
        run(
            "CREATE STREAM A (ID STRING KEY, V BIGINT) WITH (kafka_topic='t', value_format='JSON', partitions=3);",
            &mut session,
        )
        .expect("creates the topic");
        // The same count, or none, uses the topic as it is.
        run(
            "CREATE STREAM B (ID STRING KEY, V BIGINT) WITH (kafka_topic='t', value_format='JSON', partitions=3);
             CREATE STREAM C (ID STRING KEY, V BIGINT) WITH (kafka_topic='t', value_format='JSON');",
            &mut session,
        )
        .expect("matching declarations");
        match run(
            "CREATE STREAM D (ID STRING KEY, V BIGINT) WITH (kafka_topic='t', value_format='JSON', partitions=5);",
            &mut session,
        ) {
            Err(error) => assert_eq!(
                error.to_string(),
                "A Kafka topic with the name 't' already exists, with different partition/replica \
                 configuration than required. KSQL expects 5 partitions (topic has 3), 1 \
                 replication factor (topic has 1)."
            ),
            Ok(()) => panic!("a mismatched partition count was accepted"),
        }
        assert!(engine.catalog_snapshot().source("D").is_none());
    }

    #[test]
    fn variables_are_substituted_case_insensitively() {
        let variables = BTreeMap::from([("topicName".to_string(), "t1".to_string())]);
        let cases = [
            ("PRINT ${topicname};", "PRINT t1;"),
            ("SELECT '${unknown}' FROM s;", "SELECT '${unknown}' FROM s;"),
            ("no variables", "no variables"),
            ("open ${end", "open ${end"),
        ];
        for (input, expected) in cases {
            assert_eq!(substitute_variables(input, &variables), expected);
        }
    }
}
