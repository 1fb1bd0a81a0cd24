//! The demo community's ids, read once from the database after `seed_demo` loads it, so that tests
//! stop looking them up through the API each in its own way.

use std::collections::HashMap;

use ehome_entities::{building, community, grid, household, user};
use sea_orm::sea_query::IntoCondition;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use crate::TestApp;

/// Ids of the demo community (see `ehome_api::demo`). Every list is in the order the seed made it, which
/// is the order the API lists it in (by id).
#[derive(Debug, Clone)]
pub struct Demo {
    pub community: i64,
    /// 第一网格, 第二网格.
    pub grids: Vec<i64>,
    /// 1号楼 … 4号楼, across both grids.
    pub buildings: Vec<i64>,
    /// The households of each building (101, 102, 201, 202, 301), index for index with `buildings`.
    pub households: Vec<Vec<i64>>,
    /// The 邻办事 categories, (key, id) in the order they were made.
    pub categories: Vec<(String, i64)>,
    users: HashMap<String, i64>,
}

impl Demo {
    /// The id of the category with this key (`repair`, `safety`, …).
    pub fn category(&self, key: &str) -> i64 {
        let found = self.categories.iter().find(|(k, _)| k == key);
        found.unwrap_or_else(|| panic!("no demo category {key:?} in {:?}", self.categories)).1
    }

    /// The user id of a demo user by openid (`demo-leader`, …).
    pub fn user(&self, openid: &str) -> i64 {
        *self.users.get(openid).unwrap_or_else(|| panic!("{openid} is not a demo user"))
    }
}

impl TestApp {
    /// Loads the demo community (every role has a user; see `ehome_api::demo::DEMO_USERS`) and returns
    /// its ids.
    pub async fn seed_demo(&self) -> Demo {
        ehome_api::demo::seed(&self.db).await.expect("demo data loads");
        self.demo().await
    }

    /// The ids of the demo community already loaded on this database (by this or another instance). The
    /// demo is the first community: tests load it into an empty database before making others.
    pub async fn demo(&self) -> Demo {
        let db = &self.db;
        let community = community::Entity::find().order_by_asc(community::Column::Id).one(db).await.unwrap();
        let community = community.expect("the demo is loaded").id;
        let grids = in_order::<grid::Entity, _>(db, grid::Column::CommunityId.eq(community), grid::Column::Id).await;
        let buildings =
            in_order::<building::Entity, _>(db, building::Column::CommunityId.eq(community), building::Column::Id)
                .await;
        let homes =
            in_order::<household::Entity, _>(db, household::Column::CommunityId.eq(community), household::Column::Id)
                .await;
        let households =
            buildings.iter().map(|b| homes.iter().filter(|h| h.building_id == b.id).map(|h| h.id).collect()).collect();
        let openids = ehome_api::demo::DEMO_USERS.iter().map(|(openid, _)| *openid);
        let users: HashMap<String, i64> = user::Entity::find()
            .filter(user::Column::Openid.is_in(openids))
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|u| (u.openid, u.id))
            .collect();
        assert_eq!(users.len(), ehome_api::demo::DEMO_USERS.len(), "every demo user is loaded");
        Demo {
            community,
            grids: grids.into_iter().map(|g| g.id).collect(),
            buildings: buildings.into_iter().map(|b| b.id).collect(),
            households,
            categories: self.categories_of(community).await,
            users,
        }
    }
}

impl TestApp {
    /// A community's categories, (key, id) in order, listed through the API by the platform admin: the
    /// API makes a community's default categories when they are first listed.
    async fn categories_of(&self, community: i64) -> Vec<(String, i64)> {
        let admin = self.dev_login("demo-admin").await;
        let listed = self.get_json(&format!("/communities/{community}/categories"), Some(&admin.access)).await;
        let items = listed["items"].as_array().unwrap_or_else(|| panic!("categories of {community}: {listed}"));
        items.iter().map(|c| (c["key"].as_str().unwrap().to_owned(), c["id"].as_i64().unwrap())).collect()
    }
}

/// The rows of one table that match `filter`, in the order they were made.
async fn in_order<E: EntityTrait, F: IntoCondition>(
    db: &DatabaseConnection,
    filter: F,
    id: E::Column,
) -> Vec<E::Model> {
    E::find().filter(filter).order_by_asc(id).all(db).await.unwrap()
}
