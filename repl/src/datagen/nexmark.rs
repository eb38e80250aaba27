//! The `nexmark` quickstart of `eddy datagen`: Nexmark's persons, auctions and bids.
//!
//! Follows the standard Nexmark generator (Beam / nexmark-flink, default configuration) as
//! the project's benchmark generator does: event ids decide the kind, ids, hot keys, prices
//! and padding; the values are JSON with Nexmark's field names. Writing them is `datagen`'s.

use rand::Rng;

/// The topics of the three streams, by `Kind`.
pub const TOPICS: [&str; 3] = ["bids", "auctions", "persons"];
/// Events per second of event time when `--rate` does not say (Nexmark's default).
pub const DEFAULT_EVENTS_PER_SECOND: u64 = 10_000;

/// Of every `TOTAL_PROPORTION` events, the first `PERSON_PROPORTION` are persons, the next
/// `AUCTION_PROPORTION` auctions and the rest bids.
const PERSON_PROPORTION: u64 = 1;
const AUCTION_PROPORTION: u64 = 3;
const TOTAL_PROPORTION: u64 = 50;
const FIRST_PERSON_ID: u64 = 1000;
const FIRST_AUCTION_ID: u64 = 1000;
const FIRST_CATEGORY_ID: u64 = 10;
const CATEGORIES: u64 = 5;
/// One in this many auctions is of a random (not hot) auction...
const HOT_AUCTION_RATIO: u32 = 2;
/// ... and one in this many bidders and sellers is a random person.
const HOT_BIDDER_RATIO: u32 = 4;
const HOT_SELLER_RATIO: u32 = 4;
/// Hot auctions and persons are the multiples of this (base 0) below the latest one.
const HOT_ID_STRIDE: u64 = 100;
/// One in this many bids comes from a `channel-N` channel instead of a hot one.
const COLD_CHANNEL_RATIO: u32 = 100;
const ACTIVE_PEOPLE: u64 = 1000;
const IN_FLIGHT_AUCTIONS: u64 = 100;
/// Random persons may be up to this many ids past the latest one.
const PERSON_ID_LEAD: u64 = 10;
const CHANNELS: usize = 10_000;
/// Average JSON sizes the `extra` field pads records to, in bytes.
const AVERAGE_PERSON_BYTES: u64 = 200;
const AVERAGE_AUCTION_BYTES: u64 = 500;
const AVERAGE_BID_BYTES: u64 = 100;

