//! `eddy server`: serves the ksqlDB REST API over the engine of `--data-dir` until Ctrl-C or
//! SIGTERM. The API itself is `server::http`; this module reads the command-line files.
//!
//! `--config FILE` holds `key=value` lines (Java properties style: `#` and `!` comments)
//! used as default session properties. `--auth-file FILE` holds one `user:password` per
//! line (`#` comments); with it, every request needs HTTP basic authentication, and every
//! Postgres client (`--pg-listen ADDR`) a password.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use server::Engine;
use server::http::{HttpConfig, HttpServer};

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8088")]
    listen: SocketAddr,
    /// Default session properties: a file of `key=value` lines.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Basic-auth users: a file of `user:password` lines.
    #[arg(long, value_name = "FILE")]
    auth_file: Option<PathBuf>,
    /// Also serve the Postgres wire protocol on this address (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    pg_listen: Option<SocketAddr>,
}

pub fn run(data_dir: &Path, bootstrap_servers: Option<&str>, args: &ServeArgs) -> Result<()> {
    let properties = match &args.config {
        Some(path) => {
            parse_properties(&read(path)?).with_context(|| format!("in {}", path.display()))?
        }
        None => BTreeMap::new(),
    };
    let users = match &args.auth_file {
        Some(path) => {
            Some(parse_users(&read(path)?).with_context(|| format!("in {}", path.display()))?)
        }
        None => None,
    };
    let config = HttpConfig {
        users,
        pg_listen: args.pg_listen,
        ..HttpConfig::default()
    };
    let backend = crate::backend_kind(bootstrap_servers, &properties)?;
    let engine = Engine::open_with(data_dir, backend).context("cannot open the data directory")?;
    engine
        .start_processing_log(&properties)
        .context("cannot start the processing log")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let server = HttpServer::start_with_properties(engine, args.listen, config, properties)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let mut stdout = std::io::stdout();
        writeln!(
            stdout,
            "Eddy server listening on http://{}",
            server.local_addr()
        )?;
        if let Some(pg_addr) = server.pg_addr() {
            writeln!(stdout, "Eddy Postgres listening on {pg_addr}")?;
        }
        stdout.flush()?;
        stop_signal().await?;
        server.stop().await;
        Ok(())
    })
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Waits for Ctrl-C or (on Unix) SIGTERM.
async fn stop_signal() -> Result<()> {
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .context("cannot listen for SIGTERM")?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.context("cannot listen for Ctrl-C")?,
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")?;
    Ok(())
}

/// `key=value` lines (or `key: value`, `key value`); blank lines and `#`/`!` comments skipped.
fn parse_properties(text: &str) -> Result<BTreeMap<String, String>> {
    let mut properties = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some(split) = line.find(['=', ':', ' ', '\t']) else {
            bail!("line {}: expected key=value", number + 1);
        };
        let key = line[..split].trim();
        // The separator is `=` or `:`, with optional blanks around it, or blanks alone.
        let rest = line[split..].trim_start();
        let value = rest.strip_prefix(['=', ':']).unwrap_or(rest).trim();
        if key.is_empty() {
            bail!("line {}: expected key=value", number + 1);
        }
        properties.insert(key.to_string(), value.to_string());
    }
    Ok(properties)
}

/// `user:password` lines; blank lines and `#` comments skipped.
fn parse_users(text: &str) -> Result<BTreeMap<String, String>> {
    let mut users = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match trimmed.split_once(':') {
            Some((user, password)) if !user.is_empty() => {
                users.insert(user.to_string(), password.to_string());
            }
            _ => bail!("line {}: expected user:password", number + 1),
        }
    }
    if users.is_empty() {
        bail!("no users: expected user:password lines");
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_files_read_like_java_properties() {
        let text = "# defaults\n\
                    auto.offset.reset=earliest\n\
                    ! another comment\n\
                    \n\
                    ksql.persistence.wrap.single.values = false\n\
                    cache.max.bytes.buffering: 0\n";
        let properties = parse_properties(text).expect("valid properties");
        assert_eq!(
            properties,
            BTreeMap::from([
                ("auto.offset.reset".to_string(), "earliest".to_string()),
                ("cache.max.bytes.buffering".into(), "0".into()),
                ("ksql.persistence.wrap.single.values".into(), "false".into()),
            ])
        );
        assert!(parse_properties("novalue").is_err());
        assert!(parse_properties("=x").is_err());
    }

    #[test]
    fn auth_files_hold_user_password_lines() {
        let cases = [
            (
                "alice:secret\n# comment\nbob:p:w\n",
                Some(vec![("alice", "secret"), ("bob", "p:w")]),
            ),
            ("alice\n", None),
            (":nouser\n", None),
            ("# only comments\n", None),
        ];
        for (text, expected) in cases {
            let parsed = parse_users(text).ok();
            let expected = expected.map(|users| {
                users
                    .into_iter()
                    .map(|(user, password)| (user.to_string(), password.to_string()))
                    .collect::<BTreeMap<_, _>>()
            });
            assert_eq!(parsed, expected, "{text:?}");
        }
    }
}
