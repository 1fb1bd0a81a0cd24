//! The holders of one role at one place of a community (the leader of a building, the worker of a
//! grid), in the order they took it: what routing reads for every report and escalation.
//!
//! The unique index of 000001 leads with (community_id, user_id), so routing read every role of the
//! community (a thousand residents' rows in a community of a thousand households) to find one leader.

use sea_orm_migration::prelude::*;

use crate::schema_helpers::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "member_roles";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(index(TABLE, &["community_id", "role", "scope_id", "id"], false)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let new = Index::drop().name("ix_member_roles_community_id_role_scope_id_id").table(TABLE).to_owned();
        manager.drop_index(new).await
    }
}
