//! PostgreSQL's one-statement path for a single transfer: one round trip, and — called on the pool
//! rather than in a transaction, as [`crate::Ledger::post`] does — its own commit.
//!
//! The general path (see [`super::postgres`]) is four statements besides `BEGIN` and `COMMIT`, because
//! the client hashes each transfer after it has read the chain head it links to. A single transfer
//! needs neither the stored transfers it names (it names none but its own id) nor the client to
//! see the head: the client sends the canonical lines it knows ([`crate::hash::canonical_body`]) and
//! the statement wraps them with the chain position and the link once it holds a head, and hashes them
//! with PostgreSQL's `sha256`. Three shapes ([`Shape`]): inside a caller's transaction it first looks
//! for a stored id or key; on the pool it leaves a repeat to the unique indexes (the error rolls the
//! statement back); and between two accounts known to carry limit flags it skips the shards.
//!
//! Every write is conditional on one verdict computed before any of them, so the statement either
//! posts the transfer whole or changes nothing, and then answers no row: the caller takes the general
//! path, which finds the exact outcome (a stored id, insufficient funds, a closed account, …). It also
//! answers no row when its few candidate heads are all taken, or when its head moved after the
//! statement's snapshot was taken (see below).
//!
//! Accounts with a limit flag are locked (`FOR NO KEY UPDATE`, ascending id, after the head) and
//! guarded on their current values; accounts without one move through their shard for the held
//! chain, read without a lock. Their `closed` bit is read from the statement's snapshot, which is
//! older than the head lock: [`super::close_account`] therefore writes every head row as it closes
//! an account, and the statement goes on only when the head it locked is the version its snapshot
//! sees — so no close committed between the snapshot and the lock.

use std::sync::LazyLock;

use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

use ehome_entities::ledger_transfer;

use super::{INSERT_COLUMNS, Transfer};
use crate::error::LedgerError;
use crate::hash::{CANONICAL_VERSION, canonical_body, transfer_hash};
use crate::types::{AccountId, MAX_BALANCE, TransferAction, TransferKind, TransferRequest, canonical_json};

/// Which statement to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Inside a caller's transaction, which it must not abort.
    InTransaction,
    /// On the pool, committing by itself.
    Own,
    /// On the pool, both accounts known to carry limit flags.
    OwnLimited,
}

/// Posts `request` in one statement; `None` for anything but a single transfer, and when the general
/// path must decide (see the module documentation). A unique violation, deadlock or serialization failure also answers `None`. With
/// the transfer come the accounts of the two that carry limit flags (which never change).
pub(super) async fn post(
    conn: &impl ConnectionTrait,
    request: &TransferRequest,
    now_us: i64,
    shape: Shape,
) -> Result<Option<(Transfer, Vec<AccountId>)>, LedgerError> {
    let TransferAction::Single { debit, credit, asset, amount } = request.action else {
        return Ok(None);
    };
    if super::validate_request(request).is_err() {
        return Ok(None);
    }
    let mut row = ledger_transfer::Model {
        seq: 0,
        chain_id: 0,
        chain_seq: 0,
        id: request.id.to_text(),
        idempotency_key: request.idempotency_key.clone(),
        kind: TransferKind::Single.as_str().to_owned(),
        debit_account_id: debit.0,
        credit_account_id: credit.0,
        asset: asset.code().to_owned(),
        amount,
        code: request.code.clone(),
        pending_id: None,
        reverses: None,
        timeout_at_us: None,
        metadata: canonical_json(&request.metadata),
        created_at_us: now_us,
        prev_hash: String::new(),
        hash: String::new(),
    };
    let values: Vec<Value> = vec![
        row.id.clone().into(),
        row.idempotency_key.clone().into(),
        debit.0.into(),
        credit.0.into(),
        row.asset.clone().into(),
        amount.into(),
        row.code.clone().into(),
        row.metadata.clone().into(),
        now_us.into(),
        canonical_body(&row).into(),
        super::postgres::head_candidates(),
        MAX_BALANCE.into(),
        super::postgres::SHARD_MAX.into(),
    ];
    let sql = match shape {
        Shape::InTransaction => &*CHECKED,
        Shape::Own => &*UNCHECKED,
        Shape::OwnLimited => &*LIMITED,
    };
    let answer = conn.query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql.as_str(), values)).await;
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) if crate::retry::is_retryable(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(answer) = answer else { return Ok(None) };
    row.seq = answer.try_get_by_index(0)?;
    row.chain_id = answer.try_get_by_index(1)?;
    row.chain_seq = answer.try_get_by_index(2)?;
    row.prev_hash = answer.try_get_by_index(3)?;
    row.hash = answer.try_get_by_index(4)?;
    let limited: Option<Vec<i64>> = answer.try_get_by_index(5)?;
    if transfer_hash(&row) != row.hash {
        // Committed already when called on the pool; verify reports the row too.
        return Err(LedgerError::Invariant(format!("the database hashed transfer {} differently", row.id)));
    }
    let limited = limited.unwrap_or_default().into_iter().map(AccountId).collect();
    Ok(Some((Transfer::from_model(&row)?, limited)))
}

/// The statement for a caller's transaction: it first looks for a stored transfer with the id or key
/// and, when there is one, changes nothing — an error would abort the caller's transaction.
static CHECKED: LazyLock<String> = LazyLock::new(|| sql(true, true));

/// The statement for its own transaction ([`crate::Ledger::post`], on the pool): it leaves a repeated
/// id or key to the unique indexes, whose error rolls the statement back as a whole (that look-up
/// was a tenth of the statement's cost); the general path then answers with the stored transfer.
static UNCHECKED: LazyLock<String> = LazyLock::new(|| sql(false, true));

