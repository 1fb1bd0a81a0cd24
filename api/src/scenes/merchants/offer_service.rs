//! The use cases of offers: the owner and staff create, change and withdraw them (their text
//! screened, since residents read it); residents see the offers of their community's, their
//! street's and their district's alliances while the merchant is approved and the offer valid.

use chrono::{DateTime, Utc};
use ehome_entities::{merchant, offer};

use super::lifecycle::{AllianceLevel, MerchantStatus, OfferStatus};
use super::offers::{self, OfferFields};
use super::service::{self as merchants, alliances_of};
use super::store;
use crate::authz::{self, Actor};
use crate::domain::{CommunityId, Description, MerchantId, OfferId, Title};
use crate::platform::content::{self, Author, WhenUnsure};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::wechat::TextScene;
use crate::points::Points;
use crate::state::AppState;

/// Stock and limit reservations, for the redemptions scene's transactions.
pub use super::offers::{Limit, give_back_stock, limit_of, release_limit, reserve_limit, reserve_stock};

/// An offer as the shop typed it, validated; on a change, absent fields keep their value.
pub struct OfferDraft {
    pub title: Option<Title>,
    pub description: Option<Description>,
    /// `Some(None)` removes the photo.
    pub photo_url: Option<Option<String>>,
    pub price: Option<Points>,
    /// `Some(None)`: unlimited.
    pub stock: Option<Option<i64>>,
    /// `Some(None)`: no per-person limit.
    pub limit: Option<Option<Limit>>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
}

fn required<T>(field: &str, value: Option<T>) -> ApiResult<T> {
    value.ok_or_else(|| ApiError::validation(field, "required"))
}

/// The fields of a new offer, or of `current` changed by the draft; title and description screened.
async fn fields(
    state: &AppState,
    actor: &Actor,
    current: Option<&offer::Model>,
    draft: OfferDraft,
) -> ApiResult<OfferFields> {
    let title = match (draft.title, current) {
        (Some(title), _) => title.into_inner(),
        (None, Some(current)) => current.title.clone(),
        (None, None) => return Err(ApiError::validation("title", "required")),
    };
    let description = match (draft.description, current) {
        (Some(text), _) => text.into_inner(),
        (None, Some(current)) => current.description.clone(),
        (None, None) => String::new(),
    };
    let price_minor = match (draft.price, current) {
        (Some(price), _) => price.minor(),
        (None, Some(current)) => current.price_minor,
        (None, None) => required("price_points", None::<Points>)?.minor(),
    };
    if price_minor <= 0 {
        return Err(ApiError::validation("price_points", "must be positive"));
    }
    let valid_from = draft.valid_from.or(current.map(|c| c.valid_from)).unwrap_or_else(|| state.clock.now());
    let valid_until = required("valid_until", draft.valid_until.or(current.map(|c| c.valid_until)))?;
    if valid_until <= valid_from {
        return Err(ApiError::validation("valid_until", "must be after valid_from"));
    }
    let limit = match draft.limit {
        Some(limit) => limit,
        None => current.map(offers::limit_of).transpose()?.flatten(),
    };
    let user = actor.user().clone();
    let author = Author { openid: &user.openid, scene: TextScene::Forum };
    let ([title, description], _) =
        content::screen(&state.wechat, author, [title, description], WhenUnsure::Refuse).await?;
    Ok(OfferFields {
        title: title.into_inner(),
        description: description.into_inner(),
        photo_url: draft.photo_url.unwrap_or_else(|| current.and_then(|c| c.photo_url.clone())),
        price_minor,
        stock_total: draft.stock.unwrap_or_else(|| current.and_then(|c| c.stock_total)),
        limit,
        valid_from,
        valid_until,
    })
}

pub async fn create(state: &AppState, actor: &Actor, id: MerchantId, draft: OfferDraft) -> ApiResult<offer::Model> {
    let merchant = store::get(&state.db, id).await?;
    authz::manage_offers(actor, &store::scope_of(&merchant)?)?;
    let fields = fields(state, actor, None, draft).await?;
    offers::insert(&state.db, id, fields, actor.id, state.clock.now()).await
}

