//! PRINT against a server: `POST /query` answers a PRINT with plain text lines, one per
//! record, not JSON, so the body is read here directly (`server::client` parses JSON only).

use std::io::Write;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde_json::{Map, Value, json};
use server::client::KSQL_V1_JSON;

use super::render;

/// Sends `sql` (a PRINT) to `base_url` and writes the lines as they arrive until the printing
/// ends; Ctrl-C stops it (dropping the connection stops it on the server).
pub async fn print_topic(
    base_url: &str,
    authorization: Option<&str>,
    sql: &str,
    properties: &Map<String, Value>,
    out: &mut dyn Write,
) -> Result<()> {
    let http: HyperClient<_, Full<Bytes>> = HyperClient::builder(TokioExecutor::new()).build_http();
    let mut request = Request::post(format!("{base_url}/query"))
        .header(CONTENT_TYPE, KSQL_V1_JSON)
        .header(ACCEPT, KSQL_V1_JSON);
    if let Some(authorization) = authorization {
        request = request.header(AUTHORIZATION, authorization);
    }
    let body = json!({"ksql": sql, "streamsProperties": properties}).to_string();
    let request = request
        .body(Full::new(Bytes::from(body)))
        .context("cannot build the request")?;
    let response = http
        .request(request)
        .await
        .with_context(|| format!("cannot reach the server at {base_url}"))?;
    let status = response.status();
    let mut body = response.into_body();
    if !status.is_success() {
        let bytes = body
            .collect()
            .await
            .context("the connection broke while reading the response")?
            .to_bytes();
        let error = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        bail!("{}", render::error_message(status.as_u16(), &error));
    }
    let mut pending: Vec<u8> = Vec::new();
    loop {
        tokio::select! {
            frame = body.frame() => match frame {
                Some(frame) => {
                    let frame = frame.context("the connection broke while printing")?;
                    let Ok(data) = frame.into_data() else { continue };
                    pending.extend_from_slice(&data);
                    while let Some(end) = pending.iter().position(|&byte| byte == b'\n') {
                        let line: Vec<u8> = pending.drain(..=end).collect();
                        out.write_all(&line)?;
                    }
                    out.flush()?;
                }
                None => {
                    if !pending.is_empty() {
                        out.write_all(&pending)?;
                        writeln!(out)?;
                    }
                    return Ok(());
                }
            },
            _ = tokio::signal::ctrl_c() => {
                writeln!(out, "Topic printing ceased")?;
                return Ok(());
            }
        }
    }
}
