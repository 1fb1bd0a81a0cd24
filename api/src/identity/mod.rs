//! Who the caller is: WeChat sign-in and tokens, the caller's own profile, and the users table.

pub mod auth;
pub mod author;
pub mod caller;
pub mod me;
pub mod users;
