//! `eddy datagen`: realistic demo records like ksqlDB's datagen quickstarts, written to
//! topics that are created (one partition) when missing.
//!
//! `pageviews`, `users` and `orders` write one topic; `nexmark` (in `datagen/nexmark.rs`)
//! writes Nexmark's bids, auctions and persons to three.

mod nexmark;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use executor::log::now_millis;
use executor::log::partitioner::partition_for_key;
use executor::{Record, TopicLog};
use rand::Rng;

use crate::progress::Progress;
use nexmark::NexmarkGenerator;

/// The quickstarts of one topic each (see `generate`).
const QUICKSTARTS: [&str; 3] = ["pageviews", "users", "orders"];

#[derive(clap::Args)]
pub struct DatagenArgs {
    /// Which dataset: pageviews, users, orders, or nexmark (Nexmark's bids, auctions and
    /// persons, to the topics of those names).
    #[arg(long)]
    quickstart: String,
    /// Topic to write (default: the dataset name; not for nexmark).
    #[arg(long)]
    topic: Option<String>,
    /// Records per second (nexmark: events per second over its three topics, and the rate
    /// at which their `dateTime` advances; default: as fast as possible, and for nexmark's
    /// `dateTime` 10,000 events per second).
    #[arg(long)]
    rate: Option<u64>,
    /// Number of records (nexmark: events over its three topics; default: 1000 without
    /// --rate, unbounded with it).
    #[arg(long)]
    iterations: Option<u64>,
}

/// One generated record of a one-topic quickstart: key text and JSON value.
pub fn generate(
    quickstart: &str,
    rng: &mut impl Rng,
    sequence: u64,
    now_ms: i64,
) -> Result<(String, String)> {
    Ok(match quickstart {
        "pageviews" => {
            let user = format!("User_{}", rng.random_range(1..=9));
            let page = format!("Page_{}", rng.random_range(1..=99));
            let value = serde_json::json!({"viewtime": now_ms, "userid": user, "pageid": page});
            (page, value.to_string())
        }
        "users" => {
            let user = format!("User_{}", rng.random_range(1..=9));
            let region = format!("Region_{}", rng.random_range(1..=9));
            let gender = ["MALE", "FEMALE", "OTHER"][rng.random_range(0..3)];
            let registered = now_ms - rng.random_range(0..31_536_000_000i64);
            let value = serde_json::json!({"registertime": registered, "userid": user, "regionid": region, "gender": gender});
            (user, value.to_string())
        }
        "orders" => {
            let cities = [
                ("Austin", "TX"),
                ("Boston", "MA"),
                ("Denver", "CO"),
                ("Seattle", "WA"),
            ];
            let (city, state) = cities[rng.random_range(0..cities.len())];
            let value = serde_json::json!({
                "ordertime": now_ms,
                "orderid": sequence,
                "itemid": format!("Item_{}", rng.random_range(1..=999)),
                "orderunits": (rng.random_range(1.0..10.0f64) * 100.0).round() / 100.0,
                "address": {"city": city, "state": state, "zipcode": rng.random_range(10000..99999)}
            });
            (sequence.to_string(), value.to_string())
        }
        other => bail!("unknown quickstart \"{other}\": use pageviews, users or orders"),
    })
}

pub fn run(data_dir: &Path, bootstrap_servers: Option<&str>, args: &DatagenArgs) -> Result<()> {
    if args.rate == Some(0) {
        bail!("--rate must be positive");
    }
    let nexmark = args.quickstart == "nexmark";
    let topics: Vec<String> = if nexmark {
        if args.topic.is_some() {
            bail!(
                "--topic does not apply to nexmark: it writes the topics bids, auctions and persons"
            );
        }
        nexmark::TOPICS.map(String::from).to_vec()
    } else if QUICKSTARTS.contains(&args.quickstart.as_str()) {
        vec![
            args.topic
                .clone()
                .unwrap_or_else(|| args.quickstart.clone()),
        ]
    } else {
        bail!(
            "unknown quickstart \"{}\": use pageviews, users, orders or nexmark",
            args.quickstart
        );
    };
    let engine = crate::interactive::open_engine(data_dir, bootstrap_servers)?;
    let log = engine.topic_log();
    let partitions = topics
        .iter()
        .map(|topic| create_topic_if_missing(log.as_ref(), topic))
        .collect::<Result<Vec<u32>>>()?;
    let limit = args.iterations.or(if args.rate.is_some() {
        None
    } else {
        Some(1000)
    });
    let mut rng = rand::rng();
    let nexmark = nexmark.then(|| {
        let events_per_second = args.rate.unwrap_or(nexmark::DEFAULT_EVENTS_PER_SECOND);
        NexmarkGenerator::new(&mut rng, now_millis(), events_per_second)
    });
    let started = Instant::now();
    let mut written = 0u64;
    let mut written_per_topic = vec![0u64; topics.len()];
    let mut progress = Progress::on_stderr();
    while limit.is_none_or(|limit| written < limit) {
        let chunk = match args.rate {
            Some(rate) => rate.clamp(1, 1000),
            None => 1000,
        };
        let chunk = limit.map_or(chunk, |limit| chunk.min(limit - written));
        let now = now_millis();
        let mut batches: Vec<Vec<(u32, Record)>> = topics.iter().map(|_| Vec::new()).collect();
        for sequence in written..written + chunk {
            let (topic, key, value, timestamp) = match &nexmark {
                Some(generator) => {
                    let event = generator.event(&mut rng, sequence);
                    (event.kind as usize, event.key, event.value, event.timestamp)
                }
                None => {
                    let (key, value) = generate(&args.quickstart, &mut rng, sequence, now)?;
                    (0, key, value, now)
                }
            };
            let partition = partition_for_key(key.as_bytes(), partitions[topic]);
            batches[topic].push((
                partition,
                Record {
                    key: Some(key.into_bytes()),
                    value: Some(value.into_bytes()),
                    timestamp,
                    headers: Vec::new(),
                },
            ));
        }
        for ((topic, batch), count) in topics.iter().zip(batches).zip(&mut written_per_topic) {
            if !batch.is_empty() {
                *count += batch.len() as u64;
                log.produce(topic, batch)?;
            }
        }
        written += chunk;
        progress.show(|| match limit {
            Some(limit) => format!("records written: {written}/{limit}"),
            None => format!("records written: {written}"),
        });
        if let Some(rate) = args.rate {
            let due = Duration::from_secs_f64(written as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    progress.clear();
    if nexmark.is_some() {
        let counts: Vec<String> = topics
            .iter()
            .zip(&written_per_topic)
            .map(|(topic, count)| format!("{count} to {topic}"))
            .collect();
        println!("wrote {written} nexmark events: {}", counts.join(", "));
    } else {
        println!(
            "wrote {written} {} records to topic {}",
            args.quickstart, topics[0]
        );
    }
    Ok(())
}

/// Creates `topic` with one partition unless it exists; returns its partition count.
fn create_topic_if_missing(log: &dyn TopicLog, topic: &str) -> Result<u32> {
    if let Some(description) = log.describe_topic(topic)? {
        return Ok(description.partitions);
    }
    log.create_topic(topic, 1, 1)?;
    println!("created topic {topic} with 1 partition");
    Ok(1)
}
