//! Sensor alerts and the tasks they open. A verified alert from a registered device opens an urgent
//! visit task (or, for `battery_low`, a maintenance note) assigned to the recipient's visitors and the
//! grid worker of their grid, each told by a subscribe message. Alerts of one device and kind within
//! the same hour fold into one task through the task's unique `fold_key`; an event id seen before is a
//! replay, refused by the unique (vendor, event id) of `care_alerts`. Both hold across instances, since
//! the database decides them.

use chrono::{DateTime, Timelike, Utc};
use ehome_entities::{care_alert, care_task};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, TryInsertResult};

use super::error::CareError;
use super::lifecycle::{AlertKind, TaskAction, TaskLevel, TaskStatus, task_next};
use super::store;
use crate::authz::{Actor, CareScope};
use crate::domain::{CommunityId, Role};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::Keyset;
use crate::scenes::notifications::{self, Notice};
use crate::state::AppState;

/// An alert as the vendor sent it, signature already verified.
pub struct Alert {
    pub vendor: String,
    pub device_key: String,
    pub event_id: String,
    pub kind: AlertKind,
    pub observed_at: DateTime<Utc>,
}

pub struct Received {
    pub task: care_task::Model,
    /// Whether this alert opened the task (else it folded into an open one).
    pub opened: bool,
}

/// The task an alert belongs to: one per device, kind and hour of observation.
fn fold_key(device_id: i64, kind: AlertKind, observed_at: DateTime<Utc>) -> String {
    let hour = observed_at.with_minute(0).and_then(|t| t.with_second(0)).unwrap_or(observed_at);
    format!("{device_id}:{kind}:{}", hour.format("%Y-%m-%dT%H"))
}

