//! Leaderboards of credited hours per community and period (this month, this year, all time), on
//! the shared cache's sorted sets: Redis where configured, the in-process cache otherwise.
//!
//! The database is the truth; a board is a copy that can be rebuilt. A board is built from the
//! database the first time it is read (or by `ehome leaderboard rebuild`), which marks it built;
//! from then on every decision adds what it changed after its transaction commits. A board that was
//! never built is not added to (it will be built from the database, which already holds the change).
//! When the cache does not answer, the board is answered from the database.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use sea_orm::ConnectionTrait;

use super::hours::shanghai_date;
use super::store;
use crate::domain::{CommunityId, UserId};
use crate::platform::cache::{Cache, CacheError};
use crate::platform::error::ApiError;
use crate::state::AppState;

/// The periods a board covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Month,
    Year,
    All,
}

impl Period {
    pub const ALL: [Period; 3] = [Period::Month, Period::Year, Period::All];

    pub fn parse(text: Option<&str>) -> Result<Period, ApiError> {
        match text {
            None | Some("all") => Ok(Period::All),
            Some("month") => Ok(Period::Month),
            Some("year") => Ok(Period::Year),
            Some(_) => Err(ApiError::validation("period", "month, year or all")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Month => "month",
            Period::Year => "year",
            Period::All => "all",
        }
    }

    /// The Shanghai days of the period holding `day` (none: all time).
    pub fn days(self, day: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        let first = match self {
            Period::Month => day.with_day(1)?,
            Period::Year => NaiveDate::from_ymd_opt(day.year(), 1, 1)?,
            Period::All => return None,
        };
        let next = match self {
            Period::Month => first.checked_add_months(chrono::Months::new(1))?,
            _ => first.checked_add_months(chrono::Months::new(12))?,
        };
        Some((first, next.pred_opt()?))
    }

    /// The board's key for the period holding `day`.
    fn key(self, community: CommunityId, day: NaiveDate) -> String {
        let which = match self {
            Period::Month => day.format("m%Y-%m").to_string(),
            Period::Year => day.format("y%Y").to_string(),
            Period::All => "all".to_owned(),
        };
        format!("leaderboard:community:{community}:hours:{which}")
    }
}

fn built_marker(key: &str) -> String {
    format!("{key}:built")
}

/// One line of a board: a volunteer and their credited minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub user: UserId,
    pub minutes: i64,
}

/// Adds what decisions credited (volunteer, service day, minutes, possibly negative) to the boards
/// already built. Called after the deciding transaction commits; a failure is logged (the rebuild
/// repairs a board that missed a change).
pub async fn count(state: &AppState, community: CommunityId, credited: &[(UserId, NaiveDate, i64)]) {
    // Summed per board and volunteer first, so a bulk approval asks once per board whether it is built.
    let mut per_board: BTreeMap<String, BTreeMap<UserId, i64>> = BTreeMap::new();
    for (user, day, minutes) in credited {
        for period in Period::ALL {
            *per_board.entry(period.key(community, *day)).or_default().entry(*user).or_default() += minutes;
        }
    }
    for (key, changes) in per_board {
        if let Err(err) = add_if_built(&state.cache, &key, &changes).await {
            tracing::warn!(error = %err, key, "leaderboard not updated; `ehome leaderboard rebuild` repairs it");
        }
    }
}

async fn add_if_built(cache: &Cache, key: &str, changes: &BTreeMap<UserId, i64>) -> Result<(), CacheError> {
    if cache.get(&built_marker(key)).await?.is_none() {
        return Ok(());
    }
    for (user, minutes) in changes.iter().filter(|(_, m)| **m != 0) {
        // Minutes are whole numbers far below 2^53: exact as a score.
        cache.sorted_add(key, &user.to_string(), *minutes as f64).await?;
    }
    Ok(())
}

