//! The REPL against a server (`eddy --server http://HOST:PORT`): statements go to `POST /ksql`,
//! queries to `POST /query-stream` through `server::client`, PRINT to `POST /query` (`print`).
//!
//! As in ksqlDB's CLI, `SET`/`UNSET` and `DEFINE`/`UNDEFINE` change this client's properties
//! and variables, sent with every request, and `RUN SCRIPT` reads a local file. Output looks
//! like the embedded REPL's: `/ksql` entities are read back into statement results
//! (`server::http::read_entity`) and printed by the same renderer (`crate::output`).

mod print;
mod render;

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use parser::ast::{Statement, StatementKind};
use serde_json::{Map, Value};
use server::StatementResult;
use server::client::{Client, ClientError};

use crate::interactive::Vocabulary;
use crate::output::{Layout, RowPrinter, render_result, render_result_within};
use crate::progress::Progress;

/// A connection to a server with this client's session state.
pub struct Remote {
    runtime: tokio::runtime::Runtime,
    client: Client,
    /// The `Authorization` header of `credentials`, for the requests `print` sends itself.
    authorization: Option<String>,
    /// The version `GET /info` reported.
    server_version: String,
    /// `SET` properties, sent as `streamsProperties`.
    properties: Map<String, Value>,
    /// `DEFINE` variables, substituted into statements before they are sent.
    variables: BTreeMap<String, String>,
    /// How tables are laid out: `Script` unless the REPL sets `Terminal`.
    layout: Layout,
}

