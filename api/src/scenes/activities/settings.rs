//! A community's volunteering settings: the skills its volunteers may list and the default points per
//! hour of its activities. A community without a row has the defaults below.

use ehome_entities::volunteering_settings;
use sea_orm::{ConnectionTrait, EntityTrait};
use serde::{Deserialize, Serialize};

use crate::domain::CommunityId;
use crate::platform::error::ApiError;

/// One skill a volunteer may list: a stable key and the name residents read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skill {
    pub key: String,
    pub name: String,
}

/// The skills every community starts with (the service types Haishu's communities name most).
pub const DEFAULT_SKILLS: &[(&str, &str)] = &[
    ("environment", "环境美化"),
    ("elderly_care", "助老"),
    ("civility", "文明劝导"),
    ("waste_sorting", "垃圾分类"),
    ("repairs", "便民维修"),
    ("companionship", "心理陪伴"),
];

/// Points per hour of service when the community set none: 10.00 points (minor units, 2 decimals).
pub const DEFAULT_POINTS_PER_HOUR_MINOR: i64 = 1_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    pub skills: Vec<Skill>,
    pub points_per_hour_minor: i64,
}

impl Settings {
    fn defaults() -> Settings {
        Settings {
            skills: DEFAULT_SKILLS
                .iter()
                .map(|(key, name)| Skill { key: (*key).to_owned(), name: (*name).to_owned() })
                .collect(),
            points_per_hour_minor: DEFAULT_POINTS_PER_HOUR_MINOR,
        }
    }

    pub fn knows_skill(&self, key: &str) -> bool {
        self.skills.iter().any(|skill| skill.key == key)
    }
}

pub async fn of(db: &impl ConnectionTrait, community: CommunityId) -> Result<Settings, ApiError> {
    let Some(row) = volunteering_settings::Entity::find_by_id(community.0).one(db).await? else {
        return Ok(Settings::defaults());
    };
    let skills: Vec<Skill> = serde_json::from_str(&row.skills)
        .map_err(|err| ApiError::internal(anyhow::Error::new(err).context("volunteering_settings.skills")))?;
    Ok(Settings { skills, points_per_hour_minor: row.points_per_hour_minor })
}
