//! HTTP of the books: each handler authorises a platform admin and calls the ledger crate, which owns
//! the reads, verification and export.

use actix_web::{HttpResponse, web};
use ehome_ledger::{Account, Asset, ExportFormat, ExportOptions, LedgerError, Transfer, TransferId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::authz::{self, Actor};
use crate::identity::auth::AuthUser;
use crate::platform::error::{ApiError, ApiResult};
use crate::scenes::settlements::report::{self as settlements, MerchantsCheck};
use crate::state::AppState;

/// Minor units as the API shows amounts: a decimal string with the asset's two places.
fn decimal(minor: i64) -> String {
    Decimal::new(minor, 2).to_string()
}

fn ledger_error(err: LedgerError) -> ApiError {
    match err {
        LedgerError::UnknownAccountCode(_) | LedgerError::UnknownAccount(_) => ApiError::NotFound("ledger account"),
        LedgerError::UnknownTransfer(_) => ApiError::NotFound("transfer"),
        other => ApiError::internal(anyhow::Error::new(other).context("ledger")),
    }
}

#[derive(Debug, Serialize)]
struct AccountView {
    id: i64,
    code: String,
    asset: String,
    flags: Vec<&'static str>,
    debits_posted: String,
    credits_posted: String,
    debits_pending: String,
    credits_pending: String,
    /// Credits minus debits, posted only.
    balance_posted: String,
    /// Posted balance less pending debits: what can still be spent.
    balance_available: String,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        let mut flags = Vec::new();
        if a.flags.debits_must_not_exceed_credits() {
            flags.push("debits_must_not_exceed_credits");
        }
        if a.flags.credits_must_not_exceed_debits() {
            flags.push("credits_must_not_exceed_debits");
        }
        if a.flags.closed() {
            flags.push("closed");
        }
        let posted = a.credits_posted.saturating_sub(a.debits_posted);
        AccountView {
            id: a.id.0,
            code: a.code,
            asset: a.asset.code().to_owned(),
            flags,
            debits_posted: decimal(a.debits_posted),
            credits_posted: decimal(a.credits_posted),
            debits_pending: decimal(a.debits_pending),
            credits_pending: decimal(a.credits_pending),
            balance_posted: decimal(posted),
            balance_available: decimal(posted.saturating_sub(a.debits_pending)),
        }
    }
}

pub async fn get_account(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    authz::ledger_admin(&Actor::of(&state, caller).await?)?;
    let account = ehome_ledger::account_by_code(&state.db, &path.into_inner()).await.map_err(ledger_error)?;
    Ok(HttpResponse::Ok().json(AccountView::from(account)))
}

#[derive(Debug, Serialize)]
struct TransferView {
    #[serde(flatten)]
    transfer: Transfer,
    amount_decimal: String,
}

pub async fn get_transfer(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    authz::ledger_admin(&Actor::of(&state, caller).await?)?;
    let id = TransferId::parse(&path.into_inner()).map_err(|_| ApiError::validation("id", "a transfer UUID"))?;
    let transfer = ehome_ledger::transfer(&state.db, id).await.map_err(ledger_error)?;
    let amount_decimal = decimal(transfer.amount);
    Ok(HttpResponse::Ok().json(TransferView { transfer, amount_decimal }))
}

/// The per-merchant check in one read transaction, so its three sides are read as of one instant.
pub async fn check_merchants(db: &sea_orm::DatabaseConnection) -> ApiResult<MerchantsCheck> {
    use sea_orm::{AccessMode, IsolationLevel, TransactionTrait};
    let txn = db.begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly)).await?;
    let check = settlements::check_merchants(&txn).await;
    txn.rollback().await?;
    check
}

pub async fn verify(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    authz::ledger_admin(&Actor::of(&state, caller).await?)?;
    let ledger = ehome_ledger::Ledger::new(state.db.clone());
    let report = ledger.verify(&mut |_, _| {}).await.map_err(ledger_error)?;
    // The application's own check beside the ledger's: per merchant, captured = settled + outstanding.
    let merchants = check_merchants(&state.db).await?;
    let clean = report.is_clean() && merchants.is_clean();
    Ok(HttpResponse::Ok().json(serde_json::json!({"clean": clean, "report": report, "merchants": merchants})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    format: String,
    asset: Option<String>,
    until: Option<chrono::DateTime<chrono::Utc>>,
}

pub async fn export(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let format: ExportFormat = query.format.parse().map_err(|reason: String| ApiError::validation("format", reason))?;
    let asset = query
        .asset
        .as_deref()
        .map(str::parse::<Asset>)
        .transpose()
        .map_err(|_| ApiError::validation("asset", "POINTS or CNY"))?;
    authz::ledger_admin(&Actor::of(&state, caller).await?)?;
    let mut options = ExportOptions::new(format);
    options.asset = asset;
    options.until = query.until;
    let mut journal = Vec::new();
    ehome_ledger::export(&state.db, &options, &mut journal, &mut |_, _| {}).await.map_err(ledger_error)?;
    Ok(HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(journal))
}