/// An offer and its merchant, for the merchant's owner and staff.
async fn managed(state: &AppState, actor: &Actor, id: OfferId) -> ApiResult<(offer::Model, merchant::Model)> {
    let offer = offers::get(&state.db, id).await?;
    let merchant = store::get(&state.db, MerchantId(offer.merchant_id)).await?;
    let scope = store::scope_of(&merchant)?;
    if !actor.works_for(&scope) {
        // Whoever may not manage it sees it as residents do, or not at all.
        return match visible_offer(state, actor, id).await {
            Ok(_) => Err(ApiError::Forbidden),
            Err(err) => Err(err),
        };
    }
    Ok((offer, merchant))
}

pub async fn update(state: &AppState, actor: &Actor, id: OfferId, draft: OfferDraft) -> ApiResult<offer::Model> {
    let (current, _) = managed(state, actor, id).await?;
    let fields = fields(state, actor, Some(&current), draft).await?;
    offers::update(&state.db, current, fields, state.clock.now()).await
}

/// Withdraws an offer: residents no longer see it and no new code is issued for it; codes already
/// issued may still be redeemed until they expire.
pub async fn withdraw(state: &AppState, actor: &Actor, id: OfferId) -> ApiResult<offer::Model> {
    let (current, _) = managed(state, actor, id).await?;
    offers::set_status(&state.db, current, OfferStatus::Withdrawn, state.clock.now()).await
}

/// Offers with their merchants, as a list shows them.
pub type Listed = Vec<(offer::Model, merchant::Model)>;

/// The offers a resident may use now: of approved merchants in their alliances, active and valid.
/// Narrowed to one community's alliances when `community` is given.
pub async fn available(state: &AppState, actor: &Actor, community: Option<CommunityId>) -> ApiResult<Listed> {
    let communities = match community {
        Some(community) if actor.in_community(community) => vec![community],
        Some(_) => return Err(ApiError::Forbidden),
        None => actor.communities(),
    };
    let alliances = alliances_of(&state.db, &communities).await?;
    let shops = store::in_alliances(&state.db, &alliances.as_levels(), &[MerchantStatus::Approved]).await?;
    let ids: Vec<i64> = shops.iter().map(|m| m.id).collect();
    let offers = offers::of_merchants(&state.db, &ids, Some(state.clock.now())).await?;
    Ok(with_merchants(offers, &shops))
}

fn with_merchants(offers: Vec<offer::Model>, shops: &[merchant::Model]) -> Listed {
    offers
        .into_iter()
        .filter_map(|offer| shops.iter().find(|m| m.id == offer.merchant_id).map(|m| (offer, m.clone())))
        .collect()
}

/// A merchant's offers: all of them for its staff and deciders, the available ones for residents.
pub async fn of_merchant(state: &AppState, actor: &Actor, id: MerchantId) -> ApiResult<Listed> {
    let seen = merchants::visible(state, actor, id).await?;
    let scope = store::scope_of(&seen.merchant)?;
    let everything = actor.works_for(&scope) || seen.private;
    let shown_from = (!everything).then(|| state.clock.now());
    if !everything && store::status_of(&seen.merchant)? != MerchantStatus::Approved {
        return Ok(Vec::new());
    }
    let offers = offers::of_merchants(&state.db, &[id.0], shown_from).await?;
    Ok(with_merchants(offers, &[seen.merchant]))
}

/// An offer the resident may redeem now, with its merchant: the merchant approved and in one of the
/// resident's alliances, the offer active and valid. Any other is not found.
pub async fn visible_offer(state: &AppState, actor: &Actor, id: OfferId) -> ApiResult<(offer::Model, merchant::Model)> {
    let offer = offers::get(&state.db, id).await?;
    let merchant = store::get(&state.db, MerchantId(offer.merchant_id)).await?;
    let alliances = alliances_of(&state.db, &actor.communities()).await?;
    let level = store::level_of(&merchant)?;
    let ids = match level {
        AllianceLevel::Community => &alliances.communities,
        AllianceLevel::Street => &alliances.streets,
        AllianceLevel::District => &alliances.districts,
    };
    let now = state.clock.now();
    let open = offers::status_of(&offer)? == OfferStatus::Active && offer.valid_from <= now && now < offer.valid_until;
    let approved = store::status_of(&merchant)? == MerchantStatus::Approved;
    if !(ids.contains(&merchant.alliance_id) && open && approved) {
        return Err(ApiError::NotFound("offer"));
    }
    Ok((offer, merchant))
}

/// An offer by id, whatever its status (a redemption names the offer it was for).
pub async fn offer_by_id(db: &impl sea_orm::ConnectionTrait, id: OfferId) -> ApiResult<offer::Model> {
    offers::get(db, id).await
}
