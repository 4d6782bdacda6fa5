//! Use cases. Each is one decision from the domain rules, one store transaction, and the mail
//! that the change causes, written to the outbox in that same transaction.

pub mod auth_key;
pub mod codes;
pub mod console;
pub mod console_email;
pub mod current_documents;
pub mod limits;
pub mod login;
pub mod opening;
pub mod passkeys;
pub mod recovery;
pub mod registry;
pub mod resend;
pub mod settings;
pub mod staff;
pub mod staff_lock;
pub mod staff_passkeys;
pub mod staff_password;

use crate::hashing::HashError;
use crate::store::StoreError;
use crate::tokens::RandomnessUnavailable;

/// Failures that are not the user's doing. Expected outcomes (a wrong code, bad input) are not
/// errors: each flow returns them as an outcome enum.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing queue is full")]
    Busy,
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Randomness(#[from] RandomnessUnavailable),
    #[error("passkey ceremony failed: {0}")]
    Webauthn(String),
}

impl From<HashError> for FlowError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => Self::Busy,
            HashError::Internal(msg) => Self::Hash(msg),
        }
    }
}

impl From<sqlx::Error> for FlowError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}
