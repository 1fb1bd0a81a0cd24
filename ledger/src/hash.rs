//! The transfers' hash chain: each transfer stores SHA-256 over its canonical content and the hash of
//! the transfer before it, so that editing, inserting or deleting any transfer breaks the chain.

use sha2::{Digest, Sha256};

use ehome_entities::ledger_transfer;

/// Number of hash chains on PostgreSQL (rows of `ledger_chain_head`: 16 seeded by the ledger's first
/// migration, widened to 64 by a later one). SQLite has one writer and uses chain 0 only.
pub const CHAINS: i32 = 64;

/// Hash the first transfer of every chain links to (the value the migration seeds the heads with).
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Version tag of the canonical form, so that a future format can coexist with this one.
pub(crate) const CANONICAL_VERSION: &str = "ehome-ledger-transfer/v1";

/// The exact bytes that are hashed: one `name=value` line per field, in a fixed order. The global `seq`
/// is not among them — the database assigns it on insert; a transfer's place is fixed by its chain and
/// its position there, which are. Strings are written
/// as JSON strings so that no value can forge a line break; absent values are written as `null`.
pub fn canonical_content(t: &ledger_transfer::Model) -> String {
    format!(
        "{CANONICAL_VERSION}\nchain_id={}\nchain_seq={}\n{}\nprev_hash={}",
        t.chain_id,
        t.chain_seq,
        canonical_body(t),
        t.prev_hash
    )
}

/// The lines of the canonical content between the chain position and the link: everything a writer
/// knows before it holds a chain head. PostgreSQL's one-statement path sends these and lets the
/// database wrap them, as [`canonical_content`] does, once it has taken a head
/// (`store::one_statement`).
pub(crate) fn canonical_body(t: &ledger_transfer::Model) -> String {
    let text = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    let opt_text = |s: &Option<String>| s.as_deref().map_or_else(|| "null".to_owned(), text);
    let opt_int = |n: Option<i64>| n.map_or_else(|| "null".to_owned(), |n| n.to_string());
    [
        format!("id={}", text(&t.id)),
        format!("idempotency_key={}", opt_text(&t.idempotency_key)),
        format!("kind={}", text(&t.kind)),
        format!("debit_account_id={}", t.debit_account_id),
        format!("credit_account_id={}", t.credit_account_id),
        format!("asset={}", text(&t.asset)),
        format!("amount={}", t.amount),
        format!("code={}", text(&t.code)),
        format!("pending_id={}", opt_text(&t.pending_id)),
        format!("reverses={}", opt_text(&t.reverses)),
        format!("timeout_at_us={}", opt_int(t.timeout_at_us)),
        format!("metadata={}", text(&t.metadata)),
        format!("created_at_us={}", t.created_at_us),
    ]
    .join("\n")
}

/// SHA-256 of the canonical content, hex-encoded.
pub fn transfer_hash(t: &ledger_transfer::Model) -> String {
    hex::encode(Sha256::digest(canonical_content(t).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ledger_transfer::Model {
        ledger_transfer::Model {
            seq: 1,
            chain_id: 3,
            chain_seq: 1,
            id: "0191e8b6-0000-7000-8000-000000000001".into(),
            idempotency_key: None,
            kind: "single".into(),
            debit_account_id: 1,
            credit_account_id: 2,
            asset: "POINTS".into(),
            amount: 1250,
            code: "volunteer_award".into(),
            pending_id: None,
            reverses: None,
            timeout_at_us: None,
            metadata: r#"{"activity_id":3}"#.into(),
            created_at_us: 1_763_000_000_000_000,
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        }
    }

    #[test]
    fn hash_is_stable_and_covers_every_field() {
        let base = sample();
        let h = transfer_hash(&base);
        assert_eq!(h.len(), 64);
        assert_eq!(h, transfer_hash(&base.clone()));
        let mut variants = vec![];
        let mut v = base.clone();
        v.amount = 1251;
        variants.push(v);
        let mut v = base.clone();
        v.chain_id = 4;
        variants.push(v);
        let mut v = base.clone();
        v.chain_seq = 2;
        variants.push(v);
        let mut v = base.clone();
        v.prev_hash = "1".repeat(64);
        variants.push(v);
        let mut v = base.clone();
        v.metadata = r#"{"activity_id":4}"#.into();
        variants.push(v);
        let mut v = base.clone();
        v.idempotency_key = Some("null".into());
        variants.push(v);
        let mut v = base.clone();
        v.code = "volunteer_award\nkind=\"x\"".into();
        variants.push(v);
        for v in variants {
            assert_ne!(transfer_hash(&v), h, "{v:?}");
        }
    }

    #[test]
    fn the_canonical_form_does_not_drift() {
        // Pinned: stored books are verified with this form, and PostgreSQL's one-statement path
        // rebuilds it in SQL around `canonical_body`.
        assert_eq!(transfer_hash(&sample()), "b94360ab00bc22a59e662510881f6d7d5d4c226b19cbd90ac711542fdda4c29c");
    }

    #[test]
    fn stored_hash_is_not_part_of_the_content() {
        let mut a = sample();
        a.hash = "ff".repeat(32);
        assert_eq!(transfer_hash(&a), transfer_hash(&sample()));
    }
}
