//! Timestamps at the JSON boundary.
//!
//! Every time in the contract is RFC 3339, and nearly all of them have the
//! form `2026-11-23T10:00:00Z`. chrono's general parser and formatter handle
//! every form, and cost more than the rest of an entity (13 % of parsing a
//! snapshot went to reading its timestamps). These functions read and write
//! that common form directly and hand anything else to chrono, so the text
//! they accept and produce is exactly chrono's: the tests hold the two
//! against each other.

use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike, Utc};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `at` in the common form, when it has it (no fraction, a four-digit year).
fn common_form(at: &DateTime<Utc>) -> Option<String> {
    let year = u32::try_from(at.year()).ok().filter(|y| *y <= 9999)?;
    if at.nanosecond() != 0 {
        return None;
    }
    let mut out = String::with_capacity(20);
    let mut digits = |value: u32, width: u32, then: char| {
        for place in (0..width).rev() {
            let digit = value / 10u32.pow(place) % 10;
            out.push(char::from_digit(digit, 10).unwrap_or('0'));
        }
        out.push(then);
    };
    digits(year, 4, '-');
    digits(at.month(), 2, '-');
    digits(at.day(), 2, 'T');
    digits(at.hour(), 2, ':');
    digits(at.minute(), 2, ':');
    digits(at.second(), 2, 'Z');
    Some(out)
}

/// Reads the common form; `None` for anything else, valid or not.
fn parse_common(text: &str) -> Option<DateTime<Utc>> {
    let bytes: &[u8; 20] = text.as_bytes().try_into().ok()?;
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b'T', h0, h1, b':', n0, n1, b':', s0, s1, b'Z'] =
        *bytes
    else {
        return None;
    };
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(number(&[y0, y1, y2, y3])?).ok()?;
    NaiveDate::from_ymd_opt(year, number(&[m0, m1])?, number(&[d0, d1])?)?
        .and_hms_opt(number(&[h0, h1])?, number(&[n0, n1])?, number(&[s0, s1])?)
        .map(|at| at.and_utc())
}

/// Parses an RFC 3339 time exactly as chrono's `Deserialize` does.
pub(crate) fn parse(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    match parse_common(text) {
        Some(at) => Ok(at),
        None => text
            .parse::<DateTime<FixedOffset>>()
            .map(|at| at.with_timezone(&Utc)),
    }
}

struct TimeVisitor;

impl Visitor<'_> for TimeVisitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an RFC 3339 formatted date and time string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<DateTime<Utc>, E> {
        parse(value).map_err(E::custom)
    }
}

/// For `#[serde(with = "crate::timestamp")]`.
pub(crate) fn serialize<S: Serializer>(
    at: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match common_form(at) {
        Some(text) => serializer.serialize_str(&text),
        None => at.serialize(serializer),
    }
}

/// For `#[serde(with = "crate::timestamp")]`.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_str(TimeVisitor)
}

/// A time read and written by this module, for the optional fields.
struct Time(DateTime<Utc>);

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Time, D::Error> {
        deserialize(deserializer).map(Time)
    }
}

/// For `#[serde(with = "crate::timestamp::option")]`.
pub(crate) mod option {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        at: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        at.map(Time).serialize(serializer)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<Time>::deserialize(deserializer).map(|at| at.map(|t| t.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    /// Times across the whole range, with and without fractions.
    fn samples() -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut at = DateTime::<Utc>::from_timestamp(-62_167_219_200, 0).unwrap(); // year 0
        let step = TimeDelta::seconds(86_400 * 97 + 3_607 * 13 + 1);
        while at.year() <= 10_001 {
            out.push(at);
            for nanos in [1, 1_000, 1_000_000, 123_456_789, 999_999_999] {
                out.push(at + TimeDelta::nanoseconds(nanos));
            }
            at += step;
        }
        out.push(DateTime::<Utc>::from_timestamp(-62_167_219_201, 0).unwrap()); // year -1
        out
    }

    #[test]
    fn writes_exactly_what_chrono_writes() {
        for at in samples() {
            let ours = serde_json::to_string(&Time(at)).unwrap();
            let chrono = serde_json::to_string(&at).unwrap();
            assert_eq!(ours, chrono, "{at:?}");
        }
    }

    #[test]
    fn reads_exactly_what_chrono_reads() {
        let mut texts: Vec<String> = samples()
            .into_iter()
            .map(|at| serde_json::to_string(&at).unwrap())
            .collect();
        for odd in [
            "\"2026-11-23T10:00:00+02:00\"",
            "\"2026-11-23t10:00:00z\"",
            "\"2026-11-23 10:00:00Z\"",
            "\"2026-02-30T10:00:00Z\"",
            "\"2026-11-23T24:00:00Z\"",
            "\"2026-12-31T23:59:60Z\"",
            "\"2026-11-23T10:00:00\"",
            "\"2026-11-23T10:0a:00Z\"",
            "\"+2026-11-23T10:00:00Z\"",
            "\"\"",
        ] {
            texts.push(odd.to_owned());
        }
        for text in texts {
            let ours = serde_json::from_str::<Time>(&text).map(|t| t.0);
            let chrono = serde_json::from_str::<DateTime<Utc>>(&text);
            match (ours, chrono) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{text}"),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{text}"),
                (a, b) => panic!("{text}: ours {a:?}, chrono {b:?}"),
            }
        }
    }
}
