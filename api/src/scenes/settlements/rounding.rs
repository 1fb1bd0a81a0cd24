//! Pure: a community's settlement rate (¥ per point) and what a statement's lines come to.
//!
//! Each line is its points × the rate, rounded half-even (banker's rounding) to the fen; the
//! statement's total is the sum of its lines, so the shop is paid exactly what its lines say. The
//! exact product of the total points and the rate is kept beside it, so the difference rounding made
//! is visible rather than hidden.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::points::{Cny, Points};

/// The most decimal places a rate may have (¥0.0001 per point).
pub const RATE_PLACES_MAX: u32 = 4;
/// The largest rate accepted (¥100 per point): a guard against a typo of magnitude.
const RATE_MAX: i64 = 100;

/// ¥ per point, positive, at most four places; parsed from and shown as decimal text ("0.10").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate(Decimal);

impl Rate {
    /// Parses plain decimal text: digits, optionally a point and at most four digits.
    pub fn parse(text: &str) -> Result<Rate, String> {
        let trimmed = text.trim();
        let (whole, places) = trimmed.split_once('.').unwrap_or((trimmed, "0"));
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !digits(places) || places.len() > RATE_PLACES_MAX as usize || whole.len() > 3 {
            return Err(format!("a rate in yuan per point with at most {RATE_PLACES_MAX} places, like 0.10"));
        }
        let rate: Decimal = trimmed.parse().map_err(|_| "not a number".to_owned())?;
        if rate <= Decimal::ZERO || rate > Decimal::from(RATE_MAX) {
            return Err(format!("a rate above 0 and at most {RATE_MAX}"));
        }
        Ok(Rate(rate))
    }

    /// As stored and shown: at least two places ("0.10", "0.125").
    pub fn to_text(self) -> String {
        let mut rate = self.0.normalize();
        if rate.scale() < 2 {
            rate.rescale(2);
        }
        rate.to_string()
    }

    /// The exact value in yuan of `points` at this rate, unrounded.
    pub fn exact(self, points: Points) -> Decimal {
        Decimal::new(points.minor(), 2) * self.0
    }

    /// `points` at this rate in fen, rounded half-even.
    pub fn line(self, points: Points) -> Result<Cny, String> {
        let yuan = self.exact(points).round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
        let fen = (yuan * Decimal::ONE_HUNDRED).trunc();
        let fen = i64::try_from(fen).map_err(|_| "the amount overflows".to_owned())?;
        Cny::from_minor(fen).map_err(|e| e.to_string())
    }
}

/// A statement's amounts: one CNY amount per line, their sum, and the exact total.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reckoning {
    pub lines: Vec<Cny>,
    pub total: Cny,
    pub points: Points,
    /// The total points × the rate, unrounded, as decimal text ("0.045").
    pub exact: String,
}

/// Reckons a statement of `lines` (each a redemption's points) at `rate`; without a rate (a welfare
/// supermarket) every line is ¥0.
pub fn reckon(lines: &[Points], rate: Option<Rate>) -> Result<Reckoning, String> {
    let mut points = Points::ZERO;
    let mut total = Cny::ZERO;
    let mut amounts = Vec::with_capacity(lines.len());
    for line in lines {
        points = points.checked_add(*line).map_err(|e| e.to_string())?;
        let amount = match rate {
            Some(rate) => rate.line(*line)?,
            None => Cny::ZERO,
        };
        total = total.checked_add(amount).map_err(|e| e.to_string())?;
        amounts.push(amount);
    }
    let exact = rate.map_or(Decimal::ZERO, |r| r.exact(points)).normalize().to_string();
    Ok(Reckoning { lines: amounts, total, points, exact })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(text: &str) -> Points {
        Points::parse(text).unwrap()
    }

    #[test]
    fn a_rate_is_plain_positive_decimal_text_with_at_most_four_places() {
        assert_eq!(Rate::parse("0.1").unwrap().to_text(), "0.10");
        assert_eq!(Rate::parse("0.125").unwrap().to_text(), "0.125");
        assert_eq!(Rate::parse("2").unwrap().to_text(), "2.00");
        for bad in ["0", "-0.1", "0.00001", "1e2", "abc", "", "101", ".5", "1."] {
            assert!(Rate::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn lines_round_half_even_to_the_fen_and_the_total_is_their_sum() {
        let rate = Rate::parse("0.01").unwrap();
        // 1.50 points × ¥0.01 = ¥0.015 → ¥0.02 (to even); 2.50 × 0.01 = 0.025 → 0.02 (to even).
        assert_eq!(rate.line(points("1.50")).unwrap().minor(), 2);
        assert_eq!(rate.line(points("2.50")).unwrap().minor(), 2);
        assert_eq!(rate.line(points("3.50")).unwrap().minor(), 4);
        let reckoned = reckon(&[points("1.50"), points("1.50"), points("1.50")], Some(rate)).unwrap();
        assert_eq!(reckoned.lines.iter().map(|c| c.minor()).collect::<Vec<_>>(), vec![2, 2, 2]);
        assert_eq!(reckoned.total.minor(), 6, "the sum of the lines, ¥0.06");
        assert_eq!(reckoned.exact, "0.045", "while 4.50 points × ¥0.01 is ¥0.045 (¥0.04 rounded)");
        assert_eq!(reckoned.points, points("4.50"));
    }

    #[test]
    fn without_a_rate_every_line_is_zero_yuan() {
        let reckoned = reckon(&[points("10"), points("5")], None).unwrap();
        assert_eq!((reckoned.total, reckoned.exact.as_str()), (Cny::ZERO, "0"));
        assert_eq!(reckoned.points, points("15"));
    }
}
