//! A community's help-post settings: the bonus its helpers receive from issuance when a poster
//! confirms their help (off unless the committee sets one). A community without a row has no bonus.

use chrono::{DateTime, Utc};
use ehome_entities::help_post_settings;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use super::service::is_committee;
use crate::authz::Actor;
use crate::domain::CommunityId;
use crate::platform::error::{ApiError, ApiResult};
use crate::points::Points;
use crate::scenes::community::service as community;
use crate::state::AppState;

/// The most a confirmation bonus may be, in minor units (100.00 points).
pub const BONUS_MAX_MINOR: i64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Points from issuance for the helper of each confirmed post; zero is off.
    pub confirmation_bonus: Points,
}

impl Settings {
    const OFF: Settings = Settings { confirmation_bonus: Points::ZERO };
}

/// The settings in force for `community` (read in the caller's transaction when it confirms a post).
pub async fn of(db: &impl ConnectionTrait, community: CommunityId) -> ApiResult<Settings> {
    let Some(row) = help_post_settings::Entity::find_by_id(community.0).one(db).await? else {
        return Ok(Settings::OFF);
    };
    let confirmation_bonus = Points::from_minor(row.confirmation_bonus_minor)
        .map_err(|err| ApiError::internal(anyhow::anyhow!("help_post_settings.confirmation_bonus_minor: {err}")))?;
    Ok(Settings { confirmation_bonus })
}

/// Members of the community read the settings (a resident sees what helping earns).
pub async fn read(state: &AppState, actor: &Actor, id: CommunityId) -> ApiResult<Settings> {
    let found = community::get_community(&state.db, id).await?;
    if !actor.in_community(CommunityId(found.id)) {
        return Err(ApiError::Forbidden);
    }
    of(&state.db, CommunityId(found.id)).await
}

/// The committee (or an admin) sets them; the bonus applies to confirmations from then on.
pub async fn write(state: &AppState, actor: &Actor, id: CommunityId, settings: Settings) -> ApiResult<Settings> {
    let found = community::get_community(&state.db, id).await?;
    if !is_committee(actor, CommunityId(found.id)) {
        return Err(ApiError::Forbidden);
    }
    if settings.confirmation_bonus.minor() > BONUS_MAX_MINOR {
        return Err(ApiError::validation("confirmation_bonus", "at most 100.00"));
    }
    let now: DateTime<Utc> = state.clock.now();
    let row = help_post_settings::ActiveModel {
        community_id: Set(found.id),
        confirmation_bonus_minor: Set(settings.confirmation_bonus.minor()),
        updated_by: Set(actor.id.0),
        updated_at: Set(now),
    };
    help_post_settings::Entity::insert(row)
        .on_conflict(
            OnConflict::column(help_post_settings::Column::CommunityId)
                .update_columns([
                    help_post_settings::Column::ConfirmationBonusMinor,
                    help_post_settings::Column::UpdatedBy,
                    help_post_settings::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(&state.db)
        .await?;
    of(&state.db, CommunityId(found.id)).await
}
