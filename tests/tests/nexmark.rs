//! `eddy datagen --quickstart nexmark` and the README's "Try Nexmark" section: the command
//! of the section writes a few thousand events (their proportions and fields are checked),
//! then the section's statements run over them and every query's output is checked against
//! what the generated events imply. The statements are read from the README, so it stays true.
//! The same command writes the same shapes to a real Kafka broker (`tests::kafka`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use executor::log::{KafkaConfig, KafkaLog};
use executor::{QueryState, TopicLog};
use serde_json::Value;
use server::{Engine, Session};
use tests::kafka::KafkaBroker;
use tests::{describe_output, execute, pull_rows, run_eddy, wait_until};

/// Events the test generates: 9,200 bids, 600 auctions and 200 persons.
const EVENTS: u64 = 10_000;
/// How long datagen and each query may take on a debug build.
const TIMEOUT: Duration = Duration::from_secs(120);
/// Records read per `read` call.
const READ_CHUNK: usize = 5_000;
const WINDOW_MS: i64 = 10_000;
const HOT_CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];
const STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];

/// The README's "Try Nexmark" section: its `eddy datagen` command and the statements of its
/// `sql` blocks, in order.
fn readme_section() -> Result<(Vec<String>, Vec<String>)> {
    let path = tests::manifest_dir().join("../README.md");
    let readme = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let start = readme
        .find("\n## Try Nexmark\n")
        .context("the README has a \"Try Nexmark\" section")?;
    let section = &readme[start + 1..];
    let section = &section[..section[1..]
        .find("\n## ")
        .map_or(section.len(), |end| end + 1)];
    let command = code_blocks(section, "sh")
        .first()
        .context("the section has an sh block")?
        .lines()
        .find(|line| line.starts_with("eddy "))
        .context("the sh block has an eddy command")?
        .split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect();
    let mut statements = Vec::new();
    let mut statement = String::new();
    for line in code_blocks(section, "sql")
        .iter()
        .flat_map(|block| block.lines())
    {
        if line.trim_start().starts_with("--") || line.trim().is_empty() {
            continue;
        }
        statement.push_str(line);
        statement.push('\n');
        if line.trim_end().ends_with(';') {
            statements.push(std::mem::take(&mut statement));
        }
    }
    ensure!(
        statement.trim().is_empty(),
        "unterminated statement: {statement}"
    );
    Ok((command, statements))
}

/// The bodies of the ```` ```language ```` blocks of `text`.
fn code_blocks<'a>(text: &'a str, language: &str) -> Vec<&'a str> {
    let fence = format!("```{language}\n");
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&fence) {
        rest = &rest[start + fence.len()..];
        let end = rest.find("```").unwrap_or(rest.len());
        blocks.push(&rest[..end]);
        rest = &rest[end..];
    }
    blocks
}

/// The README's datagen command with `--iterations EVENTS`.
fn datagen_arguments(command: &[String]) -> Result<Vec<String>> {
    ensure!(
        command.starts_with(&["datagen".to_string()]),
        "the README's command is `eddy datagen ...`, not {command:?}"
    );
    let mut arguments = command.to_vec();
    let iterations = arguments
        .iter()
        .position(|argument| argument == "--iterations")
        .context("the README's datagen command sets --iterations")?;
    arguments[iterations + 1] = EVENTS.to_string();
    Ok(arguments)
}

/// Runs the README's datagen command for `EVENTS` events (with `options` before it) and
/// checks what it says it wrote.
fn run_datagen(directory: &Path, options: &[&str]) -> Result<()> {
    let (command, _) = readme_section()?;
    let arguments = datagen_arguments(&command)?;
    let arguments: Vec<&str> = options
        .iter()
        .copied()
        .chain(arguments.iter().map(String::as_str))
        .collect();
    let output = run_eddy(directory, &arguments, TIMEOUT)?;
    ensure!(output.status.success(), "{}", describe_output(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "created topic bids with 1 partition",
        "created topic auctions with 1 partition",
        "created topic persons with 1 partition",
        "wrote 10000 nexmark events: 9200 to bids, 600 to auctions, 200 to persons",
    ] {
        ensure!(
            stdout.lines().any(|line| line == expected),
            "datagen did not say {expected:?}\n{}",
            describe_output(&output)
        );
    }
    Ok(())
}

/// The three topics datagen writes, read back.
fn read_nexmark_topics(log: &dyn TopicLog) -> Result<BTreeMap<&'static str, Vec<TopicRecord>>> {
    let mut topics = BTreeMap::new();
    for topic in ["bids", "auctions", "persons"] {
        let description = log
            .describe_topic(topic)?
            .with_context(|| format!("datagen created topic {topic}"))?;
        assert_eq!(description.partitions, 1, "{topic} partitions");
        topics.insert(topic, read_topic(log, topic)?);
    }
    Ok(topics)
}

