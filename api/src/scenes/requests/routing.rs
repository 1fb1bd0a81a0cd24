//! Who a request goes to: the building's leader, else the grid's worker, else the committee queue; and
//! one level up on escalation. A holder who is a party to the request (its reporter: a building leader
//! reporting a problem in their own building) is passed over, so the request goes to the next level.

use ehome_entities::{building, member_role, service_request};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement, SubQueryStatement};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QueryResult};

use super::lifecycle::Level;
use crate::authz::{Case, is_party_to};
use crate::domain::{Role, UserId};
use crate::platform::error::ApiError;

/// A request as a case: its parties are never routed to (see `authz::party`).
pub fn case_of(request: &service_request::Model) -> Case {
    Case::Request { reporter: UserId(request.reporter_id) }
}

/// The role and scope that name a person at a level; none for the committee and the street, which
/// take requests as a shared queue.
fn person_at(level: Level, grid: i64, building: i64) -> Option<(Role, i64)> {
    match level {
        Level::BuildingLeader => Some((Role::BuildingLeader, building)),
        Level::GridWorker => Some((Role::GridWorker, grid)),
        Level::Committee | Level::Street => None,
    }
}

/// Who holds a person level's role: (role, scope, user), the oldest grant first.
pub type Holder = (Role, i64, i64);

/// The first level at or above `from` that has someone to take the request (the committee always
/// does, as a queue), with that level's longest-standing holder who is not a party to `case`. The
/// holders of every level on the way are read in one statement.
pub async fn route_from(
    db: &impl ConnectionTrait,
    community: i64,
    grid: i64,
    building: i64,
    from: Level,
    case: &Case,
) -> Result<(Level, Option<i64>), ApiError> {
    let people: Vec<(Role, i64)> = levels_from(from).filter_map(|level| person_at(level, grid, building)).collect();
    let mut holders = Vec::new();
    if !people.is_empty() {
        let any_of = people.iter().fold(Condition::any(), |any, (role, scope)| {
            any.add(
                Condition::all()
                    .add(member_role::Column::Role.eq(role.as_str()))
                    .add(member_role::Column::ScopeId.eq(*scope)),
            )
        });
        holders = member_role::Entity::find()
            .filter(member_role::Column::CommunityId.eq(community))
            .filter(any_of)
            .order_by_asc(member_role::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .filter_map(|held| Some((Role::parse(&held.role)?, held.scope_id, held.user_id)))
            .collect();
    }
    Ok(route_among(&holders, grid, building, from, case))
}

fn levels_from(from: Level) -> impl Iterator<Item = Level> {
    std::iter::successors(Some(from), |level| level.next())
}

/// [`route_from`] among holders already read (oldest grant first; of each role and scope, at least
/// the first holder who is not a party to `case`).
pub fn route_among(holders: &[Holder], grid: i64, building: i64, from: Level, case: &Case) -> (Level, Option<i64>) {
    for level in levels_from(from) {
        let Some((role, scope)) = person_at(level, grid, building) else {
            return (level, None);
        };
        let chosen = holders
            .iter()
            .filter(|(held, held_scope, _)| *held == role && *held_scope == scope)
            .map(|(_, _, user)| *user)
            .find(|user| !is_party_to(UserId(*user), case));
        if chosen.is_some() {
            return (level, chosen);
        }
    }
    // Not reached: every chain of levels ends at the street, which takes requests as a queue.
    (Level::Street, None)
}

/// How many holders of each person level a report reads beside its building: a report's case has
/// one party (its reporter), and a user holds a role and scope at most once (a unique index), so
/// of any two holders one may take it.
const HOLDERS_BESIDE: u64 = 2;

/// The person levels a report starts from, with the building's column that holds each level's scope
/// (as [`person_at`] names it).
const PERSON_LEVELS: [(Level, building::Column); 2] =
    [(Level::BuildingLeader, building::Column::Id), (Level::GridWorker, building::Column::GridId)];

fn holder_column(role: Role, nth: u64) -> String {
    format!("holder_{}_{nth}", role.as_str())
}

/// Adds to a statement that reads one building (from `buildings`) the first holders of its person
/// levels, as scalar subqueries beside it: a report is placed and routed in the statement that
/// finds its building. [`holders_beside`] reads them back.
pub fn select_holders_beside(statement: &mut SelectStatement) {
    for (level, scope) in PERSON_LEVELS {
        let Some((role, _)) = person_at(level, 0, 0) else { continue };
        for nth in 0..HOLDERS_BESIDE {
            let holder = Query::select()
                .column((member_role::Entity, member_role::Column::UserId))
                .from(member_role::Entity)
                .and_where(
                    Expr::col((member_role::Entity, member_role::Column::CommunityId))
                        .equals((building::Entity, building::Column::CommunityId)),
                )
                .and_where(Expr::col((member_role::Entity, member_role::Column::Role)).eq(role.as_str()))
                .and_where(
                    Expr::col((member_role::Entity, member_role::Column::ScopeId)).equals((building::Entity, scope)),
                )
                .order_by((member_role::Entity, member_role::Column::Id), Order::Asc)
                .limit(1)
                .offset(nth)
                .to_owned();
            statement.expr_as(
                Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(holder))),
                holder_column(role, nth),
            );
        }
    }
}

/// The holders [`select_holders_beside`] read beside `building`, for [`route_among`].
pub fn holders_beside(row: &QueryResult, building: &building::Model) -> Result<Vec<Holder>, DbErr> {
    let mut holders = Vec::new();
    for (level, _) in PERSON_LEVELS {
        let Some((role, scope)) = person_at(level, building.grid_id, building.id) else { continue };
        for nth in 0..HOLDERS_BESIDE {
            if let Some(user) = row.try_get::<Option<i64>>("", &holder_column(role, nth))? {
                holders.push((role, scope, user));
            }
        }
    }
    Ok(holders)
}

/// `route_from` for a request that exists: its place, and its reporter passed over.
pub async fn route_request(
    db: &impl ConnectionTrait,
    request: &service_request::Model,
    from: Level,
) -> Result<(Level, Option<i64>), ApiError> {
    route_from(db, request.community_id, request.grid_id, request.building_id, from, &case_of(request)).await
}
