//! The shared application state handed to every handler, flow and worker.

use std::sync::Arc;

use mypage_domain::clock::Clock;

use crate::config::Settings;
use crate::flows::current_documents::CurrentVersions;
use crate::hashing::PasswordHasher;
use crate::mail::transport::Transport;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::tokens::Keys;

/// Cheap to clone: one reference count. Every request clones the state a few times (the router,
/// the edge layer, extractors); one counter instead of one per shared part keeps those clones
/// from bouncing a dozen cache lines between cores.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] shares; its fields are read through the state (`state.store`).
pub struct Shared {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub keys: Keys,
    pub hasher: PasswordHasher,
    pub metrics: Arc<Metrics>,
    pub transport: Arc<Transport>,
    /// Wakes the mail worker when a request has just written to the outbox.
    pub mail_wakeup: Arc<tokio::sync::Notify>,
    /// This node's identity (hex, from `node.id` in its data folder), carried by its mail claims.
    pub node_id: Arc<str>,
    /// The current documents' versions, as the consent page shows them (read at most once a
    /// second per node).
    pub documents: Arc<CurrentVersions>,

    /// The WebAuthn relying party of the base URL; `None` where passkeys cannot work.
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }

    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