/// The top `limit` of a community's board for the period holding `today`: from the cache, built from
/// the database on first read; from the database when the cache does not answer.
pub async fn top(
    db: &impl ConnectionTrait,
    cache: &Cache,
    community: CommunityId,
    period: Period,
    today: NaiveDate,
    limit: usize,
) -> Result<Vec<Standing>, ApiError> {
    match from_cache(db, cache, community, period, today, limit).await {
        Ok(standings) => Ok(standings),
        Err(err) => {
            tracing::warn!(error = %err, "leaderboard cache unavailable; answering from the database");
            let mut standings = from_database(db, community, period, today).await?;
            standings.truncate(limit);
            Ok(standings)
        }
    }
}

async fn from_cache(
    db: &impl ConnectionTrait,
    cache: &Cache,
    community: CommunityId,
    period: Period,
    today: NaiveDate,
    limit: usize,
) -> Result<Vec<Standing>, ApiError> {
    let key = period.key(community, today);
    if cache.get(&built_marker(&key)).await?.is_none() {
        rebuild_one(db, cache, community, period, today).await?;
    }
    let ranked = cache.sorted_top(&key, 0, limit).await?;
    let mut standings: Vec<Standing> = ranked
        .into_iter()
        .filter_map(|(member, score)| {
            let minutes = score.round() as i64;
            Some(Standing { user: UserId(member.parse().ok()?), minutes })
        })
        .filter(|s| s.minutes > 0)
        .collect();
    // Ties in user order, as the database orders them.
    standings.sort_by(|a, b| b.minutes.cmp(&a.minutes).then(a.user.cmp(&b.user)));
    Ok(standings)
}

/// The board computed from the hour records.
pub async fn from_database(
    db: &impl ConnectionTrait,
    community: CommunityId,
    period: Period,
    today: NaiveDate,
) -> Result<Vec<Standing>, ApiError> {
    let totals = store::minutes_by_user(db, community, period.days(today)).await?;
    Ok(totals.into_iter().map(|(user, minutes)| Standing { user: UserId(user), minutes }).collect())
}

async fn rebuild_one(
    db: &impl ConnectionTrait,
    cache: &Cache,
    community: CommunityId,
    period: Period,
    today: NaiveDate,
) -> Result<usize, ApiError> {
    let standings = from_database(db, community, period, today).await?;
    let members: Vec<(String, f64)> = standings.iter().map(|s| (s.user.to_string(), s.minutes as f64)).collect();
    let key = period.key(community, today);
    cache.sorted_replace(&key, &members).await?;
    cache.set(&built_marker(&key), "1", None).await?;
    Ok(members.len())
}

/// Recomputes a community's boards (this month, this year, all time) from the database; returns how
/// many volunteers the all-time board holds.
pub async fn rebuild(
    db: &impl ConnectionTrait,
    cache: &Cache,
    community: CommunityId,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, ApiError> {
    let today = shanghai_date(now);
    let mut volunteers = 0;
    for period in Period::ALL {
        volunteers = rebuild_one(db, cache, community, period, today).await?;
    }
    Ok(volunteers)
}

/// The communities whose boards a full rebuild walks.
pub async fn communities(db: &impl ConnectionTrait) -> Result<Vec<CommunityId>, ApiError> {
    Ok(store::communities_with_records(db).await?.into_iter().map(CommunityId).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_and_their_keys() {
        let day = date("2026-02-14");
        assert_eq!(Period::Month.days(day), Some((date("2026-02-01"), date("2026-02-28"))));
        assert_eq!(Period::Year.days(day), Some((date("2026-01-01"), date("2026-12-31"))));
        assert_eq!(Period::All.days(day), None);
        assert_eq!(Period::Month.key(CommunityId(3), day), "leaderboard:community:3:hours:m2026-02");
        assert_eq!(Period::Year.key(CommunityId(3), day), "leaderboard:community:3:hours:y2026");
        assert_eq!(Period::parse(None).unwrap(), Period::All);
        assert!(Period::parse(Some("week")).is_err());
    }
}
