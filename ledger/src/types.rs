//! Pure value types of the ledger: assets, amounts, ids, flags and the requests callers build.
//!
//! Nothing here touches the database; everything is unit-tested below.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::LedgerError;

/// Largest value any running balance column may reach.
///
/// A quarter of `i64::MAX`, so that the sum of any two balance columns (which the guards and the
/// database's CHECK constraints compute) can never overflow on either backend. SQLite would silently
/// turn an overflowing integer into a float; PostgreSQL would abort the transaction.
pub const MAX_BALANCE: i64 = i64::MAX / 4;

/// What an account holds. Each asset has a fixed scale: the number of decimal places of its minor unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Asset {
    /// Volunteer points, in hundredths of a point.
    #[serde(rename = "POINTS")]
    Points,
    /// Renminbi, in fen.
    #[serde(rename = "CNY")]
    Cny,
}

impl Asset {
    pub const ALL: [Asset; 2] = [Asset::Points, Asset::Cny];

    /// The stable code stored in the database and shown in exports.
    pub fn code(self) -> &'static str {
        match self {
            Asset::Points => "POINTS",
            Asset::Cny => "CNY",
        }
    }

    /// Decimal places of the minor unit.
    pub fn scale(self) -> u32 {
        match self {
            Asset::Points | Asset::Cny => 2,
        }
    }

    /// Formats an amount of minor units as a decimal string with exactly `scale` places ("12.50").
    pub fn format_minor(self, amount_minor: i64) -> String {
        Decimal::new(amount_minor, self.scale()).to_string()
    }

    /// Parses a decimal string into minor units; more places than the scale, or overflow, is an error.
    pub fn parse_minor(self, text: &str) -> Result<i64, LedgerError> {
        let value = Decimal::from_str(text.trim()).map_err(|_| LedgerError::InvalidAmount(text.to_owned()))?;
        self.decimal_to_minor(value).ok_or_else(|| LedgerError::InvalidAmount(text.to_owned()))
    }

    /// Converts a decimal to minor units, refusing values with more places than the scale.
    pub fn decimal_to_minor(self, value: Decimal) -> Option<i64> {
        let factor = Decimal::from(10i64.checked_pow(self.scale())?);
        let scaled = value.checked_mul(factor)?;
        if scaled.fract() != Decimal::ZERO {
            return None;
        }
        i64::try_from(scaled).ok()
    }

    /// Converts minor units to a decimal with the asset's scale.
    pub fn minor_to_decimal(self, amount_minor: i64) -> Decimal {
        Decimal::new(amount_minor, self.scale())
    }
}

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Asset {
    type Err = LedgerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "POINTS" => Ok(Asset::Points),
            "CNY" => Ok(Asset::Cny),
            other => Err(LedgerError::UnknownAsset(other.to_owned())),
        }
    }
}

/// A positive amount of minor units, small enough that no balance can overflow by adding it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Amount(i64);

impl Amount {
    /// Parses a raw number of minor units: zero and negatives are rejected, and so is anything above
    /// [`MAX_BALANCE`].
    pub fn new(minor: i64) -> Result<Self, LedgerError> {
        if minor <= 0 {
            return Err(LedgerError::AmountNotPositive(minor));
        }
        if minor > MAX_BALANCE {
            return Err(LedgerError::AmountOverflow);
        }
        Ok(Amount(minor))
    }

    pub fn get(self) -> i64 {
        self.0
    }

    /// Adds two amounts; overflow past [`MAX_BALANCE`] is an error, never a wrap.
    pub fn checked_add(self, other: Amount) -> Result<Amount, LedgerError> {
        let sum = self.0.checked_add(other.0).ok_or(LedgerError::AmountOverflow)?;
        Amount::new(sum)
    }
}

impl TryFrom<i64> for Amount {
    type Error = LedgerError;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Amount::new(value)
    }
}

impl From<Amount> for i64 {
    fn from(value: Amount) -> Self {
        value.0
    }
}

/// Database id of an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(pub i64);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Client-chosen id of a transfer (a UUID).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TransferId(pub Uuid);

/// Namespace for ids derived from idempotency keys (UUID v5 over the key).
const IDEMPOTENCY_NAMESPACE: Uuid = Uuid::from_u128(0x6b1d_2f6e_8c0a_4e57_9d3b_1f7a_52c4_e901);

impl TransferId {
    /// A fresh random id, ordered by time (UUID v7).
    pub fn new() -> Self {
        TransferId(Uuid::now_v7())
    }