/// [`UNCHECKED`] for two accounts known to have limit flags (so no shard to read or write): another
/// tenth less to start up and run. A request whose accounts turn out otherwise changes nothing.
static LIMITED: LazyLock<String> = LazyLock::new(|| sql(false, false));

/// `$1` id, `$2` idempotency key, `$3` debit, `$4` credit, `$5` asset, `$6` amount, `$7` code, `$8`
/// metadata, `$9` created_at_us, `$10` canonical body, `$11` candidate heads, `$12` [`MAX_BALANCE`],
/// `$13` the shard bound.
fn sql(check_stored: bool, shards: bool) -> String {
    let (fresh, if_fresh) = if check_stored {
        (
            "fresh AS MATERIALIZED (SELECT NOT EXISTS (SELECT 1 FROM ledger_transfers \
               WHERE id = $1 OR idempotency_key = $2) AS ok), ",
            "WHERE (SELECT ok FROM fresh)",
        )
    } else {
        ("", "")
    };
    let (open, counted, open_ok, sharded) = if shards {
        (
            "open AS MATERIALIZED ( \
               SELECT a.id, a.asset, a.flags, COALESCE(s.debits_posted, 0) AS sd, \
                 COALESCE(s.credits_posted, 0) AS sc \
               FROM ledger_accounts a \
               LEFT JOIN ledger_account_shards s ON s.account_id = a.id AND s.shard = (SELECT id FROM held) \
               WHERE a.id IN ($3, $4) AND a.flags & 3 = 0 AND EXISTS (SELECT 1 FROM held)), ",
            "(SELECT count(*) FROM locked) + (SELECT count(*) FROM open)",
            "AND NOT EXISTS (SELECT 1 FROM open WHERE asset <> $5 OR flags <> 0 \
               OR (id = $3 AND sd > $13 - $6) OR (id = $4 AND sc > $13 - $6))",
            "sharded AS (INSERT INTO ledger_account_shards AS s (account_id, shard, debits_posted, credits_posted) \
               SELECT o.id, (SELECT id FROM held), CASE WHEN o.id = $3 THEN $6 ELSE 0 END, \
                 CASE WHEN o.id = $4 THEN $6 ELSE 0 END \
               FROM open o WHERE (SELECT go FROM ok) \
               ON CONFLICT (account_id, shard) DO UPDATE SET \
                 debits_posted = s.debits_posted + excluded.debits_posted, \
                 credits_posted = s.credits_posted + excluded.credits_posted), ",
        )
    } else {
        ("", "(SELECT count(*) FROM locked)", "AND $13::int8 IS NOT NULL", "")
    };
    // Its candidate heads all taken, the statement gives way to the general path, which waits for one.
    let head = super::postgres::free_head("id, last_seq, last_hash, ctid AS at", "$11", if_fresh);
    format!(
        "WITH {fresh}\
         h AS MATERIALIZED ({head}), \
         held AS MATERIALIZED ( \
           SELECT h.* FROM h WHERE h.at = (SELECT c.ctid FROM ledger_chain_head c WHERE c.id = h.id)), \
         locked AS MATERIALIZED ( \
           SELECT id, asset, flags, debits_posted, credits_posted, debits_pending, credits_pending \
           FROM ledger_accounts WHERE id IN ($3, $4) AND flags & 3 <> 0 AND EXISTS (SELECT 1 FROM held) \
           ORDER BY id FOR NO KEY UPDATE), \
         {open}\
         ok AS MATERIALIZED ( \
           SELECT EXISTS (SELECT 1 FROM held) \
             AND {counted} = 2 \
             AND NOT EXISTS (SELECT 1 FROM locked WHERE asset <> $5 OR flags & 4 <> 0 \
               OR (id = $3 AND (debits_posted > $12 - $6 \
                 OR (flags & 1 <> 0 AND debits_posted + debits_pending + $6 > credits_posted))) \
               OR (id = $4 AND (credits_posted > $12 - $6 \
                 OR (flags & 2 <> 0 AND credits_posted + credits_pending + $6 > debits_posted)))) \
             {open_ok} AS go), \
         moved AS (UPDATE ledger_accounts \
           SET debits_posted = debits_posted + CASE WHEN id = $3 THEN $6 ELSE 0 END, \
               credits_posted = credits_posted + CASE WHEN id = $4 THEN $6 ELSE 0 END \
           WHERE id IN (SELECT id FROM locked) AND (SELECT go FROM ok)), \
         {sharded}\
         ins AS (INSERT INTO ledger_transfers ({INSERT_COLUMNS}) \
           SELECT held.id, held.last_seq + 1, $1, $2, 'single', $3, $4, $5, $6, $7, NULL, NULL, NULL, $8, $9, \
             held.last_hash, encode(sha256(convert_to(concat('{CANONICAL_VERSION}', E'\\nchain_id=', held.id, \
               E'\\nchain_seq=', held.last_seq + 1, E'\\n', $10::text, E'\\nprev_hash=', held.last_hash), 'UTF8')), \
               'hex') \
           FROM held WHERE (SELECT go FROM ok) \
           RETURNING seq, chain_id, chain_seq, prev_hash, hash), \
         head AS (UPDATE ledger_chain_head SET last_seq = ins.chain_seq, last_hash = ins.hash \
           FROM ins WHERE ledger_chain_head.id = ins.chain_id) \
         SELECT seq, chain_id, chain_seq, prev_hash, hash, (SELECT array_agg(id) FROM locked) FROM ins"
    )
}
