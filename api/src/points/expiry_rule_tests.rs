//! The expiry rule's days, and the aggregate FIFO computation against a naive queue of lots.

use super::*;
use proptest::prelude::*;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn rule(months: u32) -> ExpiryRule {
    ExpiryRule::new(months).unwrap()
}

#[test]
fn points_expire_the_configured_months_after_the_day_they_were_earned() {
    assert_eq!(rule(36).expires_on(day(2024, 5, 10)), day(2027, 5, 10));
    assert_eq!(rule(12).expires_on(day(2024, 2, 29)), day(2025, 2, 28), "a month end clamps");
    assert_eq!(rule(1).expires_on(day(2025, 1, 31)), day(2025, 2, 28));
    assert_eq!(ExpiryRule::new(0), None);
    assert_eq!(ExpiryRule::new(121), None);
}

#[test]
fn the_first_valid_earning_day_inverts_the_expiry_day() {
    for months in [1, 11, 12, 36] {
        let rule = rule(months);
        let mut date = day(2027, 1, 1);
        while date < day(2029, 1, 1) {
            let first = rule.first_valid_earning_day(date);
            assert!(rule.expires_on(first) > date, "{months}: {first} still valid on {date}");
            let before = first.pred_opt().unwrap();
            assert!(rule.expires_on(before) <= date, "{months}: {before} expired by {date}");
            date = date.succ_opt().unwrap();
        }
    }
}

#[test]
fn shanghai_days_start_at_sixteen_hundred_utc() {
    let start = start_of_day(day(2026, 3, 1));
    assert_eq!(start.to_rfc3339(), "2026-02-28T16:00:00+00:00");
    assert_eq!(shanghai_day(start), day(2026, 3, 1));
    assert_eq!(shanghai_day(start - chrono::Duration::seconds(1)), day(2026, 2, 28));
}

const C1: CommunityId = CommunityId(1);
const C2: CommunityId = CommunityId(2);

fn lot(at: NaiveDate, community: CommunityId, amount_minor: i64) -> Lot {
    Lot { earned_at: start_of_day(at) + chrono::Duration::hours(10), community, amount_minor }
}

#[test]
fn spending_takes_the_oldest_points_so_only_the_unspent_old_ones_expire() {
    let lots = [lot(day(2023, 1, 5), C1, 1000), lot(day(2023, 6, 1), C2, 500), lot(day(2025, 1, 1), C1, 700)];
    let rule = rule(36);
    assert_eq!(due_by(rule, &lots, 0, day(2026, 1, 4)), vec![], "nothing before its day");
    assert_eq!(due_by(rule, &lots, 0, day(2026, 1, 5)), vec![(C1, 1000)]);
    assert_eq!(due_by(rule, &lots, 300, day(2026, 1, 5)), vec![(C1, 700)], "300 were spent from the oldest");
    assert_eq!(due_by(rule, &lots, 1200, day(2026, 6, 1)), vec![(C2, 300)]);
    assert_eq!(due_by(rule, &lots, 1200, day(2028, 1, 1)), vec![(C2, 300), (C1, 700)]);
    assert_eq!(due_by(rule, &lots, 5000, day(2030, 1, 1)), vec![], "everything consumed");
}

#[test]
fn upcoming_lists_each_day_and_what_is_already_past() {
    // 10.00 available: 2.00 already past their day, 3.00 expiring on 03-01, 5.00 valid beyond.
    let today = day(2026, 1, 1);
    let window = [(day(2026, 3, 1), 300), (day(2026, 2, 1), 0)];
    assert_eq!(upcoming(1000, 500, &window, today), vec![(today, 200), (day(2026, 3, 1), 300)]);
    // Spending took the oldest: with 4.00 left, only what the young lots do not cover expires.
    assert_eq!(upcoming(400, 300, &window, today), vec![(day(2026, 3, 1), 100)]);
    assert_eq!(upcoming(0, 500, &window, today), vec![]);
}

/// The naive reference: a queue of lots, each with what was taken from it.
#[derive(Clone, Debug)]
struct RefLot {
    lot: Lot,
    used: i64,
}

#[derive(Default, Debug)]
struct Reference {
    lots: Vec<RefLot>,
    /// Spent and not refunded (refunds undo spending only).
    spent: i64,
}

impl Reference {
    fn available(&self) -> i64 {
        self.lots.iter().map(|l| l.lot.amount_minor - l.used).sum()
    }

    /// Takes `amount` from the oldest lots.
    fn consume(&mut self, mut amount: i64) {
        for l in &mut self.lots {
            let take = (l.lot.amount_minor - l.used).min(amount);
            l.used += take;
            amount -= take;
        }
        assert_eq!(amount, 0, "consumed more than the balance");
    }

    /// A refund gives back what the undone spending took: the consumed prefix shrinks from its end.
    fn unconsume(&mut self, mut amount: i64) {
        for l in self.lots.iter_mut().rev() {
            let give = l.used.min(amount);
            l.used -= give;
            amount -= give;
        }
        assert_eq!(amount, 0);
    }

