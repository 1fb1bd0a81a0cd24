//! Row operations of polls on `&impl ConnectionTrait`, so a use case composes them in one transaction.
//! Casting is the heart: the participation row (unique per household or resident) decides "first or
//! repeat", the counted flag moves under a partial unique index, and the ballot is appended to the
//! poll's hash chain under the poll row's lock.

use chrono::{DateTime, Utc};
use ehome_entities::{poll, poll_ballot, poll_elector, poll_option, poll_participation};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    SqlErr,
};

use super::chain;
use super::error::PollError;
use super::lifecycle::{self, Eligibility, Repeat, ResultsVisibility, ScopeKind, Secrecy};
use crate::domain::{CommunityId, UserId};
use crate::platform::content::PublicText;
use crate::platform::error::{ApiError, ApiResult};

/// A poll to be stored, its texts already screened.
pub struct NewPoll {
    pub community: CommunityId,
    pub created_by: UserId,
    pub title: PublicText,
    pub description: Option<PublicText>,
    /// Option labels with the person each stands for, if any.
    pub options: Vec<(PublicText, Option<UserId>)>,
    pub choices_min: i32,
    pub choices_max: i32,
    pub scope_kind: ScopeKind,
    pub scope_ids: Vec<i64>,
    pub eligibility: Eligibility,
    pub electors: Vec<UserId>,
    pub secrecy: Secrecy,
    pub results_visibility: ResultsVisibility,
    pub allow_change: bool,
    pub group_ref: Option<String>,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

pub async fn insert_poll(db: &impl ConnectionTrait, new: NewPoll, now: DateTime<Utc>) -> ApiResult<poll::Model> {
    let scope_ids = new.scope_ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let row = poll::ActiveModel {
        community_id: Set(new.community.0),
        created_by: Set(new.created_by.0),
        title: Set(new.title.into_inner()),
        description: Set(new.description.map(PublicText::into_inner)),
        choices_min: Set(new.choices_min),
        choices_max: Set(new.choices_max),
        scope_kind: Set(new.scope_kind.as_str().to_owned()),
        scope_ids: Set(scope_ids),
        eligibility: Set(new.eligibility.as_str().to_owned()),
        secrecy: Set(new.secrecy.as_str().to_owned()),
        results_visibility: Set(new.results_visibility.as_str().to_owned()),
        allow_change: Set(new.allow_change),
        group_ref: Set(new.group_ref),
        opens_at: Set(new.opens_at),
        closes_at: Set(new.closes_at),
        chain_seq: Set(0),
        chain_head: Set(chain::GENESIS.to_owned()),
        voter_salt: Set(random_hex()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    for (position, (label, subject)) in new.options.into_iter().enumerate() {
        poll_option::ActiveModel {
            poll_id: Set(row.id),
            position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
            label: Set(label.into_inner()),
            subject_id: Set(subject.map(|user| user.0)),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    for elector in new.electors {
        poll_elector::Entity::insert(poll_elector::ActiveModel { poll_id: Set(row.id), user_id: Set(elector.0) })
            .on_conflict_do_nothing_on([poll_elector::Column::PollId, poll_elector::Column::UserId])
            .exec_without_returning(db)
            .await?;
    }
    Ok(row)
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> ApiResult<poll::Model> {
    poll::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound("poll"))
}

pub async fn options(db: &impl ConnectionTrait, poll_id: i64) -> ApiResult<Vec<poll_option::Model>> {
    Ok(poll_option::Entity::find()
        .filter(poll_option::Column::PollId.eq(poll_id))
        .order_by_asc(poll_option::Column::Position)
        .all(db)
        .await?)
}

pub async fn is_elector(db: &impl ConnectionTrait, poll_id: i64, user: UserId) -> ApiResult<bool> {
    Ok(poll_elector::Entity::find_by_id((poll_id, user.0)).one(db).await?.is_some())
}

pub async fn electors(db: &impl ConnectionTrait, poll_id: i64) -> ApiResult<Vec<i64>> {
    let rows = poll_elector::Entity::find().filter(poll_elector::Column::PollId.eq(poll_id)).all(db).await?;
    Ok(rows.into_iter().map(|row| row.user_id).collect())
}

/// A ballot to cast, its voter already found eligible.
pub struct Cast {
    /// `h:{household}` or `u:{user}`.
    pub voter_key: String,
    pub household_id: Option<i64>,
    pub building_id: Option<i64>,
    pub cast_by: UserId,
    pub proxy: bool,
    pub proxy_note: Option<PublicText>,
    /// Option ids, already checked against the poll.
    pub choices: Vec<i64>,
}

/// What the voter gets back: the receipt and the nonce behind it (theirs alone), and whether this
/// ballot replaced an earlier one.
pub struct CastOutcome {
    pub ballot: poll_ballot::Model,
    pub nonce: String,
    pub replaced: bool,
}

fn race_on_unique(err: DbErr) -> ApiError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => PollError::BallotRace.into(),
        _ => err.into(),
    }
}

/// Records the voter's participation, or finds the one already recorded and applies the repeat rule.
/// The participation's unique index makes two first ballots of one household impossible, whichever
/// instance each arrives at. Returns whether an earlier ballot is being replaced.
async fn participate(
    db: &impl ConnectionTrait,
    poll: &poll::Model,
    cast: &Cast,
    now: DateTime<Utc>,
) -> ApiResult<bool> {
    let inserted = poll_participation::Entity::insert(poll_participation::ActiveModel {
        poll_id: Set(poll.id),
        voter_key: Set(cast.voter_key.clone()),
        household_id: Set(cast.household_id),
        building_id: Set(cast.building_id),
        cast_by: Set(cast.cast_by.0),
        proxy: Set(cast.proxy),
        proxy_note: Set(cast.proxy_note.as_ref().map(|note| note.as_str().to_owned())),
        changes: Set(0),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([poll_participation::Column::PollId, poll_participation::Column::VoterKey])
    .exec_without_returning(db)
    .await?;
    if matches!(inserted, sea_orm::TryInsertResult::Inserted(1)) {
        return Ok(false);
    }
    let first = poll_participation::Entity::find()
        .filter(poll_participation::Column::PollId.eq(poll.id))
        .filter(poll_participation::Column::VoterKey.eq(&cast.voter_key))
        .one(db)
        .await?
        .ok_or(PollError::BallotRace)?;
    match lifecycle::repeat(poll.allow_change, first.proxy, cast.proxy) {
        Repeat::Replace => {}
        Repeat::AlreadyVoted => return Err(PollError::AlreadyVoted.into()),
        Repeat::ProxyConflict => return Err(PollError::ProxyConflict.into()),
    }
    poll_participation::Entity::update_many()
        .col_expr(poll_participation::Column::Changes, Expr::col(poll_participation::Column::Changes).add(1))
        .col_expr(poll_participation::Column::CastBy, Expr::value(cast.cast_by.0))
        .filter(poll_participation::Column::Id.eq(first.id))
        .exec(db)
        .await?;
    Ok(true)
}

/// Casts a ballot in the caller's transaction: participation, then the counted flag; the ballot joins
/// the hash chain when the sealer next runs.
pub async fn cast(
    db: &impl ConnectionTrait,
    poll: &poll::Model,
    cast: Cast,
    now: DateTime<Utc>,
) -> ApiResult<CastOutcome> {
    let replaced = participate(db, poll, &cast, now).await?;
    let voter_tag = chain::voter_tag(&poll.voter_salt, poll.id, &cast.voter_key);
    if replaced {
        // The earlier ballot stops counting; it stays in the chain as history. A concurrent change of
        // the same voter that got here first leaves nothing to update: retry rather than count twice.
        let uncounted = poll_ballot::Entity::update_many()
            .col_expr(poll_ballot::Column::Counted, Expr::value(false))
            .filter(poll_ballot::Column::PollId.eq(poll.id))
            .filter(poll_ballot::Column::VoterTag.eq(&voter_tag))
            .filter(poll_ballot::Column::Counted.eq(true))
            .exec(db)
            .await?;
        if uncounted.rows_affected != 1 {
            return Err(PollError::BallotRace.into());
        }
    }
    let nonce = random_hex();
    let choices = chain::encode_choices(&cast.choices);
    let receipt = chain::receipt(poll.id, &voter_tag, &choices, &nonce);
    let open = Secrecy::parse(&poll.secrecy) == Some(Secrecy::Open);
    let ballot = poll_ballot::ActiveModel {
        poll_id: Set(poll.id),
        // Sealed into the chain right after (see `jobs.rs`): casting never waits on the chain's lock.
        seq: Set(None),
        voter_tag: Set(voter_tag),
        choices: Set(choices),
        receipt: Set(receipt),
        proxy: Set(cast.proxy),
        counted: Set(true),
        prev_hash: Set(None),
        hash: Set(None),
        // A secret ballot names nobody and carries no time that could be matched with a participation.
        voter_key: Set(open.then(|| cast.voter_key.clone())),
        cast_by: Set(open.then_some(cast.cast_by.0)),
        building_id: Set(if open { cast.building_id } else { None }),
        proxy_note: Set(if open { cast.proxy_note.map(PublicText::into_inner) } else { None }),
        cast_at: Set(open.then_some(now)),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(race_on_unique)?;
    Ok(CastOutcome { ballot, nonce, replaced })
}

/// Takes the poll row's lock until the transaction ends (so sealers of one poll take turns) and
/// returns the chain's head as it stands.
pub async fn lock_chain(db: &impl ConnectionTrait, poll_id: i64) -> ApiResult<(i64, String)> {
    poll::Entity::update_many()
        .col_expr(poll::Column::ChainSeq, Expr::col(poll::Column::ChainSeq))
        .filter(poll::Column::Id.eq(poll_id))
        .exec(db)
        .await?;
    let row = get(db, poll_id).await?;
    Ok((row.chain_seq, row.chain_head))
}

/// Ballots not yet in the chain, oldest first.
pub async fn unsealed(db: &impl ConnectionTrait, poll_id: i64, limit: u64) -> ApiResult<Vec<poll_ballot::Model>> {
    Ok(poll_ballot::Entity::find()
        .filter(poll_ballot::Column::PollId.eq(poll_id))
        .filter(poll_ballot::Column::Seq.is_null())
        .order_by_asc(poll_ballot::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Polls with ballots not yet in their chain.
pub async fn polls_to_seal(db: &impl ConnectionTrait, limit: u64) -> ApiResult<Vec<i64>> {
    let rows = poll_ballot::Entity::find()
        .select_only()
        .column(poll_ballot::Column::PollId)
        .filter(poll_ballot::Column::Seq.is_null())
        .distinct()
        .limit(limit)
        .into_tuple::<i64>()
        .all(db)
        .await?;
    Ok(rows)
}

/// Writes a ballot's place in the chain; only an unsealed ballot is sealed.
pub async fn seal_ballot(db: &impl ConnectionTrait, id: i64, seq: i64, prev_hash: &str, hash: &str) -> ApiResult<()> {
    poll_ballot::Entity::update_many()
        .col_expr(poll_ballot::Column::Seq, Expr::value(seq))
        .col_expr(poll_ballot::Column::PrevHash, Expr::value(prev_hash))
        .col_expr(poll_ballot::Column::Hash, Expr::value(hash))
        .filter(poll_ballot::Column::Id.eq(id))
        .filter(poll_ballot::Column::Seq.is_null())
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_head(db: &impl ConnectionTrait, poll_id: i64, seq: i64, hash: &str) -> ApiResult<()> {
    poll::Entity::update_many()
        .col_expr(poll::Column::ChainSeq, Expr::value(seq))
        .col_expr(poll::Column::ChainHead, Expr::value(hash))
        .filter(poll::Column::Id.eq(poll_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn ballots(db: &impl ConnectionTrait, poll_id: i64) -> ApiResult<Vec<poll_ballot::Model>> {
    Ok(poll_ballot::Entity::find()
        .filter(poll_ballot::Column::PollId.eq(poll_id))
        .order_by_asc(poll_ballot::Column::Id)
        .all(db)
        .await?)
}

pub async fn counted_ballots(db: &impl ConnectionTrait, poll_id: i64) -> ApiResult<Vec<poll_ballot::Model>> {
    Ok(poll_ballot::Entity::find()
        .filter(poll_ballot::Column::PollId.eq(poll_id))
        .filter(poll_ballot::Column::Counted.eq(true))
        .order_by_asc(poll_ballot::Column::Seq)
        .all(db)
        .await?)
}

pub async fn participations(db: &impl ConnectionTrait, poll_id: i64) -> ApiResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(poll_participation::Entity::find().filter(poll_participation::Column::PollId.eq(poll_id)).count(db).await?)
}

pub async fn participation_of(
    db: &impl ConnectionTrait,
    poll_id: i64,
    voter_key: &str,
) -> ApiResult<Option<poll_participation::Model>> {
    Ok(poll_participation::Entity::find()
        .filter(poll_participation::Column::PollId.eq(poll_id))
        .filter(poll_participation::Column::VoterKey.eq(voter_key))
        .one(db)
        .await?)
}

pub async fn by_receipt(
    db: &impl ConnectionTrait,
    poll_id: i64,
    receipt: &str,
) -> ApiResult<Option<poll_ballot::Model>> {
    Ok(poll_ballot::Entity::find()
        .filter(poll_ballot::Column::PollId.eq(poll_id))
        .filter(poll_ballot::Column::Receipt.eq(receipt))
        .one(db)
        .await?)
}

/// Polls of a community in id order, after a keyset position.
pub async fn list(
    db: &impl ConnectionTrait,
    community: CommunityId,
    keyset: &crate::platform::pagination::Keyset,
) -> ApiResult<Vec<poll::Model>> {
    let mut query = poll::Entity::find()
        .filter(poll::Column::CommunityId.eq(community.0))
        .order_by_asc(poll::Column::Id)
        .limit(keyset.limit + 1);
    if let Some(after) = keyset.after_id {
        query = query.filter(poll::Column::Id.gt(after));
    }
    Ok(query.all(db).await?)
}

/// Names (or replaces) a household's representative.
pub async fn set_representative(
    db: &impl ConnectionTrait,
    household_id: i64,
    user: UserId,
    named_by: UserId,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    use ehome_entities::household_representative as representative;
    representative::Entity::delete_by_id(household_id).exec(db).await?;
    representative::ActiveModel {
        household_id: Set(household_id),
        user_id: Set(user.0),
        named_by: Set(named_by.0),
        named_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}
