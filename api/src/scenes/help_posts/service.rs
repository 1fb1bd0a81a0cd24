//! The use cases of help posts: each takes the app state, the caller as an `Actor` and parsed input;
//! it authorises, screens text others read, owns its transaction (the status change and its ledger
//! transfer commit together), and runs the transaction again when a concurrent writer won a race the
//! ledger detected.

use chrono::{DateTime, Duration, Utc};
use ehome_entities::help_post;
use sea_orm::{ColumnTrait, Condition, DatabaseTransaction};

use super::error::HelpPostError;
use super::lifecycle::{self, Action, Kind, Moderation, Outcome, Role, Status};
use super::notices::{Notices, Told};
use super::settings;
use super::store::{self, Change, NewPost};
use crate::authz::{self, Actor, Case};
use crate::domain::{BuildingId, CommunityId, Description, Location, RatingText, Role as MemberRole, Title, UserId};
use crate::platform::content::{self, Author, Verdict, WhenUnsure};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::wechat::TextScene;
use crate::points::{self, Award, AwardKey, Points, RewardHold, TransferId};
use crate::scenes::community::service as community;
use crate::scenes::service_hours::from_help::{self, HelpHours};
use crate::scenes::wallet;
use crate::state::AppState;

/// Unconfirmed this long after the helper marked it done, a post goes to the committee.
pub const CONFIRM_WINDOW_DAYS: i64 = 7;
/// A post without a date stays open this long.
const OPEN_DAYS_DEFAULT: i64 = 7;
/// The most a reward may be, in points.
pub const REWARD_MAX_MINOR: i64 = 100_000;

pub use crate::platform::transaction::Failure;

impl From<HelpPostError> for Failure {
    fn from(err: HelpPostError) -> Self {
        Failure::Answer(err.into())
    }
}

/// Runs `work` in a write transaction, again while a concurrent writer got there first.
async fn retrying<T>(state: &AppState, work: impl AsyncFn(&DatabaseTransaction) -> Result<T, Failure>) -> ApiResult<T> {
    crate::platform::transaction::retrying(&state.db, "help post", work).await
}

/// A new post as the resident typed it, validated.
pub struct Draft {
    pub community: CommunityId,
    pub building: Option<BuildingId>,
    pub kind: Kind,
    pub category: lifecycle::Category,
    pub title: Title,
    pub description: Description,
    pub location: Option<Location>,
    pub needed_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub reward: Points,
}

/// The caller's part in a post.
pub fn role_of(actor: &Actor, post: &help_post::Model) -> Role {
    if post.author_id == actor.id.0 {
        Role::Author
    } else if post.helper_id == Some(actor.id.0) {
        Role::Helper
    } else {
        Role::Neighbour
    }
}

pub fn is_committee(actor: &Actor, community: CommunityId) -> bool {
    actor.is_admin || actor.has(community, MemberRole::Committee)
}

/// Whether the caller sees the post: its author and helper always, the committee always, other
/// members of the community while it is published.
pub fn may_see(actor: &Actor, post: &help_post::Model) -> bool {
    let community = CommunityId(post.community_id);
    role_of(actor, post) != Role::Neighbour
        || is_committee(actor, community)
        || (actor.in_community(community) && store::moderation_of(post) == Moderation::Published)
}

/// Loads a post the caller can see; one they cannot see does not exist for them.
pub async fn visible(state: &AppState, actor: &Actor, id: i64) -> ApiResult<help_post::Model> {
    let post = store::get(&state.db, id).await?;
    if !may_see(actor, &post) {
        return Err(ApiError::NotFound("help post"));
    }
    Ok(post)
}

fn refused(action: Action, status: Status) -> Failure {
    HelpPostError::InvalidTransition { action: action.as_str().to_owned(), status: status.as_str().to_owned() }.into()
}

fn hold_of(post: &help_post::Model) -> Result<Option<TransferId>, ApiError> {
    match post.hold_transfer_id.as_deref() {
        None => Ok(None),
        Some(text) => TransferId::parse(text)
            .map(Some)
            .map_err(|_| ApiError::internal(anyhow::anyhow!("help post {} hold", post.id))),
    }
}