    /// A take-back lowers its lot; what was taken from that lot beyond its new size is taken from the
    /// oldest points still there instead.
    fn take_back(&mut self, index: usize, amount: i64) {
        let l = &mut self.lots[index];
        l.lot.amount_minor -= amount;
        let excess = (l.used - l.lot.amount_minor).max(0);
        l.used -= excess;
        self.consume(excess);
    }

    fn expire(&mut self, rule: ExpiryRule, date: NaiveDate) -> Vec<(CommunityId, i64)> {
        let mut out: Vec<(CommunityId, i64)> = vec![];
        for l in &mut self.lots {
            if rule.expires_on(shanghai_day(l.lot.earned_at)) <= date && l.used < l.lot.amount_minor {
                let amount = l.lot.amount_minor - l.used;
                l.used = l.lot.amount_minor;
                match out.iter_mut().find(|(c, _)| *c == l.lot.community) {
                    Some((_, total)) => *total += amount,
                    None => out.push((l.lot.community, amount)),
                }
            }
        }
        out
    }

    fn upcoming(&self, rule: ExpiryRule, today: NaiveDate, until: NaiveDate) -> Vec<(NaiveDate, i64)> {
        let mut out: Vec<(NaiveDate, i64)> = vec![];
        for l in &self.lots {
            let remaining = l.lot.amount_minor - l.used;
            let expires = rule.expires_on(shanghai_day(l.lot.earned_at)).max(today);
            if remaining > 0 && expires <= until {
                match out.iter_mut().find(|(d, _)| *d == expires) {
                    Some((_, total)) => *total += remaining,
                    None => out.push((expires, remaining)),
                }
            }
        }
        out.sort();
        out
    }
}

#[derive(Clone, Debug)]
enum Step {
    Earn { community: bool, amount: i64 },
    Spend { share: u8 },
    Refund { share: u8 },
    TakeBack { pick: u16, share: u8 },
}

fn step() -> impl Strategy<Value = (u16, Step)> {
    let op = prop_oneof![
        3 => (any::<bool>(), 1..5_000i64).prop_map(|(community, amount)| Step::Earn { community, amount }),
        3 => (1..=100u8).prop_map(|share| Step::Spend { share }),
        1 => (1..=100u8).prop_map(|share| Step::Refund { share }),
        1 => (any::<u16>(), 1..=100u8).prop_map(|(pick, share)| Step::TakeBack { pick, share }),
    ];
    (0..120u16, op)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Day by day over years, the aggregate (lots net of take-backs, one running `consumed`) expires
    /// exactly what the queue of lots expires, per community, and forecasts what the queue holds.
    #[test]
    fn the_aggregate_matches_a_queue_of_lots(months in 1u32..40, steps in prop::collection::vec(step(), 1..60)) {
        let rule = rule(months);
        let mut reference = Reference::default();
        let mut consumed = 0i64;
        let mut today = day(2024, 1, 1);
        for (advance, op) in steps {
            for _ in 0..advance {
                today = today.succ_opt().unwrap();
                let lots: Vec<Lot> = reference.lots.iter().map(|l| l.lot).collect();
                let due = due_by(rule, &lots, consumed, today);
                prop_assert_eq!(&due, &reference.expire(rule, today), "on {}", today);
                consumed += due.iter().map(|(_, amount)| amount).sum::<i64>();
            }
            let available = reference.available();
            match op {
                Step::Earn { community, amount } => {
                    let community = if community { C1 } else { C2 };
                    let earned_at = start_of_day(today) + chrono::Duration::hours(12);
                    reference.lots.push(RefLot { lot: Lot { earned_at, community, amount_minor: amount }, used: 0 });
                }
                Step::Spend { share } => {
                    let amount = available * i64::from(share) / 100;
                    reference.consume(amount);
                    reference.spent += amount;
                    consumed += amount;
                }
                Step::Refund { share } => {
                    let amount = reference.spent * i64::from(share) / 100;
                    reference.unconsume(amount);
                    reference.spent -= amount;
                    consumed -= amount;
                }
                Step::TakeBack { pick, share } => {
                    if reference.lots.is_empty() {
                        continue;
                    }
                    let index = usize::from(pick) % reference.lots.len();
                    // The ledger refuses a take-back the balance cannot cover.
                    let amount = (reference.lots[index].lot.amount_minor * i64::from(share) / 100).min(available);
                    reference.take_back(index, amount);
                }
            }
            let lots: Vec<Lot> = reference.lots.iter().map(|l| l.lot).collect();
            let until = days_after(today, 90);
            let valid_after: i64 = lots.iter()
                .filter(|l| rule.expires_on(shanghai_day(l.earned_at)) > until).map(|l| l.amount_minor).sum();
            let window: Vec<(NaiveDate, i64)> = lots.iter()
                .map(|l| (rule.expires_on(shanghai_day(l.earned_at)), l.amount_minor))
                .filter(|(d, _)| *d > today && *d <= until).collect();
            prop_assert_eq!(
                upcoming(reference.available(), valid_after, &window, today),
                reference.upcoming(rule, today, until),
                "forecast on {}", today
            );
        }
    }
}