    /// The id that an idempotency key always maps to, so that every retry of the same key, from any
    /// API instance, names the same transfer.
    pub fn from_idempotency_key(key: &str) -> Self {
        TransferId(Uuid::new_v5(&IDEMPOTENCY_NAMESPACE, key.as_bytes()))
    }

    /// Hyphenated lower-case text, as stored.
    pub fn to_text(self) -> String {
        self.0.hyphenated().to_string()
    }

    pub fn parse(text: &str) -> Result<Self, LedgerError> {
        Uuid::parse_str(text).map(TransferId).map_err(|_| LedgerError::InvalidTransferId(text.to_owned()))
    }
}

impl Default for TransferId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for TransferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

/// TigerBeetle-style account flags, stored as a small bit set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountFlags(i32);

impl AccountFlags {
    /// The account's debits (posted and pending) may never exceed its posted credits:
    /// a resident's points balance can never go negative.
    pub const DEBITS_MUST_NOT_EXCEED_CREDITS: AccountFlags = AccountFlags(1);
    /// The account's credits (posted and pending) may never exceed its posted debits.
    pub const CREDITS_MUST_NOT_EXCEED_DEBITS: AccountFlags = AccountFlags(2);
    /// The account takes part in no new transfer.
    pub const CLOSED: AccountFlags = AccountFlags(4);
    pub const NONE: AccountFlags = AccountFlags(0);

    pub fn from_bits(bits: i32) -> Result<Self, LedgerError> {
        if (0..8).contains(&bits) && bits & 3 != 3 {
            Ok(AccountFlags(bits))
        } else {
            Err(LedgerError::InvalidFlags(bits))
        }
    }

    pub const fn bits(self) -> i32 {
        self.0
    }

    pub fn contains(self, other: AccountFlags) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn union(self, other: AccountFlags) -> AccountFlags {
        AccountFlags(self.0 | other.0)
    }

    pub fn debits_must_not_exceed_credits(self) -> bool {
        self.contains(Self::DEBITS_MUST_NOT_EXCEED_CREDITS)
    }

    pub fn credits_must_not_exceed_debits(self) -> bool {
        self.contains(Self::CREDITS_MUST_NOT_EXCEED_DEBITS)
    }

    pub fn closed(self) -> bool {
        self.contains(Self::CLOSED)
    }
}

/// An account to create (idempotently, by its code).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccount {
    /// Unique code such as `user:42:points` or `community:7:points:issuance`.
    pub code: String,
    pub asset: Asset,
    pub flags: AccountFlags,
}

impl NewAccount {
    pub fn new(code: impl Into<String>, asset: Asset, flags: AccountFlags) -> Self {
        NewAccount { code: code.into(), asset, flags }
    }
}

/// What a transfer does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TransferAction {
    /// Move `amount` from `debit` to `credit` now.
    Single { debit: AccountId, credit: AccountId, asset: Asset, amount: i64 },
    /// Hold `amount`: it counts against the debit account's available balance until the hold is posted,
    /// voided or expires (`timeout_seconds` after creation; `None` never expires).
    Pending { debit: AccountId, credit: AccountId, asset: Asset, amount: i64, timeout_seconds: Option<u32> },
    /// Post a hold, in full (`amount: None`) or in part; the rest of the hold is released.
    PostPending { pending_id: TransferId, amount: Option<i64> },
    /// Release a hold without moving anything.
    VoidPending { pending_id: TransferId },
    /// Release a hold whose timeout has passed (what the expiry job posts; refused before the timeout).
    ExpirePending { pending_id: TransferId },
    /// Correct a posted transfer by moving its amount back. A transfer is reversed at most once and a
    /// reversal cannot itself be reversed.
    Reverse { transfer_id: TransferId },
}

/// A transfer as the caller asks for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRequest {
    /// Client-chosen id; a retry with the same id and the same content returns the first result.
    pub id: TransferId,
    /// Optional idempotency key stored beside the id (unique); see [`TransferId::from_idempotency_key`].
    pub idempotency_key: Option<String>,
    pub action: TransferAction,
    /// Why the transfer happened: `volunteer_award`, `redemption`, `settlement`, `reversal` …
    pub code: String,
    /// Links the transfer to its domain object (`{"activity_id": 3, "user_id": 42}`).
    pub metadata: serde_json::Value,
}

impl TransferRequest {
    /// A transfer posted at once, with a fresh id.
    pub fn single(debit: AccountId, credit: AccountId, asset: Asset, amount: i64, code: &str) -> Self {
        TransferRequest {
            id: TransferId::new(),
            idempotency_key: None,
            action: TransferAction::Single { debit, credit, asset, amount },
            code: code.to_owned(),
            metadata: serde_json::Value::Null,
        }
    }

