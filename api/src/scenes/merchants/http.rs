//! HTTP of merchants, staff and offers: bodies, views, and handlers that parse, load the caller,
//! call a service function and show the result.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use ehome_entities::{merchant, offer};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

use super::lifecycle::{AllianceLevel, Decision, LimitPeriod, MerchantKind, MerchantStatus};
use super::offer_service::{self, OfferDraft};
use super::offers::Limit;
use super::service::{self, Application, MerchantFilter, Seen};
use crate::authz::Actor;
use crate::domain::media_url::MediaUrl;
use crate::domain::{CommunityId, Description, Label, Location, MerchantId, Note, OfferId, Phone, Title, UserId};
use crate::identity::auth::AuthUser;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::{PageQuery, page};
use crate::points::Points;
use crate::state::AppState;

/// Reads a field that may be absent (keep), `null` (clear) or a value.
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyBody {
    community_id: i64,
    name: String,
    kind: MerchantKind,
    business_category: String,
    address: String,
    contact_phone: String,
    licence_number: String,
    alliance_level: AllianceLevel,
}

fn parse_licence(raw: &str) -> ApiResult<String> {
    let text = raw.trim();
    let fits = (5..=30).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !fits {
        return Err(ApiError::validation("licence_number", "5 to 30 letters, digits or hyphens"));
    }
    Ok(text.to_ascii_uppercase())
}

fn parse_apply(body: ApplyBody) -> ApiResult<Application> {
    Ok(Application {
        community: CommunityId(body.community_id),
        name: Label::parse("name", &body.name)?,
        kind: body.kind,
        business_category: Label::parse("business_category", &body.business_category)?,
        address: Location::parse("address", &body.address)?,
        contact_phone: Phone::parse(&body.contact_phone).map_err(|why| ApiError::validation("contact_phone", why))?,
        licence_number: parse_licence(&body.licence_number)?,
        alliance_level: body.alliance_level,
    })
}

