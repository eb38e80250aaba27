//! `eddy topic`: kcat-style commands on the topics of the data directory's embedded log, or
//! of the Kafka cluster of `--bootstrap-servers`: list, describe, create, delete, produce
//! lines, consume records.
//!
//! Only the topic log is opened, never the engine's queries. Reading commands (list,
//! describe, consume) open the embedded store as a read-only secondary, so they work while
//! a server or a REPL holds the data directory; writing ones need it free. The consume
//! output format is in `topic/format.rs`.

mod format;

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use executor::log::now_millis;
use executor::log::partitioner::partition_for_record;
use executor::log::{Consumer, KafkaLog};
use executor::{BackendKind, EmbeddedLog, Header, Record, Store, TopicLog};

use format::RecordFormat;

#[derive(clap::Args)]
pub struct TopicArgs {
    #[command(subcommand)]
    command: TopicCommand,
}

#[derive(clap::Subcommand)]
enum TopicCommand {
    /// List topics: partitions and records.
    List,
    /// Show a topic's partitions: start and end offsets, records.
    Describe { topic: String },
    /// Create a topic.
    Create {
        topic: String,
        #[arg(long, default_value_t = 1)]
        partitions: u32,
        /// Replication factor (Kafka; the embedded log keeps one copy).
        #[arg(long, default_value_t = 1)]
        replicas: u16,
    },
    /// Delete a topic and its records (not one a stream or table uses).
    Delete { topic: String },
    /// Write one record per line of stdin (or --file).
    Produce(ProduceArgs),
    /// Print records (from the beginning, up to the end unless --follow).
    Consume(ConsumeArgs),
}

#[derive(clap::Args)]
struct ProduceArgs {
    topic: String,
    /// Read lines from this file instead of stdin.
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// Split each line into key and value at the first occurrence of this delimiter (a line
    /// without it has a null key, as in kcat).
    #[arg(long, short = 'K', value_name = "DELIMITER")]
    key_delimiter: Option<String>,
    /// Write every record to this partition (default: keyed records go to the partition
    /// Kafka's default partitioner picks, keyless ones round robin).
    #[arg(long, short = 'p')]
    partition: Option<u32>,
    /// Add this header to every record (repeatable).
    #[arg(long = "header", short = 'H', value_name = "NAME=VALUE")]
    headers: Vec<String>,
    /// Timestamp of every record, in milliseconds since the epoch (default: now).
    #[arg(long)]
    timestamp: Option<i64>,
    /// Write empty keys and values as null (kcat's -Z): an empty value is a tombstone.
    #[arg(long, short = 'Z')]
    null_empty: bool,
}

#[derive(clap::Args)]
struct ConsumeArgs {
    topic: String,
    /// Start at the beginning of each partition (the default, as in kcat).
    #[arg(long, conflicts_with = "offset")]
    from_beginning: bool,
    /// Where to start in each partition: `beginning`, `end`, an offset N, or -N for the
    /// last N records.
    #[arg(long, short = 'o', allow_hyphen_values = true)]
    offset: Option<String>,
    /// Read only this partition.
    #[arg(long, short = 'p')]
    partition: Option<u32>,
    /// Stop after this many records.
    #[arg(long, short = 'c')]
    max: Option<u64>,
    /// Keep waiting for new records at the end of the topic (default: exit there, as kcat -e).
    #[arg(long)]
    follow: bool,
    /// Output format, with kcat's -f tokens: %t topic, %p partition, %o offset, %k key,
    /// %s value, %T timestamp (ms), %h headers, %K / %S key / value length; \n \t escapes.
    #[arg(long, short = 'f', default_value = "%s\\n")]
    format: String,
}

/// Records of one produce call: large, so the log writes few batches.
const PRODUCE_BATCH_RECORDS: usize = 100_000;
/// Bytes of keys and values of one produce call.
const PRODUCE_BATCH_BYTES: usize = 32 << 20;
/// How long a consumer waits for records before it looks again (and, on the embedded
/// log, catches up with the process writing).
const POLL_TIMEOUT: Duration = Duration::from_millis(200);
/// Records per partition of one poll.
const POLL_RECORDS: usize = 10_000;

