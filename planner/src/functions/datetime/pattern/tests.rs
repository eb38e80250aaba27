//! Tests of Java date-time patterns: compiling, formatting and parsing.

use super::*;

fn format_timestamp(pattern: &str, utc_millis: i64, zone: &str) -> Option<String> {
    let zone = Zone::parse(zone).expect("zone");
    let local = utc_millis + i64::from(zone.offset_seconds(utc_millis)) * 1000;
    DateTimePattern::compile(pattern)?.format(&Moment {
        days: Some(local.div_euclid(MILLIS_PER_DAY)),
        millis_of_day: Some(local.rem_euclid(MILLIS_PER_DAY)),
        zone: Some((&zone, utc_millis)),
    })
}

#[test]
fn formats_java_patterns() {
    let instant = 1_526_075_913_123;
    let cases = [
        ("yyyy-MM-dd HH:mm:ss.SSS", "UTC", "2018-05-11 21:58:33.123"),
        (
            "yyyy-MM-dd HH:mm:ss zzz",
            "America/Los_Angeles",
            "2018-05-11 14:58:33 PDT",
        ),
        (
            "yyyy-MM-dd HH:mm:ss zzz",
            "Europe/London",
            "2018-05-11 22:58:33 BST",
        ),
        (
            "yyyy-MM-dd'T'HH:mm:ssXXX",
            "+05:30",
            "2018-05-12T03:28:33+05:30",
        ),
        ("yyyy-MM-dd'T'HH:mm:ssX", "UTC", "2018-05-11T21:58:33Z"),
        ("yyMMddZ", "-08:00", "180511-0800"),
        (
            "EEE, d MMM yyyy hh:mm a",
            "UTC",
            "Fri, 11 May 2018 09:58 PM",
        ),
        ("EEEE MMMM D", "UTC", "Friday May 131"),
        ("'It''s' h 'o''clock'", "UTC", "It's 9 o'clock"),
        ("yyyy[ VV]", "Asia/Tokyo", "2018 Asia/Tokyo"),
    ];
    for (pattern, zone, expected) in cases {
        assert_eq!(
            format_timestamp(pattern, instant, zone).as_deref(),
            Some(expected),
            "{pattern}"
        );
    }
    assert!(DateTimePattern::compile("yyyy-MM-dd'T").is_none());
    assert!(DateTimePattern::compile("yyyy-bb").is_none());
    let date_only = Moment {
        days: Some(0),
        millis_of_day: None,
        zone: None,
    };
    let pattern = DateTimePattern::compile("HH:mm").expect("valid");
    assert_eq!(pattern.format(&date_only), None);
}

#[test]
fn parses_java_patterns() {
    let cases = [
        (
            "yyyy-MM-dd'T'HH:mm:ss",
            "2018-05-11T21:58:33",
            17662,
            79_113_000,
            None,
        ),
        ("yyyy-MM-dd'Lit'", "2018-05-11lit", 17662, 0, None),
        ("dd-MMM-yyyy", "01-JAN-2022", 18993, 0, None),
        ("MMM-yyyy", "jan-2022", 18993, 0, None),
        ("hh:mm:ss a", "01:00:00 Pm", 0, 46_800_000, None),
        ("HH/mm/ss", "11/05/19", 0, 39_919_000, None),
        (
            "yyyyMMddHHmmssSSS",
            "20180511215833123",
            17662,
            79_113_123,
            None,
        ),
        (
            "yyyy-MM-dd HH:mm:ssXXX",
            "2018-05-11 21:58:33+02:00",
            17662,
            79_113_000,
            Some(7200),
        ),
        ("yyyy-MM-dd[ HH:mm]", "2018-05-11", 17662, 0, None),
        ("d/M/yy", "1/2/03", 12084, 0, None),
    ];
    for (pattern, text, days, millis, offset) in cases {
        let parsed = DateTimePattern::compile(pattern)
            .and_then(|pattern| pattern.parse(text))
            .unwrap_or_else(|| panic!("{pattern} parses {text}"));
        assert_eq!(
            (parsed.days, parsed.millis_of_day),
            (days, millis),
            "{pattern}"
        );
        assert_eq!(
            parsed.zone.map(|zone| zone.offset_seconds(0)),
            offset,
            "{pattern}"
        );
    }
    let bad = [
        ("yyyy-MM-dd", "2018-13-01"),
        ("yyyy-MM-dd", "2018-05-11 extra"),
        ("yyyy-MM-dd", "nope"),
        ("HH:mm", "25:00"),
    ];
    for (pattern, text) in bad {
        let pattern = DateTimePattern::compile(pattern).expect("valid pattern");
        assert!(pattern.parse(text).is_none(), "{text}");
    }
    let zoned = DateTimePattern::compile("yyyy-MM-dd'T'HH:mm:ss zzz")
        .and_then(|pattern| pattern.parse("2018-05-11T21:58:33 PST"))
        .expect("zone name parses");
    assert_eq!(
        zoned.zone.map(|zone| zone.id),
        Some("America/Los_Angeles".to_string())
    );
}
