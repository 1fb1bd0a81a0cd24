//! The part of a community something is addressed to: the whole community, some grids, or some
//! buildings. A notice is published to an area, a deliberation affects one; the community scene turns
//! an area into its buildings.

use crate::platform::error::ApiError;
use crate::stored_enum;

stored_enum! {
    pub enum AreaKind {
        Community => "community",
        Grids => "grids",
        Buildings => "buildings",
    }
}

/// At most this many grids or buildings named in one area.
pub const AREA_IDS_MAX: usize = 200;

/// An area as parsed: the community needs no ids; grids and buildings need at least one, each once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Area {
    kind: AreaKind,
    ids: Vec<i64>,
}

impl Area {
    pub fn parse(field: &str, kind: &str, ids: &[i64]) -> Result<Area, ApiError> {
        let kind = AreaKind::parse(kind)
            .ok_or_else(|| ApiError::validation(field, "kind is community, grids or buildings"))?;
        let mut sorted = ids.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        match kind {
            AreaKind::Community if !ids.is_empty() => {
                Err(ApiError::validation(field, "a community-wide area names no ids"))
            }
            AreaKind::Grids | AreaKind::Buildings if ids.is_empty() || ids.len() > AREA_IDS_MAX => {
                Err(ApiError::validation(field, format!("name 1 to {AREA_IDS_MAX} ids")))
            }
            _ if sorted.len() != ids.len() => Err(ApiError::validation(field, "an id is named twice")),
            _ => Ok(Area { kind, ids: sorted }),
        }
    }

    /// An area read back from its stored columns.
    pub fn stored(kind: &str, ids_json: &str) -> Result<Area, ApiError> {
        let ids: Vec<i64> = serde_json::from_str(ids_json).map_err(ApiError::internal)?;
        Area::parse("scope", kind, &ids).map_err(|_| ApiError::internal(anyhow::anyhow!("stored area {kind:?}")))
    }

    pub fn kind(&self) -> AreaKind {
        self.kind
    }

    pub fn ids(&self) -> &[i64] {
        &self.ids
    }

    /// The ids as stored (a JSON array).
    pub fn ids_json(&self) -> String {
        serde_json::to_string(&self.ids).unwrap_or_else(|_| "[]".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_are_checked() {
        assert!(Area::parse("scope", "community", &[]).is_ok());
        assert!(Area::parse("scope", "community", &[1]).is_err());
        assert!(Area::parse("scope", "grids", &[]).is_err());
        assert!(Area::parse("scope", "buildings", &[2, 2]).is_err());
        assert!(Area::parse("scope", "street", &[1]).is_err());
        let area = Area::parse("scope", "buildings", &[3, 1]).unwrap();
        assert_eq!(area.ids(), &[1, 3]);
        assert_eq!(Area::stored("buildings", &area.ids_json()).unwrap(), area);
    }
}