const US_STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];
const US_CITIES: [&str; 10] = [
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
];
const FIRST_NAMES: [&str; 11] = [
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter",
];
const LAST_NAMES: [&str; 9] = [
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris",
];
const HOT_CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];
const HOT_URLS: [&str; 4] = [
    "https://www.nexmark.com/googl/item.htm?query=1",
    "https://www.nexmark.com/meta/item.htm?query=1",
    "https://www.nexmark.com/bidu/item.htm?query=1",
    "https://www.nexmark.com/aapl/item.htm?query=1",
];
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Which stream an event belongs to; the index of its topic in `TOPICS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bid = 0,
    Auction = 1,
    Person = 2,
}

/// One generated event: its stream, key text (the auction of a bid, the id of an auction or
/// person), JSON value and timestamp (its `dateTime`).
pub struct NexmarkEvent {
    pub kind: Kind,
    pub key: String,
    pub value: String,
    pub timestamp: i64,
}

/// Generates the event of any event id; event `n` happens `n / events_per_second` seconds
/// after `first_ms` (`events_per_second` is positive).
pub struct NexmarkGenerator {
    first_ms: i64,
    events_per_second: u64,
    /// Name and URL of channel `N`, drawn once.
    channels: Vec<(String, String)>,
}

impl NexmarkGenerator {
    pub fn new(rng: &mut impl Rng, first_ms: i64, events_per_second: u64) -> NexmarkGenerator {
        let channels = (0..CHANNELS)
            .map(|number| {
                let path_length = rng.random_range(3..=5);
                let mut url = format!(
                    "https://www.nexmark.com/{}/item.htm?query=1",
                    random_string(rng, path_length)
                );
                if rng.random_range(0..10) != 9 {
                    let reversed = (number as u32).reverse_bits();
                    url.push_str(&format!("&channel_id={reversed}"));
                }
                (format!("channel-{number}"), url)
            })
            .collect();
        NexmarkGenerator {
            first_ms,
            events_per_second,
            channels,
        }
    }

    /// The event with id `event_id` (ids count events of all three kinds from 0).
    pub fn event(&self, rng: &mut impl Rng, event_id: u64) -> NexmarkEvent {
        let offset = event_id % TOTAL_PROPORTION;
        if offset < PERSON_PROPORTION {
            self.person(rng, event_id)
        } else if offset < PERSON_PROPORTION + AUCTION_PROPORTION {
            self.auction(rng, event_id)
        } else {
            self.bid(rng, event_id)
        }
    }

    /// Event time of `event_id`, in epoch milliseconds.
    fn timestamp(&self, event_id: u64) -> i64 {
        let millis = u128::from(event_id) * 1000 / u128::from(self.events_per_second);
        self.first_ms + i64::try_from(millis).unwrap_or(i64::MAX - self.first_ms)
    }

    fn person(&self, rng: &mut impl Rng, event_id: u64) -> NexmarkEvent {
        let id = last_base0_person_id(event_id) + FIRST_PERSON_ID;
        let name = format!(
            "{} {}",
            FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())],
            LAST_NAMES[rng.random_range(0..LAST_NAMES.len())]
        );
        let email_user = rng.random_range(3..=7);
        let email_domain = rng.random_range(3..=5);
        let email = format!(
            "{}@{}.com",
            random_string(rng, email_user),
            random_string(rng, email_domain)
        );
        let card: [u32; 4] = std::array::from_fn(|_| rng.random_range(0..10_000));
        let city = US_CITIES[rng.random_range(0..US_CITIES.len())];
        let state = US_STATES[rng.random_range(0..US_STATES.len())];
        let timestamp = self.timestamp(event_id);
        let size = 8 + name.len() + email.len() + 19 + city.len() + 2;
        let extra = extra(rng, size as u64, AVERAGE_PERSON_BYTES);
        let value = format!(
            r#"{{"id":{id},"name":"{name}","emailAddress":"{email}","creditCard":"{:04} {:04} {:04} {:04}","city":"{city}","state":"{state}","dateTime":{timestamp},"extra":"{extra}"}}"#,
            card[0], card[1], card[2], card[3]
        );
        NexmarkEvent {
            kind: Kind::Person,
            key: id.to_string(),
            value,
            timestamp,
        }
    }

    fn auction(&self, rng: &mut impl Rng, event_id: u64) -> NexmarkEvent {
        let id = last_base0_auction_id(event_id) + FIRST_AUCTION_ID;
        let seller = if rng.random_range(0..HOT_SELLER_RATIO) > 0 {
            last_base0_person_id(event_id) / HOT_ID_STRIDE * HOT_ID_STRIDE
        } else {
            next_base0_person_id(rng, event_id)
        } + FIRST_PERSON_ID;
        let category = FIRST_CATEGORY_ID + rng.random_range(0..CATEGORIES);
        let initial_bid = next_price(rng);
        let timestamp = self.timestamp(event_id);
        let events_for_auctions = IN_FLIGHT_AUCTIONS * TOTAL_PROPORTION / AUCTION_PROPORTION;
        let horizon = (self.timestamp(event_id + events_for_auctions) - timestamp).max(0);
        let length = 1 + (rng.random::<f64>() * (horizon * 2).max(1) as f64) as i64;
        let item_length = rng.random_range(3..=20);
        let description_length = rng.random_range(3..=100);
        let item = random_string(rng, item_length);
        let description = random_string(rng, description_length);
        let reserve = initial_bid + next_price(rng);
        let size = (8 + item_length + description_length + 24 + 16) as u64;
        let extra = extra(rng, size, AVERAGE_AUCTION_BYTES);
        let value = format!(
            r#"{{"id":{id},"itemName":"{item}","description":"{description}","initialBid":{initial_bid},"reserve":{reserve},"dateTime":{timestamp},"expires":{},"seller":{seller},"category":{category},"extra":"{extra}"}}"#,
            timestamp + length
        );
        NexmarkEvent {
            kind: Kind::Auction,
            key: id.to_string(),
            value,
            timestamp,
        }
    }

    fn bid(&self, rng: &mut impl Rng, event_id: u64) -> NexmarkEvent {
        let auction = if rng.random_range(0..HOT_AUCTION_RATIO) > 0 {
            last_base0_auction_id(event_id) / HOT_ID_STRIDE * HOT_ID_STRIDE
        } else {
            next_base0_auction_id(rng, event_id)
        } + FIRST_AUCTION_ID;
        let bidder = if rng.random_range(0..HOT_BIDDER_RATIO) > 0 {
            last_base0_person_id(event_id) / HOT_ID_STRIDE * HOT_ID_STRIDE + 1
        } else {
            next_base0_person_id(rng, event_id)
        } + FIRST_PERSON_ID;
        let price = next_price(rng);
        let (channel, url) = if rng.random_range(1..=COLD_CHANNEL_RATIO) == COLD_CHANNEL_RATIO {
            let (channel, url) = &self.channels[rng.random_range(0..CHANNELS)];
            (channel.as_str(), url.as_str())
        } else {
            let hot = rng.random_range(0..HOT_CHANNELS.len());
            (HOT_CHANNELS[hot], HOT_URLS[hot])
        };
        let timestamp = self.timestamp(event_id);
        let extra = extra(rng, 32, AVERAGE_BID_BYTES);
        let value = format!(
            r#"{{"auction":{auction},"bidder":{bidder},"price":{price},"channel":"{channel}","url":"{url}","dateTime":{timestamp},"extra":"{extra}"}}"#
        );
        NexmarkEvent {
            kind: Kind::Bid,
            key: auction.to_string(),
            value,
            timestamp,
        }
    }
}

/// The (base 0) id of the latest person at `event_id`.
fn last_base0_person_id(event_id: u64) -> u64 {
    event_id / TOTAL_PROPORTION
}

/// The (base 0) id of the latest auction at `event_id`: its own for an auction, else the
/// last auction before it.
fn last_base0_auction_id(event_id: u64) -> u64 {
    let epoch = event_id / TOTAL_PROPORTION;
    let offset = event_id % TOTAL_PROPORTION;
    if offset < PERSON_PROPORTION {
        // The last auction of the previous epoch (0 before the first).
        epoch.saturating_sub(1) * AUCTION_PROPORTION
            + if epoch == 0 {
                0
            } else {
                AUCTION_PROPORTION - 1
            }
    } else if offset < PERSON_PROPORTION + AUCTION_PROPORTION {
        epoch * AUCTION_PROPORTION + (offset - PERSON_PROPORTION)
    } else {
        epoch * AUCTION_PROPORTION + (AUCTION_PROPORTION - 1)
    }
}

/// A random recently active person, possibly up to `PERSON_ID_LEAD` ids past the latest.
fn next_base0_person_id(rng: &mut impl Rng, event_id: u64) -> u64 {
    let people = last_base0_person_id(event_id) + 1;
    let active = people.min(ACTIVE_PEOPLE);
    let pick = (rng.random::<f64>() * (active + PERSON_ID_LEAD) as f64) as u64;
    people - active + pick
}

/// A random auction among the last `IN_FLIGHT_AUCTIONS`.
fn next_base0_auction_id(rng: &mut impl Rng, event_id: u64) -> u64 {
    let latest = last_base0_auction_id(event_id);
    let earliest = latest.saturating_sub(IN_FLIGHT_AUCTIONS);
    earliest + (rng.random::<f64>() * (latest - earliest + 1) as f64) as u64
}

/// `ceil(10^(6U) * 100)`: from 100 to 100,000,000, log-uniform.
fn next_price(rng: &mut impl Rng) -> u64 {
    (10f64.powf(rng.random::<f64>() * 6.0) * 100.0).ceil() as u64
}

/// Length of the `extra` padding of a record of `size` bytes without it: about `average -
/// size`, give or take 20 %, and none for records already that large.
fn extra_length(rng: &mut impl Rng, size: u64, average: u64) -> usize {
    let wanted = average.saturating_sub(size);
    let delta = (wanted as f64 * 0.2 + 0.5).floor() as u64;
    if size > average || delta == 0 {
        return 0;
    }
    let low = wanted - delta;
    (low + (rng.random::<f64>() * (2 * delta + 1) as f64) as u64) as usize
}