/// One record of a topic: key text, JSON value, timestamp.
struct TopicRecord {
    key: Option<Vec<u8>>,
    value: Value,
    timestamp: i64,
}

/// Every record of `topic`, partition by partition.
fn read_topic(log: &dyn TopicLog, topic: &str) -> Result<Vec<TopicRecord>> {
    let mut records = Vec::new();
    for (partition, (start, end)) in (0u32..).zip(log.offsets(topic)?) {
        let mut next = start;
        while next < end {
            let chunk = log.read(topic, partition, next, READ_CHUNK)?;
            let Some(last) = chunk.last() else {
                bail!("{topic} partition {partition} ends at {next}, not {end}");
            };
            next = last.offset + 1;
            for consumed in chunk {
                let value = consumed
                    .record
                    .value
                    .as_deref()
                    .with_context(|| format!("{topic} has a record without a value"))?;
                records.push(TopicRecord {
                    key: consumed.record.key,
                    value: serde_json::from_slice(value)
                        .with_context(|| format!("{topic}: a value is not JSON"))?,
                    timestamp: consumed.record.timestamp,
                });
            }
        }
    }
    Ok(records)
}

/// `value[field]` as an integer.
fn int(value: &Value, field: &str) -> i64 {
    value[field]
        .as_i64()
        .unwrap_or_else(|| panic!("{field} is an integer in {value}"))
}

/// `value[field]` as a string.
fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is a string in {value}"))
}

/// The fields of each kind of event, with whether they are strings (else integers).
const FIELDS: [(&str, &[(&str, bool)]); 3] = [
    (
        "bids",
        &[
            ("auction", false),
            ("bidder", false),
            ("price", false),
            ("channel", true),
            ("url", true),
            ("dateTime", false),
            ("extra", true),
        ],
    ),
    (
        "auctions",
        &[
            ("id", false),
            ("itemName", true),
            ("description", true),
            ("initialBid", false),
            ("reserve", false),
            ("dateTime", false),
            ("expires", false),
            ("seller", false),
            ("category", false),
            ("extra", true),
        ],
    ),
    (
        "persons",
        &[
            ("id", false),
            ("name", true),
            ("emailAddress", true),
            ("creditCard", true),
            ("city", true),
            ("state", true),
            ("dateTime", false),
            ("extra", true),
        ],
    ),
];

