//! `eddy datagen`: realistic demo records like ksqlDB's datagen quickstarts.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use executor::Record;
use executor::log::partitioner::partition_for_key;
use rand::Rng;

#[derive(clap::Args)]
pub struct DatagenArgs {
    /// Which dataset: pageviews, users or orders.
    #[arg(long)]
    quickstart: String,
    /// Topic to write (default: the dataset name).
    #[arg(long)]
    topic: Option<String>,
    /// Records per second (default: as fast as possible).
    #[arg(long)]
    rate: Option<u64>,
    /// Number of records (default: 1000 without --rate, unbounded with it).
    #[arg(long)]
    iterations: Option<u64>,
}

/// One generated record: key text and JSON value.
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
    let topic = args
        .topic
        .clone()
        .unwrap_or_else(|| args.quickstart.clone());
    let engine = crate::interactive::open_engine(data_dir, bootstrap_servers)?;
    let log = engine.topic_log();
    if log.describe_topic(&topic)?.is_none() {
        log.create_topic(&topic, 1, 1)?;
    }
    let partitions = log
        .describe_topic(&topic)?
        .map(|description| description.partitions)
        .unwrap_or(1);
    let limit = args.iterations.or(if args.rate.is_some() {
        None
    } else {
        Some(1000)
    });
    let mut rng = rand::rng();
    let started = Instant::now();
    let mut written = 0u64;
    while limit.is_none_or(|limit| written < limit) {
        let chunk = match args.rate {
            Some(rate) => rate.clamp(1, 1000),
            None => 1000,
        };
        let chunk = limit.map_or(chunk, |limit| chunk.min(limit - written));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis() as i64;
        let mut records = Vec::with_capacity(chunk as usize);
        for index in 0..chunk {
            let (key, value) = generate(&args.quickstart, &mut rng, written + index, now)?;
            let partition = partition_for_key(key.as_bytes(), partitions);
            records.push((
                partition,
                Record {
                    key: Some(key.into_bytes()),
                    value: Some(value.into_bytes()),
                    timestamp: now,
                    headers: Vec::new(),
                },
            ));
        }
        log.produce(&topic, records)?;
        written += chunk;
        if let Some(rate) = args.rate {
            let due = Duration::from_secs_f64(written as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    println!(
        "wrote {written} {} records to topic {topic}",
        args.quickstart
    );
    Ok(())
}
