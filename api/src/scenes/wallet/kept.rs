//! Wallets kept per instance (`platform::kept`), so that `GET /me/points` usually costs one
//! shared-cache read instead of three statements. A wallet is read from the ledger and the hour
//! records; every use case that commits a change to a resident's points or hours calls [`changed`]
//! for that resident after its commit and before it answers, so no instance shows a balance older
//! than the last answered change. What else keeps a kept wallet honest:
//! - it is kept for the Shanghai day it was read on (the expiry forecast counts from today);
//! - a wallet with points on hold is not kept: the ledger's own job voids timed-out holds and knows
//!   no resident to tell;
//! - `POINTS_WALLET_CACHE_TTL_MS` (default 5 s, 0: keep none) bounds changes made behind the API's back.

use std::sync::Arc;

use chrono::NaiveDate;

use super::service::{self, Wallet};
use crate::domain::UserId;
use crate::platform::error::ApiResult;
use crate::platform::kept::Kept;
use crate::points::shanghai_day;
use crate::state::AppState;

/// The kind of the wallets' tokens in the shared cache (`wallet:{user}`).
pub const TOKENS: &str = "wallet";

/// A wallet and the day it was read on.
pub struct KeptWallet {
    day: NaiveDate,
    pub wallet: Wallet,
}

/// The per-instance store of wallets (part of `AppState`).
pub type WalletCache = Kept<KeptWallet>;

/// The resident's wallet: kept while their wallet token and the day are unchanged, else read.
pub async fn wallet(state: &AppState, user: UserId) -> ApiResult<Arc<KeptWallet>> {
    let day = shanghai_day(state.clock.now());
    let lookup = state.wallets.lookup(&state.cache, user.0).await;
    if let Some(found) = lookup.found.as_ref().filter(|kept| kept.day == day) {
        return Ok(found.clone());
    }
    let read = Arc::new(KeptWallet { day, wallet: service::wallet(state, user).await? });
    if read.wallet.balance.on_hold.is_zero() {
        state.wallets.keep(user.0, lookup, &read);
    }
    Ok(read)
}

/// Call after committing a change to these residents' points or hours, before answering.
/// The tokens are replaced side by side (a bulk approval tells a thousand volunteers at once; Redis
/// pipelines them on its one connection).
pub async fn changed(state: &AppState, users: impl IntoIterator<Item = UserId>) {
    futures::future::join_all(users.into_iter().map(|user| state.wallets.changed(&state.cache, user.0))).await;
}