pub fn run(data_dir: &Path, bootstrap_servers: Option<&str>, args: &TopicArgs) -> Result<()> {
    let backend = crate::backend_kind(bootstrap_servers, &Default::default())?;
    match &args.command {
        TopicCommand::List => list(&TopicAccess::open(data_dir, backend, false)?),
        TopicCommand::Describe { topic } => {
            describe(&TopicAccess::open(data_dir, backend, false)?, topic)
        }
        TopicCommand::Create {
            topic,
            partitions,
            replicas,
        } => {
            let access = TopicAccess::open(data_dir, backend, true)?;
            if let Some(existing) = access.log.describe_topic(topic)? {
                bail!(
                    "topic \"{topic}\" already exists (with {} partitions)",
                    existing.partitions
                );
            }
            access.log.create_topic(topic, *partitions, *replicas)?;
            println!("created topic {topic} with {partitions} partitions");
            Ok(())
        }
        TopicCommand::Delete { topic } => delete(data_dir, backend, topic),
        TopicCommand::Produce(args) => produce(&TopicAccess::open(data_dir, backend, true)?, args),
        TopicCommand::Consume(args) => consume(TopicAccess::open(data_dir, backend, false)?, args),
    }
}

/// The topic log a command works on.
struct TopicAccess {
    log: Arc<dyn TopicLog>,
    /// The embedded log's store when opened read-only: `refresh` catches up with the
    /// process writing to it.
    secondary: Option<Arc<Store>>,
}

impl TopicAccess {
    /// Opens the log of `backend`: the embedded one writable (locking the data directory)
    /// or read-only, or a connection to the Kafka cluster.
    fn open(data_dir: &Path, backend: BackendKind, writable: bool) -> Result<Self> {
        match backend {
            BackendKind::Kafka(config) => Ok(TopicAccess {
                log: Arc::new(KafkaLog::connect(config)?),
                secondary: None,
            }),
            BackendKind::Embedded if writable => {
                std::fs::create_dir_all(data_dir)
                    .with_context(|| format!("cannot create {}", data_dir.display()))?;
                let store = Store::open(data_dir)?;
                Ok(TopicAccess {
                    log: Arc::new(EmbeddedLog::new(store)?),
                    secondary: None,
                })
            }
            BackendKind::Embedded => {
                let store = Store::open_secondary(data_dir)?;
                Ok(TopicAccess {
                    log: Arc::new(EmbeddedLog::new(Arc::clone(&store))?),
                    secondary: Some(store),
                })
            }
        }
    }

    /// Sees what another process wrote to a read-only embedded log since it was opened;
    /// returns whether the log was reloaded (its consumers must be made again).
    fn refresh(&mut self) -> Result<bool> {
        let Some(store) = &self.secondary else {
            return Ok(false);
        };
        store.catch_up()?;
        self.log = Arc::new(EmbeddedLog::new(Arc::clone(store))?);
        Ok(true)
    }

    /// Per partition `(start, end)` offsets; an unknown topic is an error.
    fn offsets(&self, topic: &str) -> Result<Vec<(u64, u64)>> {
        if self.log.describe_topic(topic)?.is_none() {
            bail!("topic \"{topic}\" does not exist");
        }
        Ok(self.log.offsets(topic)?)
    }
}

fn list(access: &TopicAccess) -> Result<()> {
    let mut rows = vec![[
        "TOPIC".to_string(),
        "PARTITIONS".to_string(),
        "RECORDS".to_string(),
    ]];
    for topic in access.log.list_topics()? {
        let records: u64 = access
            .log
            .offsets(&topic.name)?
            .iter()
            .map(|(start, end)| end - start)
            .sum();
        rows.push([
            topic.name,
            topic.partitions.to_string(),
            records.to_string(),
        ]);
    }
    print_table(&rows)
}