/// Checks what datagen wrote: counts, field names and types, value ranges, hot keys and
/// sizes as the Nexmark generator makes them.
fn check_generated(topics: &BTreeMap<&str, Vec<TopicRecord>>) {
    let counts: Vec<(&str, usize)> = ["bids", "auctions", "persons"]
        .iter()
        .map(|topic| (*topic, topics[topic].len()))
        .collect();
    // Of every 50 events, 1 person, 3 auctions, 46 bids.
    assert_eq!(
        counts,
        [("bids", 9_200), ("auctions", 600), ("persons", 200)],
        "events per topic"
    );
    for (topic, fields) in FIELDS {
        let mut previous = i64::MIN;
        let mut bytes = 0;
        for record in &topics[topic] {
            let object = record.value.as_object().expect("a JSON object");
            let names: Vec<&str> = object.keys().map(String::as_str).collect();
            let mut expected: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
            expected.sort_unstable();
            let mut names_sorted = names.clone();
            names_sorted.sort_unstable();
            assert_eq!(names_sorted, expected, "{topic}: {}", record.value);
            for (name, is_text) in fields {
                assert_eq!(object[*name].is_string(), *is_text, "{topic}.{name}");
                assert!(object[*name].is_string() || object[*name].is_i64());
            }
            let time = int(&record.value, "dateTime");
            assert_eq!(record.timestamp, time, "{topic}: the timestamp is dateTime");
            assert!(time >= previous, "{topic}: dateTime never goes back");
            previous = time;
            bytes += record.value.to_string().len();
        }
        // `extra` pads records to Nexmark's average sizes (100, 500 and 200 bytes, not
        // counting JSON's field names); the project's benchmark data averages 225, 623 and
        // 310 bytes of JSON.
        let average = bytes / topics[topic].len();
        let (low, high) = match topic {
            "bids" => (200, 250),
            "auctions" => (570, 680),
            _ => (280, 340),
        };
        assert!(
            (low..=high).contains(&average),
            "{topic}: average value of {average} bytes"
        );
    }
    // 10,000 events at 10,000 events per second of event time span one second.
    let times: Vec<i64> = ["bids", "auctions", "persons"]
        .iter()
        .flat_map(|topic| topics[topic].iter().map(|record| record.timestamp))
        .collect();
    let span = times.iter().max().expect("events") - times.iter().min().expect("events");
    assert_eq!(
        span, 999,
        "event time spans 10,000 events at 10 per millisecond"
    );

    let persons = &topics["persons"];
    let ids: Vec<i64> = persons
        .iter()
        .map(|person| int(&person.value, "id"))
        .collect();
    assert_eq!(ids, (1000..1200).collect::<Vec<_>>(), "person ids");
    for person in persons {
        let value = &person.value;
        assert!(STATES.contains(&text(value, "state")), "{value}");
        let card = text(value, "creditCard");
        assert!(
            card.len() == 19 && card.split(' ').all(|group| group.len() == 4),
            "{card}"
        );
        assert!(text(value, "emailAddress").ends_with(".com"), "{value}");
        assert_eq!(person.key.as_deref(), Some(ids_key(value, "id").as_bytes()));
    }
    let auctions = &topics["auctions"];
    let ids: Vec<i64> = auctions
        .iter()
        .map(|auction| int(&auction.value, "id"))
        .collect();
    assert_eq!(ids, (1000..1600).collect::<Vec<_>>(), "auction ids");
    let mut hot_sellers = 0;
    for auction in auctions {
        let value = &auction.value;
        assert!((10..15).contains(&int(value, "category")), "{value}");
        assert!(int(value, "initialBid") >= 100, "{value}");
        assert!(int(value, "reserve") > int(value, "initialBid"), "{value}");
        assert!(int(value, "expires") > int(value, "dateTime"), "{value}");
        assert!((1000..1210).contains(&int(value, "seller")), "{value}");
        hot_sellers += usize::from(int(value, "seller") % 100 == 0);
    }
    // Three in four sellers are hot (1000 or 1100); a random one is rarely a multiple of 100.
    assert!(
        (400..=520).contains(&hot_sellers),
        "{hot_sellers} hot sellers"
    );
    let (mut hot_auctions, mut hot_bidders, mut hot_channels) = (0, 0, 0);
    for bid in &topics["bids"] {
        let value = &bid.value;
        let price = int(value, "price");
        assert!((100..=100_000_000).contains(&price), "{value}");
        assert!((1000..1600).contains(&int(value, "auction")), "{value}");
        assert_eq!(
            bid.key.as_deref(),
            Some(ids_key(value, "auction").as_bytes())
        );
        hot_auctions += usize::from(int(value, "auction") % 100 == 0);
        hot_bidders += usize::from(int(value, "bidder") % 100 == 1);
        let (channel, url) = (text(value, "channel"), text(value, "url"));
        assert!(url.starts_with("https://www.nexmark.com/"), "{value}");
        if HOT_CHANNELS.contains(&channel) {
            hot_channels += 1;
        } else {
            let number: u32 = channel
                .strip_prefix("channel-")
                .and_then(|number| number.parse().ok())
                .unwrap_or_else(|| panic!("a hot channel or channel-N: {value}"));
            assert!(number < 10_000, "{value}");
        }
    }
    // Half the auctions and three in four bidders are hot; 99 % of channels.
    assert!((4_300..=5_000).contains(&hot_auctions), "{hot_auctions}");
    assert!((6_600..=7_300).contains(&hot_bidders), "{hot_bidders}");
    assert!((8_950..=9_170).contains(&hot_channels), "{hot_channels}");
}

/// The key datagen writes for an event: the decimal text of `value[field]`.
fn ids_key(value: &Value, field: &str) -> String {
    int(value, field).to_string()
}

/// Runs `statement` and waits until every persistent query has caught up.
fn execute_and_catch_up(engine: &Engine, session: &mut Session, statement: &str) -> Result<()> {
    execute(engine, session, statement);
    wait_until(TIMEOUT, "the persistent queries to catch up", || {
        Ok(engine.queries_caught_up()?)
    })?;
    for (id, state) in engine.query_states() {
        if let QueryState::Error(message) = state {
            bail!("query {id} failed: {message}");
        }
    }
    Ok(())
}

/// A pull query's rows, each cell parsed as JSON.
fn pull(engine: &Engine, session: &mut Session, sql: &str) -> Vec<Vec<Value>> {
    pull_rows(engine, session, sql)
        .1
        .iter()
        .map(|row| {
            row.split(" | ")
                .map(|cell| serde_json::from_str(cell).expect("a JSON cell"))
                .collect()
        })
        .collect()
}

