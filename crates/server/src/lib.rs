//! 求職者マイページ: the job-seeker account service.
//!
//! The imperative shell around `mypage_domain`: configuration, the store (every SQL statement),
//! use-case flows, mail delivery through the outbox, and the web layer.

pub mod backup;
pub mod config;
pub mod drain;
pub mod flows;
pub mod hashing;
pub mod i18n;
pub mod import;
pub mod mail;
pub mod metrics;
pub mod node_id;
pub mod private_fs;
pub mod seal;
pub mod startup;
pub mod state;
pub mod store;
pub mod tokens;
pub mod totp;
pub mod web;