fn describe(access: &TopicAccess, topic: &str) -> Result<()> {
    let offsets = access.offsets(topic)?;
    let records: u64 = offsets.iter().map(|(start, end)| end - start).sum();
    println!(
        "topic {topic}: {} partitions, {records} records",
        offsets.len()
    );
    let mut rows = vec![[
        "PARTITION".to_string(),
        "START".to_string(),
        "END".to_string(),
        "RECORDS".to_string(),
    ]];
    for (partition, (start, end)) in offsets.iter().enumerate() {
        rows.push([
            partition.to_string(),
            start.to_string(),
            end.to_string(),
            (end - start).to_string(),
        ]);
    }
    print_table(&rows)
}

/// Prints rows as left-aligned columns, the first row as the header.
fn print_table<const N: usize>(rows: &[[String; N]]) -> Result<()> {
    let mut widths = [0; N];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    Ok(())
}

/// Deletes `topic` unless a stream, a table or a query's internal topic uses it, as
/// ksqlDB refuses to delete the topic of a source other sources use.
fn delete(data_dir: &Path, backend: BackendKind, topic: &str) -> Result<()> {
    let command_topic = match &backend {
        BackendKind::Kafka(config) => Some(server::command_topic(&config.service_id)),
        BackendKind::Embedded => None,
    };
    if command_topic.as_deref() == Some(topic) {
        bail!("cannot delete topic \"{topic}\": it is the command topic of the Eddy service");
    }
    let engine = server::Engine::open_without_queries(data_dir, backend)
        .context("cannot open the data directory")?;
    let log = engine.topic_log();
    if log.describe_topic(topic)?.is_none() {
        bail!("topic \"{topic}\" does not exist");
    }
    let catalog = engine.catalog();
    // Each user of the topic and the statement that frees it.
    let users: Vec<(String, String)> = catalog
        .sources()
        .filter(|source| source.topic == topic)
        .map(|source| {
            let kind = match source.kind {
                parser::ast::SourceKind::Stream => "STREAM",
                parser::ast::SourceKind::Table => "TABLE",
            };
            (
                format!("{} {}", kind.to_lowercase(), source.name),
                format!("DROP {kind} {} DELETE TOPIC;", source.name),
            )
        })
        .chain(
            catalog
                .queries()
                .filter(|query| query.internal_topics.iter().any(|name| name == topic))
                .map(|query| {
                    (
                        format!("query {}", query.id),
                        format!("TERMINATE {};", query.id),
                    )
                }),
        )
        .collect();
    if let Some((_, statement)) = users.first() {
        let names: Vec<&str> = users.iter().map(|(name, _)| name.as_str()).collect();
        bail!(
            "cannot delete topic \"{topic}\": it is in use by {}\nhint: run {statement}",
            names.join(", ")
        );
    }
    log.delete_topic(topic)?;
    println!("deleted topic {topic}");
    Ok(())
}

/// Splits lines into records and writes them in large batches.
fn produce(access: &TopicAccess, args: &ProduceArgs) -> Result<()> {
    let started = Instant::now();
    let topic = &args.topic;
    let Some(description) = access.log.describe_topic(topic)? else {
        bail!("topic \"{topic}\" does not exist\nhint: create it with `eddy topic create {topic}`");
    };
    let partitions = description.partitions;
    if let Some(partition) = args.partition
        && partition >= partitions
    {
        bail!("partition {partition} of topic \"{topic}\" does not exist: it has {partitions}");
    }
    if args.key_delimiter.as_deref() == Some("") {
        bail!("--key-delimiter must not be empty");
    }
    let headers = args
        .headers
        .iter()
        .map(|header| match header.split_once('=') {
            Some((name, value)) if !name.is_empty() => Ok(Header {
                key: name.to_string(),
                value: Some(value.as_bytes().to_vec()),
            }),
            _ => bail!("header \"{header}\" must be NAME=VALUE"),
        })
        .collect::<Result<Vec<Header>>>()?;
    let input: Box<dyn BufRead> = match &args.file {
        Some(path) => Box::new(std::io::BufReader::with_capacity(
            1 << 20,
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?,
        )),
        None => Box::new(std::io::BufReader::with_capacity(1 << 20, std::io::stdin())),
    };
    let mut producer = LineProducer {
        log: access.log.as_ref(),
        topic,
        partitions,
        args,
        headers,
        batch: Vec::with_capacity(PRODUCE_BATCH_RECORDS),
        batch_bytes: 0,
        round_robin: 0,
        written: 0,
        used: vec![false; partitions as usize],
    };
    producer.produce_lines(input)?;
    let seconds = started.elapsed().as_secs_f64();
    let used = producer.used.iter().filter(|&&used| used).count();
    eprintln!(
        "produced {} records to {used} of {partitions} partitions of topic {topic} in {seconds:.2} s",
        producer.written
    );
    Ok(())
}

