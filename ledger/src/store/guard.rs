//! The guards of the writes that move an account's balances, and the movements they check.
//!
//! Every such write — one transfer's increment (the transfer-by-transfer replay), a batch's net
//! movement (both backends), PostgreSQL's one statement — carries [`account_guard`]: a closed account
//! refuses new transfers, and a limit flag keeps one side of the account within the other. It is
//! rendered here, once, from the named [`AccountFlags`] bits, so no statement spells a flag bit.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use crate::types::{AccountFlags, AccountId, MAX_BALANCE};

use super::plan::Plan;

const CLOSED: i32 = AccountFlags::CLOSED.bits();
const DEBIT_LIMIT: i32 = AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS.bits();
const CREDIT_LIMIT: i32 = AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS.bits();

/// The limit bits: an account with either needs its exact balance checked by every write.
pub(super) const LIMIT_BITS: i32 = DEBIT_LIMIT | CREDIT_LIMIT;

/// Whether a write is one a closed account refuses (releasing a hold is always allowed).
#[derive(Clone, Copy, Debug)]
pub(super) enum Closed<'a> {
    Refuses,
    /// When this SQL boolean is true.
    RefusesWhen(&'a str),
}

/// What a guarded write adds to one account, as SQL over the statement's parameters or columns.
#[derive(Clone, Copy, Debug)]
pub(super) struct Growth<'a> {
    pub(super) closed: Closed<'a>,
    /// How much the write may add to the account's debits, posted plus pending (never negative);
    /// `None` when the write leaves the debit side alone.
    pub(super) debits: Option<&'a str>,
    /// The same for the credit side.
    pub(super) credits: Option<&'a str>,
}

/// The overdraft/closed guard, a SQL predicate over an account row's columns: the row is not closed
/// (when the write is one closing refuses), and with `DEBITS_MUST_NOT_EXCEED_CREDITS` its debits,
/// posted and pending, stay within its posted credits after `growth` (and the mirror for
/// `CREDITS_MUST_NOT_EXCEED_DEBITS`). Checking the growth alone, without the write's decreases, is
/// pessimistic: when it passes, every order of a batch's transfers does.
pub(super) fn account_guard(growth: &Growth) -> String {
    let mut clauses = vec![match growth.closed {
        Closed::Refuses => format!("(flags & {CLOSED}) = 0"),
        Closed::RefusesWhen(refused) => format!("(NOT {refused} OR (flags & {CLOSED}) = 0)"),
    }];
    if let Some(up) = growth.debits {
        clauses
            .push(format!("((flags & {DEBIT_LIMIT}) = 0 OR debits_posted + debits_pending + {up} <= credits_posted)"));
    }
    if let Some(up) = growth.credits {
        clauses.push(format!(
            "((flags & {CREDIT_LIMIT}) = 0 OR credits_posted + credits_pending + {up} <= debits_posted)"
        ));
    }
    clauses.join(" AND ")
}

/// SQL: the account whose flags are `column` carries a limit flag.
pub(super) fn has_limit(column: &str) -> String {
    format!("{column} & {LIMIT_BITS} <> 0")
}

/// SQL: the account whose flags are `column` carries no limit flag.
pub(super) fn no_limit(column: &str) -> String {
    format!("{column} & {LIMIT_BITS} = 0")
}

/// SQL: the account whose flags are `column` carries no flag at all (open, without limits): no guard
/// needs its exact balance, so its posted amounts may go to a shard (PostgreSQL).
pub(super) fn unflagged(column: &str) -> String {
    format!("{column} = {}", AccountFlags::NONE.bits())
}

/// SQL: the account whose flags are `column` has *debits must not exceed credits* as its only limit
/// (closed or not), so the credits of its holds may go to a shard (PostgreSQL) — when the account is
/// open, or the write (`refuse_closed`, an SQL boolean) is one a closed account allows.
pub(super) fn credit_sharded(column: &str, refuse_closed: &str) -> String {
    format!("({} AND (NOT {refuse_closed} OR ({column} & {CLOSED}) = 0))", only_debit_limit(column))
}