#[test]
fn nexmark_quickstart_feeds_the_readme_queries() -> Result<()> {
    let (_, statements) = readme_section()?;
    let directory = tempfile::tempdir()?;
    run_datagen(directory.path(), &[])?;
    let engine = Engine::open(directory.path())?;
    let log = engine.topic_log();
    let topics = read_nexmark_topics(log.as_ref())?;
    check_generated(&topics);

    // Each statement starts once the queries before it have caught up, as the section says
    // to do for Q3; its pull queries (the reads) each return rows.
    let mut session = Session::default();
    let (reads, creates): (Vec<&String>, Vec<&String>) = statements
        .iter()
        .partition(|statement| statement.starts_with("SELECT "));
    for statement in &creates {
        execute_and_catch_up(&engine, &mut session, statement)?;
    }
    assert_eq!(reads.len(), 3, "the section reads Q7, Q5 and Q3: {reads:?}");
    for read in reads {
        let rows = pull(&engine, &mut session, read);
        assert!(!rows.is_empty(), "{read} returns rows");
        assert!(rows.len() <= 5, "{read} returns a few rows: {rows:?}");
    }
    let names: BTreeSet<String> = creates
        .iter()
        .filter_map(|statement| statement.split_whitespace().nth(2))
        .map(str::to_uppercase)
        .collect();
    let expected_names: BTreeSet<String> = [
        "AUCTIONS", "BIDS", "PERSONS", "PERSON_T", "Q0", "Q1", "Q2", "Q3", "Q5", "Q7",
    ]
    .map(String::from)
    .into();
    assert_eq!(names, expected_names, "the section's statements");

    let bids: Vec<&Value> = topics["bids"].iter().map(|bid| &bid.value).collect();

    // Q0: every bid, unchanged.
    let q0 = read_topic(log.as_ref(), "Q0")?;
    assert_eq!(q0.len(), bids.len(), "Q0 rows");
    for (row, bid) in q0.iter().zip(&bids) {
        for field in ["auction", "bidder", "price", "dateTime"] {
            assert_eq!(
                row.value[field.to_uppercase()],
                bid[field],
                "Q0 {field}: {}",
                row.value
            );
        }
        for field in ["channel", "url", "extra"] {
            assert_eq!(row.value[field.to_uppercase()], bid[field], "Q0 {field}");
        }
    }

    // Q1: every bid, its price times 0.908.
    let q1 = read_topic(log.as_ref(), "Q1")?;
    assert_eq!(q1.len(), bids.len(), "Q1 rows");
    for (row, bid) in q1.iter().zip(&bids) {
        let euros = row.value["PRICE_EUR"]
            .as_f64()
            .unwrap_or_else(|| panic!("Q1 PRICE_EUR is a number: {}", row.value));
        let expected = int(bid, "price") as f64 * 0.908;
        assert!(
            (euros - expected).abs() < 1e-6 * expected,
            "Q1: {euros} for price {}",
            bid["price"]
        );
        assert_eq!(row.value["AUCTION"], bid["auction"], "Q1 auction");
    }

    // Q2: the bids on auctions that are multiples of 123.
    let q2: Vec<(i64, i64)> = read_topic(log.as_ref(), "Q2")?
        .iter()
        .map(|row| (int(&row.value, "AUCTION"), int(&row.value, "PRICE")))
        .collect();
    let expected: Vec<(i64, i64)> = bids
        .iter()
        .filter(|bid| int(bid, "auction") % 123 == 0)
        .map(|bid| (int(bid, "auction"), int(bid, "price")))
        .collect();
    assert!(
        !expected.is_empty(),
        "some bids are on auctions 1107, 1230, ..."
    );
    assert!(q2.iter().all(|(auction, _)| auction % 123 == 0), "{q2:?}");
    assert_eq!(q2, expected, "Q2 rows");

    // Q5: bids per auction and 10-second window.
    let mut expected: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    for bid in &bids {
        let time = int(bid, "dateTime");
        *expected
            .entry((int(bid, "auction"), time - time % WINDOW_MS))
            .or_default() += 1;
    }
    let q5: BTreeMap<(i64, i64), i64> = pull(
        &engine,
        &mut session,
        "SELECT auction, WINDOWSTART, num FROM q5;",
    )
    .iter()
    .map(|row| {
        let cell = |index: usize| row[index].as_i64().expect("an integer cell");
        ((cell(0), cell(1)), cell(2))
    })
    .collect();
    assert_eq!(q5.values().sum::<i64>(), bids.len() as i64, "Q5 counts");
    assert_eq!(q5, expected, "Q5 rows");

    // Q7: the highest price per 10-second window.
    let mut expected: BTreeMap<i64, i64> = BTreeMap::new();
    for bid in &bids {
        let time = int(bid, "dateTime");
        let highest = expected.entry(time - time % WINDOW_MS).or_default();
        *highest = (*highest).max(int(bid, "price"));
    }
    let q7: BTreeMap<i64, i64> = pull(
        &engine,
        &mut session,
        "SELECT WINDOWSTART, max_price FROM q7;",
    )
    .iter()
    .map(|row| {
        (
            row[0].as_i64().expect("WINDOWSTART"),
            row[1].as_i64().expect("MAX_PRICE"),
        )
    })
    .collect();
    assert_eq!(q7, expected, "Q7 rows");

    // Q3: the category-10 auctions whose seller lives in OR, ID or CA, with the seller's
    // row. Each auction meets the person table as it is when the auction is processed:
    // a seller whose person event is not older than the auction may be missing.
    let persons: BTreeMap<i64, &TopicRecord> = topics["persons"]
        .iter()
        .map(|person| (int(&person.value, "id"), person))
        .collect();
    let mut joined_earlier = BTreeSet::new();
    let mut joinable = BTreeSet::new();
    for auction in &topics["auctions"] {
        let value = &auction.value;
        let Some(person) = persons.get(&int(value, "seller")) else {
            continue;
        };
        if int(value, "category") != 10
            || !["OR", "ID", "CA"].contains(&text(&person.value, "state"))
        {
            continue;
        }
        let row = (
            int(value, "id"),
            text(&person.value, "name").to_string(),
            text(&person.value, "city").to_string(),
            text(&person.value, "state").to_string(),
        );
        if person.timestamp < auction.timestamp {
            joined_earlier.insert(row.clone());
        }
        joinable.insert(row);
    }
    let q3: BTreeSet<(i64, String, String, String)> = read_topic(log.as_ref(), "Q3")?
        .iter()
        .map(|row| {
            (
                int(&row.value, "ID"),
                text(&row.value, "NAME").to_string(),
                text(&row.value, "CITY").to_string(),
                text(&row.value, "STATE").to_string(),
            )
        })
        .collect();
    assert!(
        !joined_earlier.is_empty(),
        "some auctions have a seller to join"
    );
    assert!(
        q3.is_subset(&joinable),
        "Q3 rows that no person explains: {:?}",
        q3.difference(&joinable).collect::<Vec<_>>()
    );
    assert!(
        joined_earlier.is_subset(&q3),
        "Q3 misses auctions whose seller was known before them: {:?}",
        joined_earlier.difference(&q3).collect::<Vec<_>>()
    );
    Ok(())
}