/// The state of one `eddy topic produce`.
struct LineProducer<'a> {
    log: &'a dyn TopicLog,
    topic: &'a str,
    partitions: u32,
    args: &'a ProduceArgs,
    headers: Vec<Header>,
    batch: Vec<(u32, Record)>,
    batch_bytes: usize,
    round_robin: u32,
    written: u64,
    /// Which partitions got records.
    used: Vec<bool>,
}

impl LineProducer<'_> {
    fn produce_lines(&mut self, mut input: Box<dyn BufRead>) -> Result<()> {
        let mut line = Vec::with_capacity(1 << 10);
        loop {
            line.clear();
            if input
                .read_until(b'\n', &mut line)
                .context("cannot read the input")?
                == 0
            {
                break;
            }
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            self.push_line(&line);
            if self.batch.len() >= PRODUCE_BATCH_RECORDS || self.batch_bytes >= PRODUCE_BATCH_BYTES
            {
                self.flush()?;
            }
        }
        self.flush()
    }

    fn push_line(&mut self, line: &[u8]) {
        let (key, value) = match self.args.key_delimiter.as_deref().map(str::as_bytes) {
            Some(delimiter) => match find(line, delimiter) {
                Some(at) => (Some(&line[..at]), &line[at + delimiter.len()..]),
                None => (None, line),
            },
            None => (None, line),
        };
        let null_empty = self.args.null_empty;
        let bytes = |bytes: &[u8]| (!(null_empty && bytes.is_empty())).then(|| bytes.to_vec());
        let key = key.and_then(bytes);
        let value = bytes(value);
        let partition = match self.args.partition {
            Some(partition) => partition,
            None => partition_for_record(key.as_deref(), self.partitions, &mut self.round_robin),
        };
        self.batch_bytes += key.as_ref().map_or(0, Vec::len) + value.as_ref().map_or(0, Vec::len);
        self.batch.push((
            partition,
            Record {
                key,
                value,
                timestamp: self.args.timestamp.unwrap_or(0),
                headers: self.headers.clone(),
            },
        ));
    }

    /// Writes the batch: one atomic write on the embedded log, one flush on Kafka.
    fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let mut batch =
            std::mem::replace(&mut self.batch, Vec::with_capacity(PRODUCE_BATCH_RECORDS));
        if self.args.timestamp.is_none() {
            let now = now_millis();
            for (_, record) in &mut batch {
                record.timestamp = now;
            }
        }
        for (partition, _) in &batch {
            self.used[*partition as usize] = true;
        }
        self.written += batch.len() as u64;
        self.batch_bytes = 0;
        self.log.produce(self.topic, batch)?;
        Ok(())
    }
}

/// The first position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() == 1 {
        return haystack.iter().position(|&byte| byte == needle[0]);
    }
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Where consuming starts in each partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StartOffset {
    Beginning,
    End,
    /// This offset (clamped to the partition's range).
    At(u64),
    /// This many records before the end.
    FromEnd(u64),
}

impl StartOffset {
    fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "beginning" => StartOffset::Beginning,
            "end" => StartOffset::End,
            _ => match text.strip_prefix('-') {
                Some(back) => StartOffset::FromEnd(back.parse().ok().with_context(|| {
                    format!("bad --offset \"{text}\": use beginning, end, N or -N")
                })?),
                None => StartOffset::At(text.parse().ok().with_context(|| {
                    format!("bad --offset \"{text}\": use beginning, end, N or -N")
                })?),
            },
        })
    }

    fn resolve(self, (start, end): (u64, u64)) -> u64 {
        match self {
            StartOffset::Beginning => start,
            StartOffset::End => end,
            StartOffset::At(offset) => offset.clamp(start, end),
            StartOffset::FromEnd(back) => end.saturating_sub(back).max(start),
        }
    }
}

