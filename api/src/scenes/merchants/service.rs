//! The use cases of merchants: applications and the decisions on them, staff invites, and what a
//! caller may see. Each takes the app's state, the caller as an `Actor` and parsed input; it
//! authorises, screens text others will read, owns its transaction and returns rows.

use chrono::Duration;
use ehome_entities::{community, member_role, merchant, street, user};
use rand::Rng;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use sha2::{Digest, Sha256};

use super::error::MerchantError;
use super::lifecycle::{AllianceLevel, Decision, MerchantKind, MerchantStatus};
use super::store::{self, NewMerchant};
use crate::authz::{self, Actor, MerchantScope};
use crate::domain::{CommunityId, Label, Location, MerchantId, Note, Phone, Role, UserId};
use crate::identity::author;
use crate::platform::content::{self, Author, PublicText, WhenUnsure};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::wechat::TextScene;
use crate::scenes::community::service as community_service;
use crate::state::AppState;

/// How long a staff invite code can be used.
pub const INVITE_TTL_HOURS: i64 = 72;

/// An application as the owner typed it, validated.
pub struct Application {
    pub community: CommunityId,
    pub name: Label,
    pub kind: MerchantKind,
    pub business_category: Label,
    pub address: Location,
    pub contact_phone: Phone,
    pub licence_number: String,
    pub alliance_level: AllianceLevel,
}

/// The alliances a community belongs to: its own, its street's and its district's.
pub struct Alliances {
    pub communities: Vec<i64>,
    pub streets: Vec<i64>,
    pub districts: Vec<i64>,
}

impl Alliances {
    pub fn as_levels(&self) -> Vec<(AllianceLevel, Vec<i64>)> {
        vec![
            (AllianceLevel::Community, self.communities.clone()),
            (AllianceLevel::Street, self.streets.clone()),
            (AllianceLevel::District, self.districts.clone()),
        ]
    }
}

/// The alliances of these communities.
pub async fn alliances_of(db: &impl ConnectionTrait, communities: &[CommunityId]) -> ApiResult<Alliances> {
    let ids: Vec<i64> = communities.iter().map(|c| c.0).collect();
    let rows = community::Entity::find().filter(community::Column::Id.is_in(ids.clone())).all(db).await?;
    let streets: Vec<i64> = rows.iter().map(|c| c.street_id).collect();
    let street_rows = street::Entity::find().filter(street::Column::Id.is_in(streets.clone())).all(db).await?;
    let districts = street_rows.iter().map(|s| s.district_id).collect();
    Ok(Alliances { communities: ids, streets, districts })
}

/// The alliance a merchant of `community` joins at `level`: the community itself, its street or its
/// district.
async fn alliance_id(db: &impl ConnectionTrait, community: CommunityId, level: AllianceLevel) -> ApiResult<i64> {
    let found = alliances_of(db, &[community]).await?;
    let id = match level {
        AllianceLevel::Community => found.communities.first(),
        AllianceLevel::Street => found.streets.first(),
        AllianceLevel::District => found.districts.first(),
    };
    id.copied().ok_or_else(|| ApiError::validation("community_id", "no such community"))
}

/// A shop owner applies. The name, category and address are shown to residents, so screened.
pub async fn apply(state: &AppState, actor: &Actor, application: Application) -> ApiResult<merchant::Model> {
    let alliance_id = alliance_id(&state.db, application.community, application.alliance_level).await?;
    let owner = actor.user().clone();
    let texts =
        [application.name.into_inner(), application.business_category.into_inner(), application.address.into_inner()];
    let author = Author { openid: &owner.openid, scene: TextScene::Profile };
    let ([name, category, address], _) = content::screen(&state.wechat, author, texts, WhenUnsure::Refuse).await?;
    let new = NewMerchant {
        community: application.community,
        name: name.into_inner(),
        kind: application.kind,
        business_category: category.into_inner(),
        address: address.into_inner(),
        contact_phone: application.contact_phone.as_str().to_owned(),
        licence_number: application.licence_number,
        alliance_level: application.alliance_level,
        alliance_id,
        owner: actor.id,
    };
    store::insert(&state.db, new, state.clock.now()).await
}

/// A merchant and whether the caller may see its personal data.
pub struct Seen {
    pub merchant: merchant::Model,
    pub private: bool,
}

