//! The `eddy` command: the REPL over an embedded engine, script runner, data generator
//! and benchmarks. Engine logic lives in `server::Engine`.
//!
//! The binary is `main` below; a program that registers its own functions
//! (`planner::functions::user`) and then calls `repl::main()` is an `eddy` with them.

mod bench;
mod conformance;
mod datagen;
mod interactive;
mod output;
mod progress;
mod remote;
mod serve;
mod topic;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: the engine allocates many small buffers per record (state, encoding).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "eddy",
    version,
    about = "Eddy: a streaming SQL engine that speaks ksqlDB"
)]
struct Cli {
    /// Where topics, state and the command log live.
    #[arg(long, global = true, default_value = "./eddy-data")]
    data_dir: PathBuf,
    /// Keep topics in this Kafka cluster (`HOST:PORT[,HOST:PORT...]`) instead of the
    /// data directory's embedded log; state and the command log stay in the data directory.
    #[arg(long, global = true, value_name = "HOST:PORT")]
    bootstrap_servers: Option<String>,
    /// Run the statements of this file, print their output, and exit.
    #[arg(long, short = 'f')]
    file: Option<PathBuf>,
    /// Run these statements, print their output, and exit.
    #[arg(long, short = 'e')]
    execute: Option<String>,
    /// Talk to the server at this URL (`http://HOST:PORT`) instead of a data directory.
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// User name for the server's basic authentication.
    #[arg(long, short = 'u', requires_all = ["server", "password"])]
    user: Option<String>,
    /// Password for the server's basic authentication.
    #[arg(long, short = 'p', requires = "user")]
    password: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Write demo records like ksqlDB's datagen quickstarts.
    Datagen(datagen::DatagenArgs),
    /// Measure throughput (release builds).
    Bench(bench::BenchArgs),
    /// Run ksqlDB conformance cases (`--corpus DIR`) or a ksql-test-runner test (`-s -i -o`).
    Test(conformance::TestArgs),
    /// Serve the ksqlDB REST API (default http://127.0.0.1:8088) until Ctrl-C.
    Server(serve::ServeArgs),
    /// Hash a password (read from standard input) for `eddy server --auth-file`.
    Passwd(serve::PasswdArgs),
    /// kcat-style topic commands: list, describe, create, delete, produce, consume.
    Topic(topic::TopicArgs),
}

/// The backend of `--bootstrap-servers` and the server properties: Kafka when either names
/// bootstrap servers, else the embedded log.
pub fn backend_kind(
    bootstrap_servers: Option<&str>,
    properties: &std::collections::BTreeMap<String, String>,
) -> anyhow::Result<executor::BackendKind> {
    let mut properties = properties.clone();
    if let Some(servers) = bootstrap_servers {
        properties.insert("bootstrap.servers".into(), servers.to_string());
    }
    Ok(executor::BackendKind::from_properties(&properties)?)
}

/// Runs the `eddy` command line (arguments from the process).
pub fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("EDDY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Datagen(args)) => {
            datagen::run(&cli.data_dir, cli.bootstrap_servers.as_deref(), &args)
        }
        Some(Command::Bench(args)) => bench::run(&args, cli.bootstrap_servers.as_deref()),
        Some(Command::Test(args)) => conformance::run(&args, cli.bootstrap_servers.as_deref()),
        Some(Command::Server(args)) => {
            serve::run(&cli.data_dir, cli.bootstrap_servers.as_deref(), &args)
        }
        Some(Command::Passwd(args)) => serve::passwd(&args),
        Some(Command::Topic(args)) => {
            topic::run(&cli.data_dir, cli.bootstrap_servers.as_deref(), &args)
        }
        None => {
            let target = match cli.server {
                Some(url) => interactive::Target::Remote {
                    url,
                    credentials: cli.user.zip(cli.password),
                },
                None => interactive::Target::Embedded {
                    data_dir: cli.data_dir,
                    bootstrap_servers: cli.bootstrap_servers,
                },
            };
            match (&cli.file, &cli.execute) {
                (Some(path), _) => std::fs::read_to_string(path)
                    .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", path.display()))
                    .and_then(|sql| interactive::run_script(&target, &sql)),
                (None, Some(sql)) => interactive::run_script(&target, sql),
                (None, None) => interactive::run_repl(&target),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error:#}");
            ExitCode::FAILURE
        }
    }
}
