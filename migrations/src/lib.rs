//! Schema migrations. A landed migration is never edited: a change is a new file.
pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_foundation;
mod schema_helpers;

mod m20261122_000002_create_ledger;
mod m20261122_000003_create_service_requests;
mod m20261122_000004_widen_ledger_chains;
mod m20261126_000005_create_ledger_account_shards;
mod m20261126_000006_ledger_accounts_kept;
mod m20261127_000007_refresh_family_started_at;
mod m20261127_000008_create_volunteering;
mod m20261127_000009_create_service_hours;
mod m20261127_000010_create_alliance;
mod m20261127_000011_create_polls;
mod m20261127_000012_create_deliberation;
mod m20261127_000013_create_help_posts;
mod m20261127_000014_create_care;
mod m20261127_000015_help_post_bonus;
mod m20261127_000016_create_points_expiry_notices;
mod m20261127_000017_create_settlements;
pub mod m20261127_000018_create_request_rollups;
mod m20261127_000019_poll_ballots_sealed_later;
mod m20261128_000020_ledger_take_backs_index;
mod m20261128_000021_similar_requests_index;
mod m20261128_000022_request_rollup_shards;
mod m20261128_000023_role_holders_index;
mod m20261128_000024_ledger_shard_pending_credits;
mod m20261128_000025_offer_stock_taken;
mod m20261129_000026_similar_requests_partial_index;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_foundation::Migration),
            Box::new(m20261122_000002_create_ledger::Migration),
            Box::new(m20261122_000003_create_service_requests::Migration),
            Box::new(m20261122_000004_widen_ledger_chains::Migration),
            Box::new(m20261126_000005_create_ledger_account_shards::Migration),
            Box::new(m20261126_000006_ledger_accounts_kept::Migration),
            Box::new(m20261127_000007_refresh_family_started_at::Migration),
            Box::new(m20261127_000008_create_volunteering::Migration),
            Box::new(m20261127_000009_create_service_hours::Migration),
            Box::new(m20261127_000010_create_alliance::Migration),
            Box::new(m20261127_000011_create_polls::Migration),
            Box::new(m20261127_000012_create_deliberation::Migration),
            Box::new(m20261127_000013_create_help_posts::Migration),
            Box::new(m20261127_000014_create_care::Migration),
            Box::new(m20261127_000015_help_post_bonus::Migration),
            Box::new(m20261127_000016_create_points_expiry_notices::Migration),
            Box::new(m20261127_000017_create_settlements::Migration),
            Box::new(m20261127_000018_create_request_rollups::Migration),
            Box::new(m20261127_000019_poll_ballots_sealed_later::Migration),
            Box::new(m20261128_000020_ledger_take_backs_index::Migration),
            Box::new(m20261128_000021_similar_requests_index::Migration),
            Box::new(m20261128_000022_request_rollup_shards::Migration),
            Box::new(m20261128_000023_role_holders_index::Migration),
            Box::new(m20261128_000024_ledger_shard_pending_credits::Migration),
            Box::new(m20261128_000025_offer_stock_taken::Migration),
            Box::new(m20261129_000026_similar_requests_partial_index::Migration),
        ]
    }
}
