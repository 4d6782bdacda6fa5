//! The integration suite: the real app over HTTP, each test on SQLite and on PostgreSQL, with a
//! fixed advanceable clock and a real SMTP server started by the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::disallowed_methods)]

mod helpers;

mod account_security;
mod at_rest;
mod backup;
mod bad_input;
mod bursts;
mod cli;
mod concurrency;
mod current_documents;
mod delivery_state;
mod login;
mod mail;
mod mypage;
mod new_sessions;
mod opening;
mod outage;
mod passkeys;
mod platform;
mod presession;
mod query_plans;
mod recovery;
mod staff;
mod staff_passkeys;
mod staff_passkeys_required;
mod staff_security;
mod survival_kill;
mod survival_mail;
mod two_nodes;