    pub fn with_id(mut self, id: TransferId) -> Self {
        self.id = id;
        self
    }

    /// Sets the idempotency key and derives the id from it.
    pub fn with_idempotency_key(mut self, key: &str) -> Self {
        self.id = TransferId::from_idempotency_key(key);
        self.idempotency_key = Some(key.to_owned());
        self
    }

    pub fn with_metadata(mut self, metadata: serde_json::Value) -> Self {
        self.metadata = metadata;
        self
    }

    pub fn new(action: TransferAction, code: &str) -> Self {
        TransferRequest {
            id: TransferId::new(),
            idempotency_key: None,
            action,
            code: code.to_owned(),
            metadata: serde_json::Value::Null,
        }
    }
}

/// How a stored transfer affected balances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    Single,
    Pending,
    PostPending,
    VoidPending,
    ExpirePending,
}

impl TransferKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferKind::Single => "single",
            TransferKind::Pending => "pending",
            TransferKind::PostPending => "post_pending",
            TransferKind::VoidPending => "void_pending",
            TransferKind::ExpirePending => "expire_pending",
        }
    }

    pub fn parse(text: &str) -> Result<Self, LedgerError> {
        match text {
            "single" => Ok(TransferKind::Single),
            "pending" => Ok(TransferKind::Pending),
            "post_pending" => Ok(TransferKind::PostPending),
            "void_pending" => Ok(TransferKind::VoidPending),
            "expire_pending" => Ok(TransferKind::ExpirePending),
            other => Err(LedgerError::Invariant(format!("unknown transfer kind {other:?}"))),
        }
    }

    /// Whether this kind moves posted balances (and so may be reversed).
    pub fn is_posting(self) -> bool {
        matches!(self, TransferKind::Single | TransferKind::PostPending)
    }
}

/// Writes a JSON value canonically: object keys sorted, no insignificant whitespace. The result does not
/// depend on serde_json's `preserve_order` feature, which another crate may switch on.
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_reject_zero_negative_and_overflow() {
        assert_eq!(Amount::new(0), Err(LedgerError::AmountNotPositive(0)));
        assert_eq!(Amount::new(-5), Err(LedgerError::AmountNotPositive(-5)));
        assert_eq!(Amount::new(MAX_BALANCE + 1), Err(LedgerError::AmountOverflow));
        assert_eq!(Amount::new(7).map(Amount::get), Ok(7));
        let big = Amount::new(MAX_BALANCE).unwrap();
        assert_eq!(big.checked_add(Amount::new(1).unwrap()), Err(LedgerError::AmountOverflow));
    }

    #[test]
    fn assets_format_and_parse_with_their_scale() {
        assert_eq!(Asset::Points.format_minor(1250), "12.50");
        assert_eq!(Asset::Cny.format_minor(-5), "-0.05");
        assert_eq!(Asset::Points.format_minor(0), "0.00");
        assert_eq!(Asset::Points.parse_minor("12.5"), Ok(1250));
        assert_eq!(Asset::Cny.parse_minor("3000"), Ok(300_000));
        assert!(Asset::Cny.parse_minor("1.005").is_err());
        assert!(Asset::Cny.parse_minor("abc").is_err());
        assert!(Asset::Cny.parse_minor("99999999999999999999999").is_err());
        assert_eq!("POINTS".parse::<Asset>(), Ok(Asset::Points));
        assert!("EUR".parse::<Asset>().is_err());
    }

    #[test]
    fn flags_reject_contradictions() {
        assert!(AccountFlags::from_bits(3).is_err());
        assert!(AccountFlags::from_bits(8).is_err());
        assert!(AccountFlags::from_bits(-1).is_err());
        let f = AccountFlags::from_bits(5).unwrap();
        assert!(f.closed() && f.debits_must_not_exceed_credits() && !f.credits_must_not_exceed_debits());
    }

    #[test]
    fn idempotency_keys_map_to_stable_ids() {
        let a = TransferId::from_idempotency_key("award:activity:3:user:42");
        let b = TransferId::from_idempotency_key("award:activity:3:user:42");
        let c = TransferId::from_idempotency_key("award:activity:3:user:43");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(TransferId::parse(&a.to_text()), Ok(a));
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let v = serde_json::json!({"b": 1, "a": {"d": [1, {"z": 0, "y": "é\n"}], "c": null}});
        assert_eq!(canonical_json(&v), r#"{"a":{"c":null,"d":[1,{"y":"é\n","z":0}]},"b":1}"#);
    }
}