#[test]
fn nexmark_quickstart_writes_to_kafka() -> Result<()> {
    let broker = KafkaBroker::start()?;
    let directory = tempfile::tempdir()?;
    run_datagen(
        directory.path(),
        &["--bootstrap-servers", &broker.bootstrap()],
    )?;
    let properties = BTreeMap::from([("bootstrap.servers".to_string(), broker.bootstrap())]);
    let config = KafkaConfig::from_properties(&properties)?.context("Kafka is configured")?;
    let log = KafkaLog::connect(config)?;
    check_generated(&read_nexmark_topics(&log)?);
    Ok(())
}

#[test]
fn datagen_refuses_a_topic_for_nexmark_unknown_quickstarts_and_a_zero_rate() -> Result<()> {
    let cases: [(&[&str], &str); 3] = [
        (
            &["datagen", "--quickstart", "nexmark", "--topic", "t"],
            "--topic does not apply to nexmark: it writes the topics bids, auctions and persons",
        ),
        (
            &["datagen", "--quickstart", "nope"],
            "unknown quickstart \"nope\": use pageviews, users, orders or nexmark",
        ),
        (
            &["datagen", "--quickstart", "nexmark", "--rate", "0"],
            "--rate must be positive",
        ),
    ];
    for (arguments, error) in cases {
        let directory = tempfile::tempdir()?;
        let output = run_eddy(directory.path(), arguments, TIMEOUT)?;
        assert!(!output.status.success(), "{}", describe_output(&output));
        assert_eq!(
            String::from_utf8_lossy(&output.stderr).trim(),
            error,
            "{arguments:?}"
        );
        assert!(
            std::fs::read_dir(directory.path())?.next().is_none(),
            "{arguments:?}: the data directory stays empty"
        );
    }
    Ok(())
}