/// The `extra` padding of a record of `size` bytes without it (see `extra_length`).
fn extra(rng: &mut impl Rng, size: u64, average: u64) -> String {
    let length = extra_length(rng, size, average);
    random_string(rng, length)
}

/// `length` random characters of `[A-Za-z0-9]`.
fn random_string(rng: &mut impl Rng, length: usize) -> String {
    (0..length)
        .map(|_| char::from(ALPHANUMERIC[rng.random_range(0..ALPHANUMERIC.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    #[test]
    fn event_ids_map_to_kinds_and_ids_like_the_nexmark_generator() {
        // (event id, kind, id of the person or auction created, latest auction)
        let cases = [
            (0, Kind::Person, Some(1000), 0),
            (1, Kind::Auction, Some(1000), 0),
            (2, Kind::Auction, Some(1001), 1),
            (3, Kind::Auction, Some(1002), 2),
            (4, Kind::Bid, None, 2),
            (49, Kind::Bid, None, 2),
            (50, Kind::Person, Some(1001), 2),
            (51, Kind::Auction, Some(1003), 3),
            (99, Kind::Bid, None, 5),
            (100, Kind::Person, Some(1002), 5),
        ];
        let mut rng = SmallRng::seed_from_u64(7);
        let generator = NexmarkGenerator::new(&mut rng, 0, 10);
        for (event_id, kind, id, latest_auction) in cases {
            let event = generator.event(&mut rng, event_id);
            assert_eq!(event.kind, kind, "event {event_id}");
            assert_eq!(
                last_base0_auction_id(event_id),
                latest_auction,
                "{event_id}"
            );
            let value: serde_json::Value =
                serde_json::from_str(&event.value).expect("the value is JSON");
            if let Some(id) = id {
                assert_eq!(value["id"], id, "event {event_id}: {value}");
            }
            assert_eq!(event.timestamp, event_id as i64 * 100, "event {event_id}");
            assert_eq!(value["dateTime"], event.timestamp, "event {event_id}");
        }
    }

    #[test]
    fn extra_padding_brings_records_near_their_average_size() {
        let mut rng = SmallRng::seed_from_u64(1);
        // (size without padding, average, lowest and highest length)
        let cases = [
            (32, 100, 54, 82),
            (150, 200, 40, 60),
            (200, 200, 0, 0),
            (600, 500, 0, 0),
        ];
        for (size, average, low, high) in cases {
            for _ in 0..1000 {
                let length = extra_length(&mut rng, size, average);
                assert!(
                    (low..=high).contains(&length),
                    "size {size}, average {average}: {length}"
                );
            }
        }
    }

    #[test]
    fn prices_are_log_uniform_between_one_and_a_million_dollars() {
        let mut rng = SmallRng::seed_from_u64(3);
        let prices: Vec<u64> = (0..10_000).map(|_| next_price(&mut rng)).collect();
        assert!(
            prices
                .iter()
                .all(|price| (100..=100_000_000).contains(price))
        );
        // log-uniform: about a sixth of the prices in each decade
        let below_1000 = prices.iter().filter(|price| **price <= 1000).count();
        assert!((1300..2000).contains(&below_1000), "{below_1000}");
    }
}