pub async fn receive(state: &AppState, alert: Alert) -> ApiResult<Received> {
    let device = store::device_by_key(&state.db, &alert.vendor, &alert.device_key)
        .await?
        .ok_or(CareError::AlertDeviceUnknown)?;
    let recipient = store::recipient(&state.db, device.recipient_id).await?;
    let now = state.clock.now();
    let key = fold_key(device.id, alert.kind, alert.observed_at);
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let new_task = care_task::ActiveModel {
        community_id: Set(recipient.community_id),
        recipient_id: Set(recipient.id),
        device_id: Set(device.id),
        task_kind: Set(alert.kind.task_kind().as_str().to_owned()),
        alert_kind: Set(alert.kind.as_str().to_owned()),
        fold_key: Set(key.clone()),
        status: Set(TaskStatus::Open.as_str().to_owned()),
        level: Set(TaskLevel::Team.as_str().to_owned()),
        events_count: Set(1),
        first_observed_at: Set(alert.observed_at),
        last_observed_at: Set(alert.observed_at),
        opened_at: Set(now),
        ack_due_at: Set(alert.kind.ack_sla().map(|sla| now + sla)),
        ..Default::default()
    };
    let opened = matches!(
        care_task::Entity::insert(new_task).on_conflict_do_nothing_on([care_task::Column::FoldKey]).exec(&txn).await?,
        TryInsertResult::Inserted(_)
    );
    let task = store::task_by_fold_key(&txn, &key).await?.ok_or(ApiError::NotFound("care task"))?;
    // The event id is recorded with its task; a replay finds it taken and changes nothing (the
    // rollback undoes a task this very call opened).
    let recorded = care_alert::Entity::insert(care_alert::ActiveModel {
        vendor: Set(alert.vendor.clone()),
        event_id: Set(alert.event_id.clone()),
        device_id: Set(device.id),
        kind: Set(alert.kind.as_str().to_owned()),
        observed_at: Set(alert.observed_at),
        task_id: Set(task.id),
        received_at: Set(now),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([care_alert::Column::Vendor, care_alert::Column::EventId])
    .exec(&txn)
    .await?;
    if !matches!(recorded, TryInsertResult::Inserted(_)) {
        txn.rollback().await?;
        return Err(CareError::AlertReplayed.into());
    }
    if !opened {
        care_task::Entity::update_many()
            .col_expr(care_task::Column::EventsCount, Expr::col(care_task::Column::EventsCount).add(1))
            .col_expr(
                care_task::Column::LastObservedAt,
                Expr::value(std::cmp::max(task.last_observed_at, alert.observed_at)),
            )
            .filter(care_task::Column::Id.eq(task.id))
            .exec(&txn)
            .await?;
    }
    let notices = if opened { task_notices(&txn, &task, &recipient, TaskLevel::Team, now).await? } else { vec![] };
    txn.commit().await?;
    notifications::push_all(state, notices, now).await;
    Ok(Received { task, opened })
}

/// Who a task is with: the recipient's visitors and grid worker, or the committee once escalated.
pub async fn assignees(
    db: &impl ConnectionTrait,
    recipient: &ehome_entities::care_recipient::Model,
    level: TaskLevel,
) -> ApiResult<Vec<i64>> {
    let community = CommunityId(recipient.community_id);
    let mut users = match level {
        TaskLevel::Team => {
            let mut team = store::visitors_of(db, recipient.id).await?;
            team.extend(store::holders(db, community, Role::GridWorker, Some(recipient.grid_id)).await?);
            team
        }
        TaskLevel::Committee => store::holders(db, community, Role::Committee, None).await?,
    };
    users.sort_unstable();
    users.dedup();
    Ok(users)
}

/// Records a notice of the task for each assignee at `level`; `push` them after commit. The words
/// name the building, never the person: a phone's lock screen is not private.
pub async fn task_notices(
    db: &impl ConnectionTrait,
    task: &care_task::Model,
    recipient: &ehome_entities::care_recipient::Model,
    level: TaskLevel,
    now: DateTime<Utc>,
) -> ApiResult<Vec<Notice>> {
    let kind = AlertKind::parse(&task.alert_kind).unwrap_or(AlertKind::Fall);
    let phrase = if level == TaskLevel::Committee { "已升级" } else { "待响应" };
    let mut notices = Vec::new();
    for user_id in assignees(db, recipient, level).await? {
        let notice = Notice {
            user_id,
            kind: "care_task",
            title: format!("关爱提醒：{}", kind.label()),
            body: format!("关爱任务 #{}：{}，请尽快响应", task.id, kind.label()),
            request_id: None,
            phrase: phrase.to_owned(),
        };
        notifications::record(db, &notice, now).await?;
        notices.push(notice);
    }
    Ok(notices)
}

/// A page of the tasks the caller is on, newest first: their recipients' (as visitor or grid
/// worker), or all of the community's for its care managers; unresolved ones only when `open_only`.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    community: CommunityId,
    open_only: bool,
    keyset: &Keyset,
) -> ApiResult<Vec<care_task::Model>> {
    let mut query = care_task::Entity::find().filter(care_task::Column::CommunityId.eq(community.0));
    if !actor.runs_care(community) {
        let mine = store::cared_for_by(&state.db, actor, community).await?;
        let recipients = store::recipient_ids(&state.db, community, mine).await?;
        query = query.filter(care_task::Column::RecipientId.is_in(recipients));
    }
    if open_only {
        query = query.filter(care_task::Column::Status.ne(TaskStatus::Resolved.as_str()));
    }
    if let Some(after) = keyset.after_id {
        query = query.filter(care_task::Column::Id.lt(after));
    }
    Ok(query.order_by_desc(care_task::Column::Id).limit(keyset.limit + 1).all(&state.db).await?)
}

async fn visible_task(state: &AppState, actor: &Actor, task: &care_task::Model) -> ApiResult<bool> {
    let recipient = store::recipient(&state.db, task.recipient_id).await?;
    let visitors = store::visitors_of(&state.db, recipient.id).await?;
    let scope =
        CareScope { community: CommunityId(recipient.community_id), grid_id: recipient.grid_id, visitors: &visitors };
    Ok(crate::authz::care_access(actor, &scope).visible)
}

/// Acknowledges or resolves a task the caller is on (compare-and-set: two at once, one wins).
pub async fn act(state: &AppState, actor: &Actor, id: i64, action: TaskAction) -> ApiResult<care_task::Model> {
    let task = store::task(&state.db, id).await?;
    if !visible_task(state, actor, &task).await? {
        return Err(ApiError::NotFound("care task"));
    }
    let status =
        TaskStatus::parse(&task.status).ok_or_else(|| ApiError::internal(anyhow::anyhow!("bad task status")))?;
    let to = task_next(status, action).ok_or(CareError::TaskClosed)?;
    if !store::set_task_status(&state.db, &task, to, actor.id.0, state.clock.now()).await? {
        return Err(CareError::TaskClosed.into());
    }
    store::task(&state.db, id).await
}