/// Publishes a post: the text screened (held for the committee when the check is unsure, refused
/// when risky), the reward held from the poster's balance in the same transaction, or nothing.
pub async fn create(state: &AppState, actor: &Actor, draft: Draft) -> ApiResult<help_post::Model> {
    if !actor.in_community(draft.community) {
        return Err(ApiError::NotFound("community"));
    }
    let now = state.clock.now();
    let grid_id = match draft.building {
        Some(id) => {
            let building = community::get_building(&state.db, id)
                .await
                .map_err(|_| ApiError::validation("building_id", "no such building"))?;
            if building.community_id != draft.community.0 {
                return Err(ApiError::validation("building_id", "not a building of this community"));
            }
            Some(building.grid_id)
        }
        None => None,
    };
    let expires_at = draft.expires_at.or(draft.needed_at).unwrap_or(now + Duration::days(OPEN_DAYS_DEFAULT));
    if expires_at <= now {
        return Err(ApiError::validation("expires_at", "must be in the future"));
    }
    let author = actor.user().clone();
    let texts = [
        draft.title.into_inner(),
        draft.description.into_inner(),
        draft.location.map(Location::into_inner).unwrap_or_default(),
    ];
    let who = Author { openid: &author.openid, scene: TextScene::Forum };
    let ([title, description, location], verdict) =
        content::screen(&state.wechat, who, texts, WhenUnsure::Hold).await?;
    let (moderation, moderation_note) = match verdict {
        Verdict::Publish => (Moderation::Published, None),
        Verdict::Hold(reason) => (Moderation::Held, Some(reason.to_owned())),
    };
    let new = NewPost {
        community_id: draft.community.0,
        building_id: draft.building.map(|b| b.0),
        grid_id,
        author_id: actor.id.0,
        kind: draft.kind,
        category: draft.category.as_str().to_owned(),
        title: title.into_inner(),
        description: description.into_inner(),
        location: Some(location.into_inner()).filter(|l| !l.is_empty()),
        needed_at: draft.needed_at,
        expires_at,
        reward_minor: draft.reward.minor(),
        moderation,
        moderation_note,
    };
    let reward = draft.reward;
    let created = retrying(state, async |txn| {
        let row = store::insert(txn, clone_new(&new), now).await?;
        if reward.is_zero() {
            return Ok(row);
        }
        let hold = RewardHold { community: draft.community, poster: actor.id, amount: reward, help_post: row.id };
        let held = points::hold_reward(txn, &hold, now).await?;
        store::set_hold(txn, row.id, &held.id.to_text()).await?;
        Ok(help_post::Model { hold_transfer_id: Some(held.id.to_text()), ..row })
    })
    .await?;
    wallet::changed(state, [actor.id]).await;
    Ok(created)
}

fn clone_new(new: &NewPost) -> NewPost {
    NewPost {
        category: new.category.clone(),
        title: new.title.clone(),
        description: new.description.clone(),
        location: new.location.clone(),
        moderation_note: new.moderation_note.clone(),
        ..*new
    }
}

/// Takes `action` as the caller: the machine decides the next status from the status read, and the
/// compare-and-set on it lets one writer through. `extra` runs in the same transaction after it.
async fn act<T>(
    state: &AppState,
    actor: &Actor,
    id: i64,
    action: Action,
    change: impl Fn(DateTime<Utc>) -> Change,
    extra: impl AsyncFn(&DatabaseTransaction, &help_post::Model, DateTime<Utc>) -> Result<T, Failure>,
) -> ApiResult<(help_post::Model, T)> {
    let now = state.clock.now();
    visible(state, actor, id).await?;
    let acted = retrying(state, async |txn| {
        let post = store::get(txn, id).await?;
        let from = store::status_of(&post)?;
        let role = match role_of(actor, &post) {
            Role::Neighbour if action == Action::Decide => Role::Committee,
            role => role,
        };
        let to = lifecycle::next(from, action, role).ok_or_else(|| match (action, role) {
            (Action::Claim, Role::Author) => HelpPostError::OwnPost.into(),
            (Action::Withdraw | Action::Complete | Action::Confirm | Action::Cancel, Role::Neighbour) => {
                Failure::Answer(ApiError::Forbidden)
            }
            (Action::Claim, _) if from != Status::Open => HelpPostError::AlreadyClaimed.into(),
            _ => refused(action, from),
        })?;
        if !store::compare_and_set(txn, id, from, to, change(now), now).await? {
            return Err(if action == Action::Claim {
                HelpPostError::AlreadyClaimed.into()
            } else {
                refused(action, from)
            });
        }
        let moved = store::get(txn, id).await?;
        let done = extra(txn, &moved, now).await?;
        Ok((store::get(txn, id).await?, done))
    })
    .await?;
    // Holds are released, rewards paid and bonuses awarded by the actions' `extra`.
    wallet::changed(state, parties(&acted.0)).await;
    Ok(acted)
}