/// SQL: the account row `alias` may keep credits in its shards and some shard holds one.
pub(super) fn has_credit_shards(alias: &str) -> String {
    format!(
        "({} AND EXISTS (SELECT 1 FROM ledger_account_shards cs \
           WHERE cs.account_id = {alias}.id AND (cs.credits_posted <> 0 OR cs.credits_pending <> 0)))",
        only_debit_limit(&format!("{alias}.flags"))
    )
}

/// SQL: *debits must not exceed credits* is the only limit of the account whose flags are `column`,
/// closed or not (the accounts whose hold credits may go to shards).
fn only_debit_limit(column: &str) -> String {
    format!("({column} & ~{CLOSED}) = {DEBIT_LIMIT}")
}

/// SQL: the flags of an account once closed.
pub(super) fn closed_flags() -> String {
    format!("flags | {CLOSED}")
}

/// One increment of one side of one account: a transfer's, or a net movement's (to undo it).
#[derive(Clone, Copy, Debug)]
pub(super) struct Increment {
    pub(super) account: AccountId,
    pub(super) debit_side: bool,
    pub(super) posted: i64,
    pub(super) pending: i64,
}

impl Increment {
    /// What the increment adds to its side, as the guard counts it.
    pub(super) fn growth(&self) -> i64 {
        self.posted.saturating_add(self.pending).max(0)
    }
}

/// The net movement of one account over a batch, and the conservative bounds its guard checks.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Movement {
    pub(super) debits_posted: i64,
    pub(super) debits_pending: i64,
    pub(super) credits_posted: i64,
    pub(super) credits_pending: i64,
    /// Sums of the pending increments alone (for the overflow bound).
    debits_pending_up: i64,
    credits_pending_up: i64,
    /// Sums of the pending releases alone (negative; the pending columns must cover them).
    debits_pending_down: i64,
    credits_pending_down: i64,
    /// Sums over the transfers of max(0, posted + pending increment) on each side: what the flag
    /// guards must allow without counting the batch's own movements on the other side.
    debits_up: i64,
    credits_up: i64,
    /// Whether some transfer of the batch on this account is refused by a closed account.
    pub(super) refuse_closed: bool,
}

/// The columns a batch's movements travel in (`v(…)` in [`MOVEMENT_GUARD`]), in the order of
/// [`Movement::values`] followed by `refuse_closed`.
pub(super) const MOVEMENT_COLUMNS: &str =
    "id, dp, dq, cp, cq, dq_up, cq_up, dq_down, cq_down, d_up, c_up, refuse_closed";

impl Movement {
    fn add(&mut self, debit_side: bool, posted: i64, pending: i64) -> Option<()> {
        let (p, q, up, down, grow) = if debit_side {
            let s = &mut *self;
            (
                &mut s.debits_posted,
                &mut s.debits_pending,
                &mut s.debits_pending_up,
                &mut s.debits_pending_down,
                &mut s.debits_up,
            )
        } else {
            let s = &mut *self;
            (
                &mut s.credits_posted,
                &mut s.credits_pending,
                &mut s.credits_pending_up,
                &mut s.credits_pending_down,
                &mut s.credits_up,
            )
        };
        *p = p.checked_add(posted)?;
        *q = q.checked_add(pending)?;
        if pending > 0 {
            *up = up.checked_add(pending)?;
        } else {
            *down = down.checked_add(pending)?;
        }
        *grow = grow.checked_add(posted.checked_add(pending)?.max(0))?;
        Some(())
    }

    /// Whether the movement only posts (no hold placed or resolved on this account).
    pub(super) fn posted_only(&self) -> bool {
        self.debits_pending_up == 0
            && self.credits_pending_up == 0
            && self.debits_pending_down == 0
            && self.credits_pending_down == 0
    }

    /// Whether the movement only credits the account and places or resolves a hold on it (what a
    /// shop's account sees of a redemption code: the hold, then its capture, void or expiry).
    pub(super) fn hold_credits_only(&self) -> bool {
        self.debits_posted == 0
            && self.debits_pending_up == 0
            && self.debits_pending_down == 0
            && self.debits_up == 0
            && (self.credits_pending_up != 0 || self.credits_pending_down != 0)
    }

    /// Whether the movement only posts credits (the row takes it without knowing the shards).
    pub(super) fn posted_credits_only(&self) -> bool {
        self.posted_only() && self.debits_posted == 0 && self.debits_up == 0
    }

