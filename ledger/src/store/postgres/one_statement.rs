//! PostgreSQL's one-statement path for a single transfer: one round trip, and — called on the pool
//! rather than in a transaction, as [`crate::Ledger::post`] does — its own commit.
//!
//! The general path (see [`super`]) is four statements besides `BEGIN` and `COMMIT`, because
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
//! older than the head lock: [`crate::store::close_account`] therefore writes every head row as it closes
//! an account, and the statement goes on only when the head it locked is the version its snapshot
//! sees — so no close committed between the snapshot and the lock.

use std::sync::LazyLock;

use sea_orm::{ConnectionTrait, DbBackend};

use ehome_entities::ledger_transfer;

use super::{SHARD_MAX, free_head, head_candidates};
use crate::error::LedgerError;
use crate::hash::{CANONICAL_VERSION, canonical_body, transfer_hash};
use crate::store::Shape;
use crate::store::chain::INSERT_COLUMNS;
use crate::store::guard::{Closed, Growth, account_guard, has_limit, no_limit};
use crate::store::plan::validate_request;
use crate::store::records::Transfer;
use crate::store::sql::NamedSql;
use crate::types::{AccountId, Asset, MAX_BALANCE, TransferAction, TransferKind, TransferRequest, canonical_json};

/// Posts `request` in one statement; `None` for anything but a single transfer, and when the general
/// path must decide (see the module documentation). A unique violation, deadlock or serialization
/// failure also answers `None`. With the transfer come the accounts of the two that carry limit flags
/// (which never change).
pub(super) async fn post(
    conn: &impl ConnectionTrait,
    request: &TransferRequest,
    now_us: i64,
    shape: Shape,
) -> Result<Option<(Transfer, Vec<AccountId>)>, LedgerError> {
    let TransferAction::Single { debit, credit, asset, amount } = request.action else {
        return Ok(None);
    };
    if validate_request(request).is_err() {
        return Ok(None);
    }
    let mut row = single_row(request, (debit, credit, asset, amount), now_us);
    let values = vec![
        ("id", row.id.clone().into()),
        ("key", row.idempotency_key.clone().into()),
        ("debit", debit.0.into()),
        ("credit", credit.0.into()),
        ("asset", row.asset.clone().into()),
        ("amount", amount.into()),
        ("code", row.code.clone().into()),
        ("metadata", row.metadata.clone().into()),
        ("created_at", now_us.into()),
        ("body", canonical_body(&row).into()),
        ("candidates", head_candidates()),
    ];
    let sql = match shape {
        Shape::InTransaction => &*CHECKED,
        Shape::Own => &*UNCHECKED,
        Shape::OwnLimited => &*LIMITED,
    };
    let answer = match conn.query_one_raw(sql.statement(DbBackend::Postgres, values)?).await {
        Ok(answer) => answer,
        // Inside the caller's transaction a failed statement has aborted that transaction: the general
        // path cannot run in it, so the caller hears `Busy` and runs its transaction again. On the
        // pool nothing is lost and the general path decides.
        Err(e) if crate::retry::is_retryable(&e) && shape == Shape::InTransaction => return Err(LedgerError::Busy),
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

/// The row of a single transfer as far as the client knows it: the database fills in the chain
/// position, the link and the hash.
fn single_row(
    request: &TransferRequest,
    (debit, credit, asset, amount): (AccountId, AccountId, Asset, i64),
    now_us: i64,
) -> ledger_transfer::Model {
    ledger_transfer::Model {
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
    }
}

/// The statement for a caller's transaction: it first looks for a stored transfer with the id or key
/// and, when there is one, changes nothing — an error would abort the caller's transaction.
static CHECKED: LazyLock<NamedSql> = LazyLock::new(|| sql(true, true));

/// The statement for its own transaction ([`crate::Ledger::post`], on the pool): it leaves a repeated
/// id or key to the unique indexes, whose error rolls the statement back as a whole (that look-up
/// was a tenth of the statement's cost); the general path then answers with the stored transfer.
static UNCHECKED: LazyLock<NamedSql> = LazyLock::new(|| sql(false, true));

/// [`UNCHECKED`] for two accounts known to have limit flags (so no shard to read or write): another
/// tenth less to start up and run. A request whose accounts turn out otherwise changes nothing.
static LIMITED: LazyLock<NamedSql> = LazyLock::new(|| sql(false, false));

/// The parts of the statement that read and write the shards of the accounts without a limit flag
/// (`open`, read without a lock): `open`, its count, its verdict and `sharded`.
fn shard_parts() -> [String; 4] {
    let closed_refuses = account_guard(&Growth { closed: Closed::Refuses, debits: None, credits: None });
    [
        format!(
            "open AS MATERIALIZED ( \
               SELECT a.id, a.asset, a.flags, COALESCE(s.debits_posted, 0) AS sd, \
                 COALESCE(s.credits_posted, 0) AS sc \
               FROM ledger_accounts a \
               LEFT JOIN ledger_account_shards s ON s.account_id = a.id AND s.shard = (SELECT id FROM held) \
               WHERE a.id IN (:debit, :credit) AND {} AND EXISTS (SELECT 1 FROM held)), ",
            no_limit("a.flags")
        ),
        "(SELECT count(*) FROM locked) + (SELECT count(*) FROM open)".to_owned(),
        format!(
            "AND NOT EXISTS (SELECT 1 FROM open WHERE asset <> :asset OR NOT ({closed_refuses}) \
               OR (id = :debit AND sd > {SHARD_MAX} - :amount) OR (id = :credit AND sc > {SHARD_MAX} - :amount))"
        ),
        "sharded AS (INSERT INTO ledger_account_shards AS s (account_id, shard, debits_posted, credits_posted) \
           SELECT o.id, (SELECT id FROM held), CASE WHEN o.id = :debit THEN :amount ELSE 0 END, \
             CASE WHEN o.id = :credit THEN :amount ELSE 0 END \
           FROM open o WHERE (SELECT go FROM ok) \
           ON CONFLICT (account_id, shard) DO UPDATE SET \
             debits_posted = s.debits_posted + excluded.debits_posted, \
             credits_posted = s.credits_posted + excluded.credits_posted), "
            .to_owned(),
    ]
}

/// The verdict on the accounts with a limit flag (`locked`): the transfer's asset, the column bounds
/// and the account guard of each side.
fn locked_ok() -> String {
    let debit_guard = account_guard(&Growth { closed: Closed::Refuses, debits: Some(":amount"), credits: None });
    let credit_guard = account_guard(&Growth { closed: Closed::Refuses, debits: None, credits: Some(":amount") });
    format!(
        "NOT EXISTS (SELECT 1 FROM locked WHERE asset <> :asset \
           OR (id = :debit AND (debits_posted > {MAX_BALANCE} - :amount OR NOT ({debit_guard}))) \
           OR (id = :credit AND (credits_posted > {MAX_BALANCE} - :amount OR NOT ({credit_guard}))))"
    )
}

/// The statement, with the parameters `:id`, `:key`, `:debit`, `:credit`, `:asset`, `:amount`,
/// `:code`, `:metadata`, `:created_at`, `:body` (the canonical lines the client knows) and
/// `:candidates` (the heads to try).
fn sql(check_stored: bool, shards: bool) -> NamedSql {
    let (fresh, if_fresh) = if check_stored {
        (
            "fresh AS MATERIALIZED (SELECT NOT EXISTS (SELECT 1 FROM ledger_transfers \
               WHERE id = :id OR idempotency_key = :key) AS ok), ",
            "WHERE (SELECT ok FROM fresh)",
        )
    } else {
        ("", "")
    };
    let [open, counted, open_ok, sharded] = if shards {
        shard_parts()
    } else {
        [String::new(), "(SELECT count(*) FROM locked)".to_owned(), String::new(), String::new()]
    };
    // Its candidate heads all taken, the statement gives way to the general path, which waits for one.
    let head = free_head("id, last_seq, last_hash, ctid AS at", ":candidates", if_fresh);
    let (limited, locked_ok) = (has_limit("flags"), locked_ok());
    NamedSql::new(&format!(
        "WITH {fresh}\
         h AS MATERIALIZED ({head}), \
         held AS MATERIALIZED ( \
           SELECT h.* FROM h WHERE h.at = (SELECT c.ctid FROM ledger_chain_head c WHERE c.id = h.id)), \
         locked AS MATERIALIZED ( \
           SELECT id, asset, flags, debits_posted, credits_posted, debits_pending, credits_pending \
           FROM ledger_accounts WHERE id IN (:debit, :credit) AND {limited} AND EXISTS (SELECT 1 FROM held) \
           ORDER BY id FOR NO KEY UPDATE), \
         {open}\
         ok AS MATERIALIZED ( \
           SELECT EXISTS (SELECT 1 FROM held) AND {counted} = 2 AND {locked_ok} {open_ok} AS go), \
         moved AS (UPDATE ledger_accounts \
           SET debits_posted = debits_posted + CASE WHEN id = :debit THEN :amount ELSE 0 END, \
               credits_posted = credits_posted + CASE WHEN id = :credit THEN :amount ELSE 0 END \
           WHERE id IN (SELECT id FROM locked) AND (SELECT go FROM ok)), \
         {sharded}\
         ins AS (INSERT INTO ledger_transfers ({INSERT_COLUMNS}) \
           SELECT held.id, held.last_seq + 1, :id, :key, 'single', :debit, :credit, :asset, :amount, :code, \
             NULL, NULL, NULL, :metadata, :created_at, held.last_hash, \
             encode(sha256(convert_to(concat('{CANONICAL_VERSION}', E'\\nchain_id=', held.id, \
               E'\\nchain_seq=', held.last_seq + 1, E'\\n', :body::text, E'\\nprev_hash=', held.last_hash), \
               'UTF8')), 'hex') \
           FROM held WHERE (SELECT go FROM ok) \
           RETURNING seq, chain_id, chain_seq, prev_hash, hash), \
         head AS (UPDATE ledger_chain_head SET last_seq = ins.chain_seq, last_hash = ins.hash \
           FROM ins WHERE ledger_chain_head.id = ins.chain_id) \
         SELECT seq, chain_id, chain_seq, prev_hash, hash, (SELECT array_agg(id) FROM locked) FROM ins"
    ))
}
