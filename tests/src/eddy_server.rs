//! A spawned `eddy server` and a minimal HTTP/1.1 client for its REST API, for tests that
//! kill and restart the server process.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::eddy_binary;

/// The line `eddy server` prints once it accepts connections; `http://` or `https://` and
/// the address follow.
const LISTENING: &str = "Eddy server listening on ";
/// The line `eddy server --pg-listen ADDR` prints for its Postgres listener.
const PG_LISTENING: &str = "Eddy Postgres listening on ";
/// How long the server may take to start (replaying its command log, restoring state).
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// `eddy --data-dir DIR ARGS... server --listen 127.0.0.1:0`, killed on drop.
pub struct EddyServer {
    child: Child,
    address: String,
    /// `http` or `https` (`listeners=https://...`).
    scheme: String,
    /// `host:port` of the Postgres listener, when started with one.
    pg_address: Option<String>,
    log_path: PathBuf,
}

impl EddyServer {
    /// Starts a server on `data_dir` with the global `args` (`--bootstrap-servers ...`);
    /// its stderr goes to `server-N.log` in the data directory's parent.
    pub fn start(data_dir: &Path, args: &[&str]) -> Result<EddyServer> {
        Self::start_with(data_dir, args, &[])
    }

    /// Like `start`, with `server_args` after `server --listen 127.0.0.1:0`
    /// (`--pg-listen 127.0.0.1:0`, `--auth-file F`); waits for the Postgres listener too
    /// when `--pg-listen` is among them.
    pub fn start_with(data_dir: &Path, args: &[&str], server_args: &[&str]) -> Result<EddyServer> {
        let wants_pg = server_args.contains(&"--pg-listen");
        let parent = data_dir
            .parent()
            .context("the data directory has a parent")?;
        let log_path = (0..)
            .map(|n| parent.join(format!("server-{n}.log")))
            .find(|path| !path.exists())
            .context("a free log name")?;
        let log = std::fs::File::create(&log_path).context("cannot create the server log")?;
        let mut child = Command::new(eddy_binary())
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .args(["server", "--listen", "127.0.0.1:0"])
            .args(server_args)
            .env("EDDY_LOG", "info,librdkafka=warn,rdkafka=warn")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("cannot start eddy server")?;
        let stdout = child
            .stdout
            .take()
            .context("eddy server has a stdout pipe")?;
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout)
                .lines()
                .map_while(std::io::Result::ok)
            {
                if let Some(url) = line.strip_prefix(LISTENING) {
                    let _ = sender.send((false, url.trim().to_string()));
                } else if let Some(address) = line.strip_prefix(PG_LISTENING) {
                    let _ = sender.send((true, address.trim().to_string()));
                }
            }
        });
        let mut server = EddyServer {
            child,
            address: String::new(),
            scheme: String::new(),
            pg_address: None,
            log_path,
        };
        while server.address.is_empty() || (wants_pg && server.pg_address.is_none()) {
            match receiver.recv_timeout(START_TIMEOUT) {
                Ok((false, url)) => {
                    let (scheme, address) = url.split_once("://").unwrap_or(("http", &url));
                    server.scheme = scheme.to_string();
                    server.address = address.to_string();
                }
                Ok((true, address)) => server.pg_address = Some(address),
                Err(_) => bail!("eddy server did not start:\n{}", server.log()),
            }
        }
        Ok(server)
    }

    /// `host:port`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// `host:port` of the Postgres listener (`--pg-listen`).
    pub fn pg_address(&self) -> Option<&str> {
        self.pg_address.as_deref()
    }

    /// `http://host:port` (or `https://`), the base URL of its REST API.
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.address)
    }

    /// What the server wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Runs statements through `POST /ksql`; fails on a non-2xx answer.
    pub fn ksql(&self, sql: &str) -> Result<serde_json::Value> {
        let body = serde_json::json!({
            "ksql": sql,
            "streamsProperties": {"ksql.streams.auto.offset.reset": "earliest"},
        });
        let (status, text) = http_post(&self.address, "/ksql", &body.to_string())?;
        if !(200..300).contains(&status) {
            bail!("POST /ksql {sql:?} answered {status}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("not JSON: {text}"))
    }

    /// A pull query through `POST /query`: the rows (arrays of column values).
    pub fn pull(&self, sql: &str) -> Result<Vec<serde_json::Value>> {
        self.query_rows(sql, serde_json::json!({}))
    }

    /// A query through `POST /query` with `properties` (a push query must end: `LIMIT n`):
    /// the rows (arrays of column values).
    pub fn query_rows(
        &self,
        sql: &str,
        properties: serde_json::Value,
    ) -> Result<Vec<serde_json::Value>> {
        let body = serde_json::json!({"ksql": sql, "streamsProperties": properties});
        let (status, text) = http_post(&self.address, "/query", &body.to_string())?;
        if !(200..300).contains(&status) {
            bail!("POST /query {sql:?} answered {status}: {text}");
        }
        let answer: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("not JSON: {text}"))?;
        Ok(answer
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|entry| entry.get("row")?.get("columns").cloned())
            .collect())
    }

    /// SIGKILL: no shutdown at all.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for EddyServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `POST path` with a JSON body over a new connection; the status and the (de-chunked)
/// body.
pub fn http_post(address: &str, path: &str, body: &str) -> Result<(u16, String)> {
    http_post_accepting(address, path, body, "application/json")
}

/// `http_post` with `accept` as the `Accept` header.
pub fn http_post_accepting(
    address: &str,
    path: &str,
    body: &str,
    accept: &str,
) -> Result<(u16, String)> {
    let mut stream =
        TcpStream::connect(address).with_context(|| format!("cannot connect to {address}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Accept: {accept}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, rest) = response
        .split_once("\r\n\r\n")
        .with_context(|| format!("no header end in {response:?}"))?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("no status in {head:?}"))?;
    let chunked = head.lines().any(|line| {
        line.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut rest: &str) -> Result<String> {
    let mut body = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").context("a chunk size line")?;
        let size = usize::from_str_radix(size.trim(), 16).context("a hex chunk size")?;
        if size == 0 {
            return Ok(body);
        }
        body.push_str(after.get(..size).context("a whole chunk")?);
        rest = after.get(size + 2..).context("a chunk end")?;
    }
}