/// The poster and the helper, whose points and hours a post's steps move.
pub fn parties(post: &help_post::Model) -> impl Iterator<Item = UserId> + use<> {
    [Some(post.author_id), post.helper_id].into_iter().flatten().map(UserId)
}

async fn nothing(_: &DatabaseTransaction, _: &help_post::Model, _: DateTime<Utc>) -> Result<(), Failure> {
    Ok(())
}

/// A neighbour claims the post; the first claim wins, the rest get `ALREADY_CLAIMED`. The poster is
/// told (in the claiming transaction, pushed after it commits) that someone is coming.
pub async fn claim(state: &AppState, actor: &Actor, id: i64) -> ApiResult<help_post::Model> {
    let me = actor.id.0;
    let change = |now| Change { helper_id: Some(Some(me)), claimed_at: Some(Some(now)), ..Change::default() };
    let (post, told) = act(state, actor, id, Action::Claim, change, tell_claimed).await?;
    told.push(state).await;
    Ok(post)
}

/// The helper withdraws the claim; the post is open again.
pub async fn withdraw(state: &AppState, actor: &Actor, id: i64) -> ApiResult<help_post::Model> {
    let change = |_| Change { helper_id: Some(None), claimed_at: Some(None), ..Change::default() };
    Ok(act(state, actor, id, Action::Withdraw, change, nothing).await?.0)
}

/// The helper marks the help done; the poster is told to confirm it.
pub async fn complete(state: &AppState, actor: &Actor, id: i64) -> ApiResult<help_post::Model> {
    let change = |now| Change { done_at: Some(now), ..Change::default() };
    let (post, told) = act(state, actor, id, Action::Complete, change, tell_done).await?;
    told.push(state).await;
    Ok(post)
}

/// The poster cancels before the help is done: the hold is released in the same transaction.
pub async fn cancel(state: &AppState, actor: &Actor, id: i64) -> ApiResult<help_post::Model> {
    let change = |now| Change { finished_at: Some(now), ..Change::default() };
    Ok(act(state, actor, id, Action::Cancel, change, release_hold).await?.0)
}

async fn tell_claimed(
    txn: &DatabaseTransaction,
    post: &help_post::Model,
    now: DateTime<Utc>,
) -> Result<Notices, Failure> {
    Ok(Notices::record(txn, Told::Claimed, post, now).await?)
}

async fn tell_done(txn: &DatabaseTransaction, post: &help_post::Model, now: DateTime<Utc>) -> Result<Notices, Failure> {
    Ok(Notices::record(txn, Told::Done, post, now).await?)
}

async fn release_hold(txn: &DatabaseTransaction, post: &help_post::Model, now: DateTime<Utc>) -> Result<(), Failure> {
    if let Some(hold) = hold_of(post)? {
        points::release(txn, hold, now).await?;
    }
    Ok(())
}

/// Pays the helper `amount` of the hold (all of it when `None`); the rest goes back to the poster.
async fn pay(
    txn: &DatabaseTransaction,
    post: &help_post::Model,
    amount: Option<Points>,
    now: DateTime<Utc>,
) -> Result<(), Failure> {
    let (Some(hold), Some(helper)) = (hold_of(post)?, post.helper_id) else {
        return Ok(());
    };
    let paid = points::pay_reward(txn, hold, UserId(helper), amount, now).await?;
    store::set_payment(txn, post.id, &paid.id.to_text(), paid.amount.minor()).await?;
    Ok(())
}