/// Which merchants the caller may see: approved ones of their alliances, the ones they own or work
/// for, every one of the communities whose committee they sit on, and all for an admin.
async fn visibility(db: &impl ConnectionTrait, actor: &Actor) -> ApiResult<Condition> {
    if actor.is_admin {
        return Ok(Condition::all());
    }
    let alliances = alliances_of(db, &actor.communities()).await?;
    let mut approved_here = Condition::any();
    for (level, ids) in alliances.as_levels() {
        approved_here = approved_here.add(
            Condition::all()
                .add(merchant::Column::AllianceLevel.eq(level.as_str()))
                .add(merchant::Column::AllianceId.is_in(ids)),
        );
    }
    let committees: Vec<i64> = actor.committee_communities().into_iter().map(|c| c.0).collect();
    let staff: Vec<i64> = actor.staff_of().into_iter().map(|m| m.0).collect();
    Ok(Condition::any()
        .add(Condition::all().add(merchant::Column::Status.eq(MerchantStatus::Approved.as_str())).add(approved_here))
        .add(merchant::Column::OwnerId.eq(actor.id.0))
        .add(merchant::Column::Id.is_in(staff))
        .add(merchant::Column::CommunityId.is_in(committees)))
}

/// A merchant the caller may see; one they may not does not exist for them.
pub async fn visible(state: &AppState, actor: &Actor, id: MerchantId) -> ApiResult<Seen> {
    let condition = Condition::all().add(visibility(&state.db, actor).await?).add(merchant::Column::Id.eq(id.0));
    let merchant = merchant::Entity::find().filter(condition).one(&state.db).await?;
    let merchant = merchant.ok_or(ApiError::NotFound("merchant"))?;
    let private = authz::view_merchant_private(actor, &store::scope_of(&merchant)?);
    Ok(Seen { merchant, private })
}

/// What a list of merchants is narrowed to.
pub struct MerchantFilter {
    pub community: Option<CommunityId>,
    pub status: Option<MerchantStatus>,
    /// Only the ones the caller owns or works for.
    pub mine: bool,
}

pub async fn list(
    state: &AppState,
    actor: &Actor,
    filter: MerchantFilter,
    after: Option<i64>,
    limit: u64,
) -> ApiResult<Vec<Seen>> {
    let mut condition = Condition::all().add(visibility(&state.db, actor).await?);
    if let Some(community) = filter.community {
        condition = condition.add(merchant::Column::CommunityId.eq(community.0));
    }
    if let Some(status) = filter.status {
        condition = condition.add(merchant::Column::Status.eq(status.as_str()));
    }
    if filter.mine {
        let staff: Vec<i64> = actor.staff_of().into_iter().map(|m| m.0).collect();
        condition = condition
            .add(Condition::any().add(merchant::Column::OwnerId.eq(actor.id.0)).add(merchant::Column::Id.is_in(staff)));
    }
    let rows = store::page(&state.db, condition, after, limit).await?;
    rows.into_iter()
        .map(|merchant| {
            let private = authz::view_merchant_private(actor, &store::scope_of(&merchant)?);
            Ok(Seen { merchant, private })
        })
        .collect()
}

/// Approves, rejects, suspends or reinstates a merchant. A suspension voids every code the shop has
/// not redeemed yet (their holds released, their stock and limits given back) in the same
/// transaction, so a suspended shop holds nobody's points.
pub async fn decide(
    state: &AppState,
    actor: &Actor,
    id: MerchantId,
    decision: Decision,
    note: Option<Note>,
) -> ApiResult<merchant::Model> {
    let merchant = store::get(&state.db, id).await?;
    authz::decide_merchant(actor, &store::scope_of(&merchant)?)?;
    if decision.needs_note() && note.is_none() {
        return Err(ApiError::validation("note", "a reason is required for this decision"));
    }
    let note = author::screen_optional(state, actor.id, TextScene::Comment, note.map(Note::into_inner)).await?;
    let now = state.clock.now();
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let decided = store::decide(&txn, &merchant, decision, actor.id, note.map(PublicText::into_inner), now).await?;
    let notices = if decision == Decision::Suspend {
        crate::scenes::redemptions::service::void_open_codes(&txn, id, now).await?
    } else {
        Vec::new()
    };
    txn.commit().await?;
    crate::scenes::wallet::changed(state, notices.iter().map(|notice| UserId(notice.user_id))).await;
    crate::scenes::notifications::push_all(state, notices, now).await;
    Ok(decided)
}

fn hash_code(code: &str) -> String {
    hex::encode(Sha256::digest(code.trim().to_ascii_uppercase().as_bytes()))
}

/// A new one-time invite code (12 characters without look-alikes), shown once.
fn new_invite_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..12).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}

/// An invite as issued: the code is shown once, only its hash is stored.
pub struct Invite {
    pub code: String,
    pub invite: ehome_entities::merchant_staff_invite::Model,
}

/// The owner invites a staff member: a one-time code that expires.
pub async fn invite_staff(state: &AppState, actor: &Actor, id: MerchantId) -> ApiResult<Invite> {
    let merchant = store::get(&state.db, id).await?;
    authz::manage_staff(actor, &store::scope_of(&merchant)?)?;
    if store::status_of(&merchant)? != MerchantStatus::Approved {
        return Err(MerchantError::MerchantNotApproved.into());
    }
    let now = state.clock.now();
    let code = new_invite_code();
    let expires_at = now + Duration::hours(INVITE_TTL_HOURS);
    let invite = store::insert_invite(&state.db, id, hash_code(&code), actor.id, expires_at, now).await?;
    Ok(Invite { code, invite })
}

