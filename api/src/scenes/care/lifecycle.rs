//! Pure: the care round's words and rules — risk levels and their visit schedules, visits, alert kinds
//! and their SLAs, the task states and the escalation steps (the jobs' system actions included, so no
//! job writes a state decided elsewhere).

use chrono::Duration;

use crate::stored_enum;

stored_enum! {
    /// How closely a recipient is watched.
    pub enum RiskLevel { Low => "low", Medium => "medium", High => "high" }
}

impl RiskLevel {
    /// Days between visits by default: fortnightly, weekly, twice a week (rounded to every 3 days).
    pub fn default_interval_days(self) -> i32 {
        match self {
            RiskLevel::Low => 14,
            RiskLevel::Medium => 7,
            RiskLevel::High => 3,
        }
    }
}

stored_enum! {
    pub enum Circumstance {
        LivingAlone => "living_alone",
        WidowedChildless => "widowed_childless",
        Disabled => "disabled",
        Other => "other",
    }
}

stored_enum! {
    /// Who gave the recorded consent.
    pub enum ConsentBy { Recipient => "recipient", Guardian => "guardian" }
}

stored_enum! {
    pub enum VisitMode { InPerson => "in_person", Phone => "phone" }
}

stored_enum! {
    pub enum Wellbeing { Fine => "fine", NeedsHelp => "needs_help", Urgent => "urgent" }
}

impl Wellbeing {
    /// Whether the visit opens a 邻办事 request on the recipient's behalf.
    pub fn opens_request(self) -> bool {
        matches!(self, Wellbeing::NeedsHelp | Wellbeing::Urgent)
    }
}

stored_enum! {
    pub enum DeviceKind {
        WaterMeter => "water_meter",
        PowerMeter => "power_meter",
        SmokeSensor => "smoke_sensor",
        FallSensor => "fall_sensor",
    }
}

stored_enum! {
    pub enum AlertKind {
        NoWater24h => "no_water_24h",
        NoPower24h => "no_power_24h",
        Smoke => "smoke",
        Fall => "fall",
        BatteryLow => "battery_low",
    }
}

stored_enum! {
    pub enum TaskKind { UrgentVisit => "urgent_visit", Maintenance => "maintenance" }
}

stored_enum! {
    pub enum TaskStatus { Open => "open", Acknowledged => "acknowledged", Resolved => "resolved" }
}

stored_enum! {
    /// Who a task is with: the recipient's visitors and grid worker, then the committee.
    pub enum TaskLevel { Team => "team", Committee => "committee" }
}

stored_enum! {
    /// How far a missed visit has been escalated; a logged visit resets it to `none`.
    pub enum MissedStage { None => "none", Visitor => "visitor", GridWorker => "grid_worker", Committee => "committee" }
}

impl AlertKind {
    /// `battery_low` only needs a maintenance note; every other alert needs someone at the door.
    pub fn task_kind(self) -> TaskKind {
        match self {
            AlertKind::BatteryLow => TaskKind::Maintenance,
            _ => TaskKind::UrgentVisit,
        }
    }

    /// Time to acknowledge: 15 minutes for smoke and falls, 2 hours otherwise, none for maintenance.
    pub fn ack_sla(self) -> Option<Duration> {
        match self {
            AlertKind::Smoke | AlertKind::Fall => Some(Duration::minutes(15)),
            AlertKind::NoWater24h | AlertKind::NoPower24h => Some(Duration::hours(2)),
            AlertKind::BatteryLow => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AlertKind::NoWater24h => "24小时未用水",
            AlertKind::NoPower24h => "24小时未用电",
            AlertKind::Smoke => "烟感报警",
            AlertKind::Fall => "跌倒报警",
            AlertKind::BatteryLow => "设备电量低",
        }
    }
}

impl MissedStage {
    /// The next step of the missed-visit escalation, or `None` at the top.
    pub fn next(self) -> Option<MissedStage> {
        match self {
            MissedStage::None => Some(MissedStage::Visitor),
            MissedStage::Visitor => Some(MissedStage::GridWorker),
            MissedStage::GridWorker => Some(MissedStage::Committee),
            MissedStage::Committee => None,
        }
    }
}

/// What a person may do to a task in its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskAction {
    Acknowledge,
    Resolve,
}

pub fn task_next(status: TaskStatus, action: TaskAction) -> Option<TaskStatus> {
    match (status, action) {
        (TaskStatus::Open, TaskAction::Acknowledge) => Some(TaskStatus::Acknowledged),
        (TaskStatus::Open | TaskStatus::Acknowledged, TaskAction::Resolve) => Some(TaskStatus::Resolved),
        _ => None,
    }
}

/// The system's escalation of a task: an open task past its SLA at the team goes to the committee.
pub fn escalate(status: TaskStatus, level: TaskLevel) -> Option<TaskLevel> {
    match (status, level) {
        (TaskStatus::Open, TaskLevel::Team) => Some(TaskLevel::Committee),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolved_tasks_take_no_action() {
        assert_eq!(task_next(TaskStatus::Resolved, TaskAction::Acknowledge), None);
        assert_eq!(task_next(TaskStatus::Acknowledged, TaskAction::Acknowledge), None);
        assert_eq!(escalate(TaskStatus::Acknowledged, TaskLevel::Team), None);
        assert_eq!(MissedStage::Committee.next(), None);
        assert_eq!(AlertKind::Smoke.ack_sla(), Some(Duration::minutes(15)));
        assert_eq!(AlertKind::BatteryLow.task_kind(), TaskKind::Maintenance);
    }
}