/// What the poster says when confirming.
pub struct Confirmation {
    /// Minutes of service to put on the helper's permanent record.
    pub minutes: Option<i64>,
    pub rating: Option<i32>,
    pub rating_text: Option<RatingText>,
}

/// The poster confirms the help: the hold is paid to the helper in the same transaction as the
/// status change, and the confirmed minutes go on the helper's record of service hours.
pub async fn confirm(state: &AppState, actor: &Actor, id: i64, said: Confirmation) -> ApiResult<help_post::Model> {
    let rating_text = match said.rating_text {
        Some(text) => Some(
            crate::identity::author::screen(state, actor.id, TextScene::Comment, text.into_inner()).await?.into_inner(),
        ),
        None => None,
    };
    let change = |now| Change {
        finished_at: Some(now),
        rating: said.rating,
        rating_text: rating_text.clone(),
        ..Change::default()
    };
    let daily_hours_max = state.settings.hours.daily_hours_max;
    let paid_and_counted = async |txn: &DatabaseTransaction, post: &help_post::Model, now| {
        pay(txn, post, None, now).await?;
        award_bonus(txn, post, now).await?;
        let mut record = None;
        if let (Some(minutes), Some(helper)) = (said.minutes, post.helper_id) {
            let hours = HelpHours {
                community: CommunityId(post.community_id),
                help_post: post.id,
                helper: UserId(helper),
                minutes,
                confirmed_by: actor.id,
            };
            record = Some(from_help::record_help_hours(txn, &hours, daily_hours_max, now).await?);
        }
        let post = store::get(txn, post.id).await?;
        Ok((record, Notices::record(txn, Told::Confirmed, &post, now).await?))
    };
    let (post, (record, told)) = act(state, actor, id, Action::Confirm, change, paid_and_counted).await?;
    if let Some(record) = record {
        from_help::count_on_leaderboards(state, &record).await;
        crate::scenes::requests::service::stats_changed(state, [CommunityId(record.community_id)]).await;
    }
    told.push(state).await;
    Ok(post)
}

/// The community's bonus from issuance for the helper, when it set one, in the confirming
/// transaction (its transfer id derived from the post, so a retry finds it instead of paying twice).
async fn award_bonus(txn: &DatabaseTransaction, post: &help_post::Model, now: DateTime<Utc>) -> Result<(), Failure> {
    let community = CommunityId(post.community_id);
    let bonus = settings::of(txn, community).await?.confirmation_bonus;
    let Some(helper) = post.helper_id.filter(|_| !bonus.is_zero()) else {
        return Ok(());
    };
    let award = Award { community, user: UserId(helper), amount: bonus, key: AwardKey::AidBonus(post.id) };
    let posted = points::award(txn, &award, now).await?;
    store::set_bonus(txn, post.id, posted.amount.minor()).await?;
    Ok(())
}

/// The committee decides a disputed post: pay the helper, release the hold to the poster, or split
/// it (a partial post of the hold). Neither the author nor the helper decides it.
pub async fn decide(
    state: &AppState,
    actor: &Actor,
    id: i64,
    outcome: Outcome,
    amount: Option<Points>,
) -> ApiResult<help_post::Model> {
    let post = visible(state, actor, id).await?;
    if !is_committee(actor, CommunityId(post.community_id)) {
        return Err(ApiError::Forbidden);
    }
    let helper = post.helper_id.map(UserId);
    authz::not_a_party(actor.id, &Case::HelpPost { author: UserId(post.author_id), helper })?;
    if (outcome == Outcome::Split) != amount.is_some() {
        return Err(ApiError::validation("amount", "required for a split, and only for a split"));
    }
    let me = actor.id.0;
    let change =
        |now| Change { finished_at: Some(now), outcome: Some(outcome), decided_by: Some(me), ..Change::default() };
    let settle = async |txn: &DatabaseTransaction, post: &help_post::Model, now| match outcome {
        Outcome::Pay => pay(txn, post, None, now).await,
        Outcome::Split => pay(txn, post, amount, now).await,
        Outcome::Release => release_hold(txn, post, now).await,
    };
    Ok(act(state, actor, id, Action::Decide, change, settle).await?.0)
}