    /// The integer columns of [`MOVEMENT_COLUMNS`] (all but `refuse_closed`).
    pub(super) fn values(&self, id: AccountId) -> [i64; 11] {
        [
            id.0,
            self.debits_posted,
            self.debits_pending,
            self.credits_posted,
            self.credits_pending,
            self.debits_pending_up,
            self.credits_pending_up,
            self.debits_pending_down,
            self.credits_pending_down,
            self.debits_up,
            self.credits_up,
        ]
    }

    /// The two increments the movement applies (to undo them).
    pub(super) fn increments(&self, account: AccountId) -> [Increment; 2] {
        [
            Increment { account, debit_side: true, posted: self.debits_posted, pending: self.debits_pending },
            Increment { account, debit_side: false, posted: self.credits_posted, pending: self.credits_pending },
        ]
    }
}

/// The net movement of every account a batch moves; `None` when a sum overflows (the batch is then
/// applied transfer by transfer, which reports the overflow on the transfer that causes it).
pub(super) fn net_movements(plans: &[&Plan]) -> Option<BTreeMap<AccountId, Movement>> {
    let mut movements: BTreeMap<AccountId, Movement> = BTreeMap::new();
    for plan in plans {
        let (posted, pending) = plan.deltas();
        for (account, debit_side) in [(plan.debit, true), (plan.credit, false)] {
            let movement = movements.entry(account).or_default();
            movement.add(debit_side, posted, pending)?;
            movement.refuse_closed |= plan.refused_by_closed();
        }
    }
    Some(movements)
}

/// The increments a set of net movements applied (to undo them).
pub(super) fn increments_of<'a>(movements: impl Iterator<Item = (&'a AccountId, &'a Movement)>) -> Vec<Increment> {
    movements.flat_map(|(id, m)| m.increments(*id)).collect()
}

/// The guard of a batch's net movement on one account, as SQL over the account's columns and `v`'s
/// ([`MOVEMENT_COLUMNS`]): as if every debit of the batch came before every credit. When that
/// pessimistic order passes, every order does, so the result is the one the transfer-by-transfer path
/// would give.
pub(super) static MOVEMENT_GUARD: LazyLock<String> = LazyLock::new(|| {
    let guard = account_guard(&Growth {
        closed: Closed::RefusesWhen("v.refuse_closed"),
        debits: Some("v.d_up"),
        credits: Some("v.c_up"),
    });
    format!(
        "debits_posted <= {MAX_BALANCE} - v.dp AND credits_posted <= {MAX_BALANCE} - v.cp \
         AND debits_pending <= {MAX_BALANCE} - v.dq_up AND credits_pending <= {MAX_BALANCE} - v.cq_up \
         AND debits_pending + v.dq_down >= 0 AND credits_pending + v.cq_down >= 0 AND {guard}"
    )
});

/// The assignments that apply a batch's net movement `v`.
pub(super) const MOVEMENT_SET: &str = "debits_posted = debits_posted + v.dp, debits_pending = debits_pending + v.dq, \
    credits_posted = credits_posted + v.cp, credits_pending = credits_pending + v.cq";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_names_every_flag_bit_from_account_flags() {
        let guard = account_guard(&Growth { closed: Closed::Refuses, debits: Some(":amount"), credits: None });
        assert_eq!(
            guard,
            format!(
                "(flags & {}) = 0 AND ((flags & {}) = 0 OR debits_posted + debits_pending + :amount <= credits_posted)",
                AccountFlags::CLOSED.bits(),
                AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS.bits()
            )
        );
        let both = account_guard(&Growth { closed: Closed::RefusesWhen("r"), debits: Some("d"), credits: Some("c") });
        assert!(both.starts_with("(NOT r OR (flags & 4) = 0) AND ((flags & 1) = 0 OR"), "{both}");
        assert!(both.ends_with("((flags & 2) = 0 OR credits_posted + credits_pending + c <= debits_posted)"), "{both}");
    }

    #[test]
    fn an_increment_grows_its_side_by_its_positive_sum_only() {
        let inc = |posted, pending| Increment { account: AccountId(1), debit_side: true, posted, pending };
        assert_eq!(inc(5, 3).growth(), 8);
        assert_eq!(inc(5, -7).growth(), 0);
        assert_eq!(inc(0, -2).growth(), 0);
    }
}