/// Prints the records of the chosen partitions until the end (or forever with --follow).
fn consume(mut access: TopicAccess, args: &ConsumeArgs) -> Result<()> {
    let format = RecordFormat::parse(&args.format)?;
    let start = match &args.offset {
        Some(offset) => StartOffset::parse(offset)?,
        None => StartOffset::Beginning,
    };
    let topic = &args.topic;
    let offsets = access.offsets(topic)?;
    let partitions: Vec<u32> = match args.partition {
        Some(partition) if partition as usize >= offsets.len() => bail!(
            "partition {partition} of topic \"{topic}\" does not exist: it has {}",
            offsets.len()
        ),
        Some(partition) => vec![partition],
        None => (0..offsets.len() as u32).collect(),
    };
    // Per chosen partition: the next offset to read and the end to stop at.
    let mut positions: Vec<u64> = partitions
        .iter()
        .map(|&partition| start.resolve(offsets[partition as usize]))
        .collect();
    let ends: Vec<u64> = partitions
        .iter()
        .map(|&partition| offsets[partition as usize].1)
        .collect();
    let mut consumer = assign(&access, topic, &partitions, &positions)?;
    let mut printed = 0u64;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    loop {
        if args.max.is_some_and(|max| printed >= max) {
            break;
        }
        if !args.follow
            && positions
                .iter()
                .zip(&ends)
                .all(|(position, end)| position >= end)
        {
            break;
        }
        let polled = consumer.poll(POLL_RECORDS, POLL_TIMEOUT)?;
        let mut any = false;
        for batch in polled {
            for record in &batch.records {
                if args.max.is_some_and(|max| printed >= max) {
                    break;
                }
                any = true;
                if let Err(error) = format.write(&mut out, topic, record) {
                    return end_of_output(error);
                }
                printed += 1;
                positions[batch.assignment] = record.offset + 1;
            }
            if let Some(position) = consumer.position(batch.assignment) {
                positions[batch.assignment] = positions[batch.assignment].max(position);
            }
        }
        if let Err(error) = out.flush() {
            return end_of_output(error);
        }
        if !any && access.refresh()? {
            if access.log.describe_topic(topic)?.is_none() {
                bail!("topic \"{topic}\" was deleted");
            }
            consumer = assign(&access, topic, &partitions, &positions)?;
        }
    }
    Ok(())
}

/// A consumer of `partitions` of `topic` from `positions`; assignment i is partition i.
fn assign(
    access: &TopicAccess,
    topic: &str,
    partitions: &[u32],
    positions: &[u64],
) -> Result<Box<dyn Consumer>> {
    let mut consumer = Arc::clone(&access.log).consumer()?;
    for (&partition, &position) in partitions.iter().zip(positions) {
        consumer.assign(topic, partition, position)?;
    }
    Ok(consumer)
}

/// A closed stdout (`| head`) ends the command quietly; other write errors are errors.
fn end_of_output(error: std::io::Error) -> Result<()> {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        return Ok(());
    }
    Err(error).context("cannot write the output")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_offsets_parse_and_resolve_within_the_partition() {
        let cases = [
            ("beginning", (5, 20), 5),
            ("end", (5, 20), 20),
            ("7", (5, 20), 7),
            ("2", (5, 20), 5),
            ("99", (5, 20), 20),
            ("-3", (5, 20), 17),
            ("-30", (5, 20), 5),
        ];
        for (text, range, expected) in cases {
            let start = StartOffset::parse(text).expect(text);
            assert_eq!(start.resolve(range), expected, "--offset {text}");
        }
        for bad in ["", "x", "-", "--1", "1.5"] {
            assert!(StartOffset::parse(bad).is_err(), "--offset {bad:?}");
        }
    }

    #[test]
    fn key_delimiters_split_at_the_first_occurrence() {
        assert_eq!(find(b"a:b:c", b":"), Some(1));
        assert_eq!(find(b"a::b", b"::"), Some(1));
        assert_eq!(find(b"abc", b":"), None);
        assert_eq!(find(b"a:", b"::"), None);
    }
}