impl Remote {
    /// Checks that the server at `url` answers (`GET /info`) with these credentials.
    pub fn connect(url: &str, credentials: Option<(String, String)>) -> Result<Remote> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let authorization = credentials.as_ref().map(|(user, password)| {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            format!("Basic {token}")
        });
        let client = Client::new(url, credentials)?;
        let (status, body) = runtime
            .block_on(client.get("/info"))
            .map_err(|error| anyhow!("{}", client_error(&error)))
            .with_context(|| format!("cannot connect to {}", client.base_url()))?;
        if status != 200 {
            let hint = if status == 401 {
                "\nhint: pass the user name and password with -u USER -p PASSWORD"
            } else {
                ""
            };
            bail!(
                "cannot connect to {}: {}{hint}",
                client.base_url(),
                render::error_message(status, &body)
            );
        }
        let server_version = body
            .pointer("/KsqlServerInfo/version")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string();
        Ok(Remote {
            runtime,
            client,
            authorization,
            server_version,
            properties: Map::new(),
            variables: BTreeMap::new(),
            layout: Layout::Script,
        })
    }

    /// `Server: <url> (version <v>)` for the REPL's banner.
    pub fn describe(&self) -> String {
        format!(
            "Server: {} (version {})",
            self.client.base_url(),
            self.server_version
        )
    }

    /// Lays tables out for `layout` from now on.
    pub fn set_layout(&mut self, layout: Layout) {
        self.layout = layout;
    }

    /// Runs the statements of `sql` one by one, printing their output; stops at the first
    /// error and returns it.
    pub fn run_script(&mut self, sql: &str, out: &mut dyn Write) -> Result<()> {
        self.run_statements(sql, out, None)
    }

    /// `run_script` for a whole script, counting the statements done on `progress`.
    pub fn run_script_with_progress(
        &mut self,
        sql: &str,
        out: &mut dyn Write,
        progress: &mut Progress,
    ) -> Result<()> {
        let result = self.run_statements(sql, out, Some(progress));
        progress.clear();
        result
    }

    fn run_statements(
        &mut self,
        sql: &str,
        out: &mut dyn Write,
        mut progress: Option<&mut Progress>,
    ) -> Result<()> {
        let sql = substitute_variables(sql, &self.variables);
        let statements = match parser::parse_statements(&sql) {
            Ok(statements) => statements,
            // The server reports the error (and may know statements this client does not).
            Err(_) => return self.ksql(&sql, out),
        };
        let total = statements.len();
        for (index, statement) in statements.iter().enumerate() {
            if let Some(progress) = progress.as_deref_mut() {
                progress.clear();
            }
            self.run_statement(statement, out)?;
            out.flush()?;
            if let Some(progress) = progress.as_deref_mut() {
                progress.show(|| format!("statements: {}/{total}", index + 1));
            }
        }
        Ok(())
    }

    /// The server's sources with their columns, functions and topics, for completion (what
    /// it cannot list is left out).
    pub fn vocabulary(&self) -> Vocabulary {
        let mut vocabulary = Vocabulary::default();
        let add_listing = |sql: &str, vocabulary: &mut Vocabulary| {
            let listing = self
                .runtime
                .block_on(self.client.ksql(sql, &self.properties));
            if let Ok((200, Value::Array(entities))) = listing {
                for entity in &entities {
                    vocabulary.add_result(&server::http::read_entity(entity));
                }
            }
        };
        add_listing(
            "SHOW STREAMS; SHOW TABLES; SHOW FUNCTIONS; SHOW TOPICS;",
            &mut vocabulary,
        );
        let describe: String = vocabulary
            .sources
            .iter()
            .map(|(name, _)| format!("DESCRIBE `{}`;", name.replace('`', "``")))
            .collect();
        if !describe.is_empty() {
            add_listing(&describe, &mut vocabulary);
        }
        vocabulary
    }

    fn run_statement(&mut self, statement: &Statement, out: &mut dyn Write) -> Result<()> {
        match &statement.kind {
            StatementKind::SetProperty { name, value } => {
                self.properties
                    .insert(name.clone(), Value::String(value.clone()));
                let result = StatementResult::PropertySet {
                    name: name.clone(),
                    value: value.clone(),
                };
                write!(out, "{}", render_result(&result))?;
            }
            StatementKind::UnsetProperty { name } => {
                self.properties.remove(name);
                let result = StatementResult::PropertyUnset { name: name.clone() };
                write!(out, "{}", render_result(&result))?;
            }
            StatementKind::DefineVariable { name, value } => {
                self.variables.insert(name.clone(), value.clone());
                let result = StatementResult::VariableDefined { name: name.clone() };
                write!(out, "{}", render_result(&result))?;
            }
            StatementKind::UndefineVariable { name } => {
                self.variables.remove(name);
                let result = StatementResult::VariableUndefined { name: name.clone() };
                write!(out, "{}", render_result(&result))?;
            }
            StatementKind::RunScript { path } => {
                let script = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read script \"{path}\""))?;
                self.run_script(&script, out)?;
            }
            StatementKind::Select(_) | StatementKind::SqlQuery(_) => {
                self.query(&statement.text, out)?
            }
            StatementKind::Print(_) => self.runtime.block_on(print::print_topic(
                self.client.base_url(),
                self.authorization.as_deref(),
                &statement.text,
                &self.properties,
                out,
            ))?,
            _ => self.ksql(&statement.text, out)?,
        }
        Ok(())
    }

    /// `POST /ksql`: prints each entity, or fails with the server's error message.
    fn ksql(&self, sql: &str, out: &mut dyn Write) -> Result<()> {
        let (status, body) = self
            .runtime
            .block_on(self.client.ksql(sql, &self.properties))
            .map_err(|error| anyhow!("{}", client_error(&error)))?;
        let Value::Array(entities) = body else {
            bail!("{}", render::error_message(status, &body));
        };
        if status != 200 {
            bail!("{}", render::error_message(status, &Value::Array(entities)));
        }
        for entity in &entities {
            let result = server::http::read_entity(entity);
            write!(
                out,
                "{}",
                render_result_within(&result, self.layout.max_width())
            )?;
            for warning in render::entity_warnings(entity) {
                writeln!(out, "{warning}")?;
            }
        }
        Ok(())
    }

    /// `POST /query-stream`: prints rows as they arrive until the query ends; Ctrl-C closes
    /// it (`POST /close-query`) and returns to the prompt.
    fn query(&self, sql: &str, out: &mut dyn Write) -> Result<()> {
        self.runtime.block_on(async {
            let mut stream = self
                .client
                .query_stream(sql, &self.properties)
                .await
                .map_err(|error| anyhow!("{}", client_error(&error)))?;
            let names: Vec<String> = stream.metadata["columnNames"]
                .as_array()
                .into_iter()
                .flatten()
                .map(render::cell)
                .collect();
            let mut printer = RowPrinter::start(names, self.layout, out)?;
            out.flush()?;
            loop {
                let holding = printer.holding_until();
                let hold_end =
                    tokio::time::Instant::from_std(holding.unwrap_or_else(std::time::Instant::now));
                tokio::select! {
                    row = stream.next_row() => match row {
                        Ok(Some(row)) => {
                            let cells: Vec<String> =
                                row.as_array().into_iter().flatten().map(render::cell).collect();
                            printer.row(cells, out)?;
                            out.flush()?;
                        }
                        Ok(None) => {
                            printer.end(out)?;
                            writeln!(out, "Query terminated")?;
                            return Ok(());
                        }
                        Err(error) => {
                            printer.stop_holding(out)?;
                            writeln!(out, "Query failed: {}", client_error(&error))?;
                            return Ok(());
                        }
                    },
                    _ = tokio::time::sleep_until(hold_end), if holding.is_some() => {
                        printer.stop_holding(out)?;
                        out.flush()?;
                    }
                    _ = tokio::signal::ctrl_c() => {
                        printer.stop_holding(out)?;
                        if let Some(query_id) = stream.query_id.clone() {
                            drop(stream);
                            // Dropping the connection ends the query too; closing is polite.
                            let _ = self.client.close_query(&query_id).await;
                        }
                        writeln!(out, "Query terminated")?;
                        return Ok(());
                    }
                }
            }
        })
    }
}

/// A client error as the user should see it: the server's message for a rejection, the cause
/// chain otherwise.
fn client_error(error: &ClientError) -> String {
    match error {
        ClientError::Rejected { message, .. } => message.clone(),
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text
        }
    }
}

/// Replaces `${name}` with defined variables (names compare case-insensitively); unknown
/// names are left for the server to report.
fn substitute_variables(sql: &str, variables: &BTreeMap<String, String>) -> String {
    let mut text = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = rest.find("${") {
        text.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            text.push_str(&rest[start..]);
            return text;
        };
        let name = &after[..end];
        match variables
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
        {
            Some((_, value)) => text.push_str(value),
            None => text.push_str(&rest[start..start + end + 3]),
        }
        rest = &after[end + 1..];
    }
    text.push_str(rest);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

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