/// A staff member joins with an invite code: marked used and the `merchant_staff` role granted,
/// scoped to the shop, in one transaction. Joining again with the code one already used is a no-op.
pub async fn join(state: &AppState, actor: &Actor, code: &str) -> ApiResult<merchant::Model> {
    let now = state.clock.now();
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let invite = store::invite_by_hash(&txn, &hash_code(code)).await?.ok_or(ApiError::NotFound("invite"))?;
    let merchant = store::get(&txn, MerchantId(invite.merchant_id)).await?;
    match invite.used_by {
        Some(user) if user == actor.id.0 => {}
        Some(_) => return Err(MerchantError::InviteUsed.into()),
        None if invite.expires_at <= now => return Err(MerchantError::InviteExpired.into()),
        None => {
            if !store::use_invite(&txn, &invite, actor.id, now).await? {
                return Err(MerchantError::InviteUsed.into());
            }
        }
    }
    let community = CommunityId(merchant.community_id);
    community_service::grant(&txn, community, actor.id, Role::MerchantStaff, merchant.id, now).await?;
    txn.commit().await?;
    crate::identity::caller::changed(state, actor.id).await;
    Ok(merchant)
}

/// A shop's staff, for its owner and its deciders.
pub async fn staff(state: &AppState, actor: &Actor, id: MerchantId) -> ApiResult<Vec<user::Model>> {
    let merchant = store::get(&state.db, id).await?;
    if !authz::view_merchant_private(actor, &store::scope_of(&merchant)?) {
        return Err(ApiError::Forbidden);
    }
    let rows = member_role::Entity::find()
        .filter(member_role::Column::CommunityId.eq(merchant.community_id))
        .filter(member_role::Column::Role.eq(Role::MerchantStaff.as_str()))
        .filter(member_role::Column::ScopeId.eq(merchant.id))
        .all(&state.db)
        .await?;
    Ok(user::Entity::find().filter(user::Column::Id.is_in(rows.iter().map(|r| r.user_id))).all(&state.db).await?)
}

/// The owner removes a staff member: the scoped role goes, and with it their access to the counter.
pub async fn remove_staff(state: &AppState, actor: &Actor, id: MerchantId, member: UserId) -> ApiResult<()> {
    let merchant = store::get(&state.db, id).await?;
    authz::manage_staff(actor, &store::scope_of(&merchant)?)?;
    let community = CommunityId(merchant.community_id);
    if !community_service::revoke_scoped(&state.db, community, member, Role::MerchantStaff, merchant.id).await? {
        return Err(ApiError::NotFound("staff member"));
    }
    crate::identity::caller::changed(state, member).await;
    Ok(())
}

/// The merchant and its policy scope, for another scene (redemptions).
pub async fn merchant_with_scope(
    db: &impl ConnectionTrait,
    id: MerchantId,
) -> ApiResult<(merchant::Model, MerchantScope)> {
    let merchant = store::get(db, id).await?;
    let scope = store::scope_of(&merchant)?;
    Ok((merchant, scope))
}

pub fn is_approved(merchant: &merchant::Model) -> ApiResult<bool> {
    Ok(store::status_of(merchant)? == MerchantStatus::Approved)
}

/// The merchants a user owns.
pub async fn owned_by(db: &impl ConnectionTrait, owner: UserId) -> ApiResult<Vec<MerchantId>> {
    let rows = merchant::Entity::find().filter(merchant::Column::OwnerId.eq(owner.0)).all(db).await?;
    Ok(rows.into_iter().map(|m| MerchantId(m.id)).collect())
}

/// Whether the merchant is a welfare supermarket, run by the community: settled without CNY.
pub fn is_welfare_supermarket(merchant: &merchant::Model) -> ApiResult<bool> {
    let kind = MerchantKind::parse(&merchant.kind)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown stored merchant kind {:?}", merchant.kind)))?;
    Ok(kind == MerchantKind::WelfareSupermarket)
}

/// Every merchant of a community (any status, any alliance level), by id; all merchants for `None`.
pub async fn of_community(
    db: &impl ConnectionTrait,
    community: Option<CommunityId>,
) -> ApiResult<Vec<merchant::Model>> {
    let mut query = merchant::Entity::find().order_by_asc(merchant::Column::Id);
    if let Some(community) = community {
        query = query.filter(merchant::Column::CommunityId.eq(community.0));
    }
    Ok(query.all(db).await?)
}

/// Titles of offers by id (for statements and reports).
pub async fn offer_titles(db: &impl ConnectionTrait, ids: &[i64]) -> ApiResult<std::collections::HashMap<i64, String>> {
    let rows = ehome_entities::offer::Entity::find()
        .filter(ehome_entities::offer::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|o| (o.id, o.title)).collect())
}
