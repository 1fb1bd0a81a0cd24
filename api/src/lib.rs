//! ehome API.