#[derive(Debug, Serialize)]
struct MerchantView {
    id: i64,
    community_id: i64,
    name: String,
    kind: String,
    business_category: String,
    address: String,
    alliance: AllianceView,
    status: String,
    /// Personal and business data: for the merchant's owner and its deciders only.
    #[serde(skip_serializing_if = "Option::is_none")]
    private: Option<PrivateView>,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
struct AllianceView {
    level: String,
    id: i64,
}

#[derive(Debug, Serialize)]
struct PrivateView {
    contact_phone: Option<String>,
    licence_number: String,
    owner_id: Option<i64>,
    decided_by: Option<i64>,
    decided_at: Option<DateTime<Utc>>,
    decision_note: Option<String>,
}

fn merchant_view(seen: Seen) -> MerchantView {
    let m = seen.merchant;
    let private = seen.private.then(|| PrivateView {
        contact_phone: m.contact_phone.clone(),
        licence_number: m.licence_number.clone(),
        owner_id: m.owner_id,
        decided_by: m.decided_by,
        decided_at: m.decided_at,
        decision_note: m.decision_note.clone(),
    });
    MerchantView {
        id: m.id,
        community_id: m.community_id,
        name: m.name,
        kind: m.kind,
        business_category: m.business_category,
        address: m.address,
        alliance: AllianceView { level: m.alliance_level, id: m.alliance_id },
        status: m.status,
        private,
        created_at: m.created_at,
    }
}

pub async fn apply(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<ApplyBody>,
) -> ApiResult<HttpResponse> {
    let application = parse_apply(body.into_inner())?;
    let actor = Actor::of(&state, caller).await?;
    let merchant = service::apply(&state, &actor, application).await?;
    Ok(HttpResponse::Created().json(merchant_view(Seen { merchant, private: true })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    community_id: Option<i64>,
    status: Option<MerchantStatus>,
    #[serde(default)]
    mine: bool,
    cursor: Option<String>,
    limit: Option<u64>,
}

pub async fn list(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let keyset = PageQuery { cursor: query.cursor, limit: query.limit }.keyset()?;
    let filter =
        MerchantFilter { community: query.community_id.map(CommunityId), status: query.status, mine: query.mine };
    let actor = Actor::of(&state, caller).await?;
    let rows = service::list(&state, &actor, filter, keyset.after_id, keyset.limit).await?;
    Ok(HttpResponse::Ok().json(page(rows, keyset.limit, |s| s.merchant.id, merchant_view)))
}

pub async fn detail(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let seen = service::visible(&state, &actor, MerchantId(path.into_inner())).await?;
    Ok(HttpResponse::Ok().json(merchant_view(seen)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    action: Decision,
    note: Option<String>,
}

pub async fn decide(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<DecisionBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let note = Note::parse_optional("note", body.note.as_deref())?;
    let actor = Actor::of(&state, caller).await?;
    let merchant = service::decide(&state, &actor, MerchantId(path.into_inner()), body.action, note).await?;
    Ok(HttpResponse::Ok().json(merchant_view(Seen { merchant, private: true })))
}

pub async fn invite(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let issued = service::invite_staff(&state, &actor, MerchantId(path.into_inner())).await?;
    Ok(HttpResponse::Created().json(json!({
        "id": issued.invite.id,
        "merchant_id": issued.invite.merchant_id,
        "code": issued.code,
        "expires_at": issued.invite.expires_at,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinBody {
    code: String,
}

pub async fn join(state: web::Data<AppState>, caller: AuthUser, body: web::Json<JoinBody>) -> ApiResult<HttpResponse> {
    let code = body.into_inner().code;
    if code.trim().is_empty() || code.len() > 64 {
        return Err(ApiError::validation("code", "the invite code you were given"));
    }
    let actor = Actor::of(&state, caller).await?;
    let merchant = service::join(&state, &actor, &code).await?;
    Ok(HttpResponse::Ok().json(json!({"merchant_id": merchant.id, "role": "merchant_staff"})))
}

pub async fn staff(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let people = service::staff(&state, &actor, MerchantId(path.into_inner())).await?;
    let items: Vec<_> = people.into_iter().map(|u| json!({"id": u.id, "nickname": u.nickname})).collect();
    Ok(HttpResponse::Ok().json(json!({"items": items})))
}

pub async fn remove_staff(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (merchant, member) = path.into_inner();
    let actor = Actor::of(&state, caller).await?;
    service::remove_staff(&state, &actor, MerchantId(merchant), UserId(member)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitBody {
    quantity: i32,
    period: LimitPeriod,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferBody {
    title: Option<String>,
    description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    photo_url: Option<Option<String>>,
    price_points: Option<String>,
    #[serde(default, deserialize_with = "present")]
    stock: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    limit: Option<Option<LimitBody>>,
    valid_from: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
}

fn parse_offer(body: OfferBody, state: &AppState) -> ApiResult<OfferDraft> {
    let hosts = &state.settings.security.media_hosts;
    let photo_url = match body.photo_url {
        Some(Some(url)) => Some(Some(MediaUrl::parse("photo_url", &url, hosts)?.into_inner())),
        other => other.map(|_| None),
    };
    let limit = match body.limit {
        Some(Some(limit)) if !(1..=1000).contains(&limit.quantity) => {
            return Err(ApiError::validation("limit.quantity", "1 to 1000"));
        }
        Some(Some(limit)) => Some(Some(Limit { quantity: limit.quantity, period: limit.period })),
        other => other.map(|_| None),
    };
    if let Some(Some(stock)) = body.stock
        && !(0..=10_000_000).contains(&stock)
    {
        return Err(ApiError::validation("stock", "0 to 10000000, or null for unlimited"));
    }
    let price = body.price_points.as_deref().map(Points::parse).transpose();
    Ok(OfferDraft {
        title: body.title.as_deref().map(|t| Title::parse("title", t)).transpose()?,
        description: Description::parse_optional("description", body.description.as_deref())?,
        photo_url,
        price: price.map_err(|err| ApiError::validation("price_points", err.to_string()))?,
        stock: body.stock,
        limit,
        valid_from: body.valid_from,
        valid_until: body.valid_until,
    })
}

#[derive(Debug, Serialize)]
pub struct OfferView {
    id: i64,
    merchant: serde_json::Value,
    title: String,
    description: String,
    photo_url: Option<String>,
    price_points: String,
    stock: Option<serde_json::Value>,
    limit: Option<serde_json::Value>,
    valid_from: DateTime<Utc>,
    valid_until: DateTime<Utc>,
    status: String,
}

fn offer_view((offer, merchant): (offer::Model, merchant::Model)) -> OfferView {
    let price = Points::from_minor(offer.price_minor).map(|p| p.to_string()).unwrap_or_default();
    let stock = offer.stock_total.map(|total| json!({"total": total, "available": (total - offer.stock_taken).max(0)}));
    let limit = offer
        .limit_quantity
        .zip(offer.limit_period.clone())
        .map(|(quantity, period)| json!({"quantity": quantity, "period": period}));
    OfferView {
        id: offer.id,
        merchant: json!({"id": merchant.id, "name": merchant.name, "kind": merchant.kind, "address": merchant.address}),
        title: offer.title,
        description: offer.description,
        photo_url: offer.photo_url,
        price_points: price,
        stock,
        limit,
        valid_from: offer.valid_from,
        valid_until: offer.valid_until,
        status: offer.status,
    }
}

pub async fn create_offer(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<OfferBody>,
) -> ApiResult<HttpResponse> {
    let draft = parse_offer(body.into_inner(), &state)?;
    let actor = Actor::of(&state, caller).await?;
    let id = MerchantId(path.into_inner());
    let offer = offer_service::create(&state, &actor, id, draft).await?;
    let merchant = service::visible(&state, &actor, id).await?.merchant;
    Ok(HttpResponse::Created().json(offer_view((offer, merchant))))
}

pub async fn merchant_offers(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let listed = offer_service::of_merchant(&state, &actor, MerchantId(path.into_inner())).await?;
    let items: Vec<OfferView> = listed.into_iter().map(offer_view).collect();
    Ok(HttpResponse::Ok().json(json!({"items": items})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OffersQuery {
    community_id: Option<i64>,
}

pub async fn offers(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<OffersQuery>,
) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let listed = offer_service::available(&state, &actor, query.community_id.map(CommunityId)).await?;
    let items: Vec<OfferView> = listed.into_iter().map(offer_view).collect();
    Ok(HttpResponse::Ok().json(json!({"items": items})))
}

pub async fn offer(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let found = offer_service::visible_offer(&state, &actor, OfferId(path.into_inner())).await?;
    Ok(HttpResponse::Ok().json(offer_view(found)))
}

pub async fn update_offer(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<OfferBody>,
) -> ApiResult<HttpResponse> {
    let draft = parse_offer(body.into_inner(), &state)?;
    let actor = Actor::of(&state, caller).await?;
    let offer = offer_service::update(&state, &actor, OfferId(path.into_inner()), draft).await?;
    let merchant = service::visible(&state, &actor, MerchantId(offer.merchant_id)).await?.merchant;
    Ok(HttpResponse::Ok().json(offer_view((offer, merchant))))
}

pub async fn withdraw_offer(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let offer = offer_service::withdraw(&state, &actor, OfferId(path.into_inner())).await?;
    let merchant = service::visible(&state, &actor, MerchantId(offer.merchant_id)).await?.merchant;
    Ok(HttpResponse::Ok().json(offer_view((offer, merchant))))
}
