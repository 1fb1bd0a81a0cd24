//! `Points`: an amount of volunteer points, valid once built.
//!
//! Integer hundredths of a point (the ledger's `POINTS` scale), never a float; parsed from and shown as a
//! decimal string with two places ("12.50"); arithmetic is checked, so overflow or a negative result is
//! an error and never a wrap.

use std::fmt;
use std::str::FromStr;

use ehome_ledger::Asset;
use ehome_ledger::types::MAX_BALANCE;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::PointsError;

/// Hundredths of a point in one point.
const MINOR_PER_POINT: i64 = 100;

/// A non-negative amount of points in hundredths, at most the ledger's largest balance, so that any
/// `Points` can be posted or shown as a balance. Zero is a valid balance; the verbs refuse to move it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Points(i64);

impl Points {
    pub const ZERO: Points = Points(0);

    /// Points from hundredths of a point; negative or above the ledger's bound is an error.
    pub fn from_minor(amount_minor: i64) -> Result<Points, PointsError> {
        if !(0..=MAX_BALANCE).contains(&amount_minor) {
            return Err(PointsError::InvalidAmount(amount_minor.to_string()));
        }
        Ok(Points(amount_minor))
    }

    /// A whole number of points (`Points::whole(10)` is "10.00").
    pub fn whole(points: i64) -> Result<Points, PointsError> {
        let minor = points.checked_mul(MINOR_PER_POINT).ok_or(PointsError::AmountOverflow)?;
        Points::from_minor(minor)
    }

    /// Parses a decimal string with at most two places ("12.5", "12.50", "3"); a sign, more places or
    /// anything that is not a number is an error.
    pub fn parse(text: &str) -> Result<Points, PointsError> {
        let trimmed = text.trim();
        if !is_plain_decimal(trimmed) {
            return Err(PointsError::InvalidAmount(text.to_owned()));
        }
        let minor = Asset::Points.parse_minor(trimmed).map_err(|_| PointsError::InvalidAmount(text.to_owned()))?;
        Points::from_minor(minor).map_err(|_| PointsError::InvalidAmount(text.to_owned()))
    }

    /// Hundredths of a point, as the ledger stores them.
    pub fn minor(self) -> i64 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn checked_add(self, other: Points) -> Result<Points, PointsError> {
        let sum = self.0.checked_add(other.0).ok_or(PointsError::AmountOverflow)?;
        Points::from_minor(sum).map_err(|_| PointsError::AmountOverflow)
    }

    /// `self - other`; a result below zero is an error (points are never negative).
    pub fn checked_sub(self, other: Points) -> Result<Points, PointsError> {
        let difference = self.0.checked_sub(other.0).ok_or(PointsError::AmountOverflow)?;
        if difference < 0 {
            return Err(PointsError::NegativeAmount);
        }
        Ok(Points(difference))
    }

    /// `self × factor` (a rate times a count); a negative factor or overflow is an error.
    pub fn checked_mul(self, factor: i64) -> Result<Points, PointsError> {
        if factor < 0 {
            return Err(PointsError::NegativeAmount);
        }
        let product = self.0.checked_mul(factor).ok_or(PointsError::AmountOverflow)?;
        Points::from_minor(product).map_err(|_| PointsError::AmountOverflow)
    }
}

/// Digits, optionally a point and one or two digits: no sign, exponent or separator, which
/// `rust_decimal` would otherwise accept ("1e3").
fn is_plain_decimal(text: &str) -> bool {
    let (whole, places) = text.split_once('.').unwrap_or((text, "0"));
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(places) && places.len() <= 2
}

/// The decimal text of an amount of points in minor units, signed (`-150` → `"-1.50"`): how views
/// show stored amounts, totals and differences.
pub fn points_text(minor: i64) -> String {
    Asset::Points.format_minor(minor)
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&Asset::Points.format_minor(self.0))
    }
}

impl FromStr for Points {
    type Err = PointsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Points::parse(s)
    }
}

/// Serialised as the API shows amounts: a decimal string with two places.
impl Serialize for Points {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Points::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_two_places() {
        assert_eq!(Points::parse("12.5").unwrap().minor(), 1250);
        assert_eq!(Points::parse(" 12.50 ").unwrap().to_string(), "12.50");
        assert_eq!(Points::parse("3").unwrap().to_string(), "3.00");
        assert_eq!(Points::parse("0").unwrap(), Points::ZERO);
        assert_eq!(Points::ZERO.to_string(), "0.00");
        assert_eq!(Points::whole(10).unwrap().to_string(), "10.00");
        assert_eq!("0.05".parse::<Points>().unwrap().minor(), 5);
    }

    #[test]
    fn refuses_signs_extra_places_words_and_overflow() {
        for bad in ["-1", "+1", "1.005", "abc", "", "1e3", "1.", ".5", "1_000", "99999999999999999999"] {
            assert!(Points::parse(bad).is_err(), "{bad:?} parsed");
        }
        assert!(Points::from_minor(-1).is_err());
        assert!(Points::from_minor(MAX_BALANCE + 1).is_err());
        assert!(Points::whole(i64::MAX / 10).is_err());
    }

    #[test]
    fn arithmetic_is_checked() {
        let ten = Points::whole(10).unwrap();
        let three = Points::parse("3.25").unwrap();
        assert_eq!(ten.checked_add(three).unwrap().to_string(), "13.25");
        assert_eq!(ten.checked_sub(three).unwrap().to_string(), "6.75");
        assert!(matches!(three.checked_sub(ten), Err(PointsError::NegativeAmount)));
        assert_eq!(three.checked_mul(4).unwrap().to_string(), "13.00");
        assert!(matches!(three.checked_mul(-1), Err(PointsError::NegativeAmount)));
        let max = Points::from_minor(MAX_BALANCE).unwrap();
        assert!(matches!(max.checked_add(Points::from_minor(1).unwrap()), Err(PointsError::AmountOverflow)));
        assert!(matches!(max.checked_mul(2), Err(PointsError::AmountOverflow)));
    }

    #[test]
    fn serialises_as_a_decimal_string() {
        let p = Points::parse("7.10").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"7.10\"");
        assert_eq!(serde_json::from_str::<Points>("\"7.1\"").unwrap(), p);
        assert!(serde_json::from_str::<Points>("\"-7\"").is_err());
        assert!(serde_json::from_str::<Points>("7").is_err());
    }
}
