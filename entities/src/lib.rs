//! sea-orm entities, one file per table.

pub mod building;
pub mod community;
pub mod district;
pub mod grid;
pub mod household;
pub mod household_member;
pub mod join_request;
pub mod ledger_account;
pub mod ledger_account_shard;
pub mod ledger_chain_head;
pub mod ledger_transfer;
pub mod member_role;
pub mod merchant;
pub mod merchant_staff_invite;
pub mod notification;
pub mod offer;
pub mod offer_limit_usage;
pub mod redemption;
pub mod refresh_token;
pub mod request_category;
pub mod request_event;
pub mod request_follower;
pub mod service_request;
pub mod street;
pub mod user;
pub mod wechat_session;