/// Anyone who sees a published post may report it; it is hidden pending the committee's review.
pub async fn report(state: &AppState, actor: &Actor, id: i64, reason: Option<String>) -> ApiResult<help_post::Model> {
    // The committee reads the reason, so it is screened like any text another person reads.
    let reason = crate::identity::author::screen_optional(state, actor.id, TextScene::Comment, reason).await?;
    let post = visible(state, actor, id).await?;
    let now = state.clock.now();
    let reason = reason.map(|r| r.into_inner());
    store::set_moderation(&state.db, post.id, Moderation::Published, Moderation::Reported, reason, now).await?;
    store::get(&state.db, id).await
}

/// The committee publishes a reported or held post again after review.
pub async fn restore(state: &AppState, actor: &Actor, id: i64) -> ApiResult<help_post::Model> {
    let post = visible(state, actor, id).await?;
    if !is_committee(actor, CommunityId(post.community_id)) {
        return Err(ApiError::Forbidden);
    }
    let helper = post.helper_id.map(UserId);
    authz::not_a_party(actor.id, &Case::HelpPost { author: UserId(post.author_id), helper })?;
    let now = state.clock.now();
    let from = store::moderation_of(&post);
    if from == Moderation::Published {
        return Ok(post);
    }
    store::set_moderation(&state.db, id, from, Moderation::Published, None, now).await?;
    store::get(&state.db, id).await
}

/// Which posts a list shows.
pub enum Scope {
    /// Published posts of the caller's communities (or one of them), optionally in one building or
    /// grid, of one kind and status (open unless asked).
    Near {
        community: Option<CommunityId>,
        building: Option<i64>,
        grid: Option<i64>,
    },
    Mine,
    ClaimedByMe,
    /// The committee's queue of disputed posts in its community.
    Disputes(CommunityId),
}

enum ScopeKind {
    Near,
    Other,
}

pub async fn list(
    state: &AppState,
    actor: &Actor,
    scope: Scope,
    kind: Option<Kind>,
    status: Option<Status>,
    after_id: Option<i64>,
    limit: u64,
) -> ApiResult<Vec<help_post::Model>> {
    let mut condition = Condition::all();
    let scope_kind = if matches!(scope, Scope::Near { .. }) { ScopeKind::Near } else { ScopeKind::Other };
    match scope {
        Scope::Mine => condition = condition.add(help_post::Column::AuthorId.eq(actor.id.0)),
        Scope::ClaimedByMe => condition = condition.add(help_post::Column::HelperId.eq(actor.id.0)),
        Scope::Disputes(community) => {
            if !is_committee(actor, community) {
                return Err(ApiError::Forbidden);
            }
            condition = condition
                .add(help_post::Column::CommunityId.eq(community.0))
                .add(help_post::Column::Status.eq(Status::Disputed.as_str()));
        }
        Scope::Near { community, building, grid } => {
            let communities: Vec<i64> = match community {
                Some(c) if actor.in_community(c) => vec![c.0],
                Some(_) => return Err(ApiError::NotFound("community")),
                None => actor.communities().into_iter().map(|c| c.0).collect(),
            };
            condition = condition
                .add(help_post::Column::CommunityId.is_in(communities))
                .add(help_post::Column::Moderation.eq(Moderation::Published.as_str()))
                .add(help_post::Column::Status.eq(status.unwrap_or(Status::Open).as_str()));
            if let Some(building) = building {
                condition = condition.add(help_post::Column::BuildingId.eq(building));
            }
            if let Some(grid) = grid {
                condition = condition.add(help_post::Column::GridId.eq(grid));
            }
        }
    }
    if let (Some(status), false) = (status, matches!(scope_kind, ScopeKind::Near)) {
        condition = condition.add(help_post::Column::Status.eq(status.as_str()));
    }
    if let Some(kind) = kind {
        condition = condition.add(help_post::Column::Kind.eq(kind.as_str()));
    }
    store::page(&state.db, condition, after_id, limit).await
}
