//! Rate limits and throttles: named policies over the database attempt log, so they hold across
//! every node. Each names its scope (what is counted), window and ceiling.

use std::time::Duration;

use crate::state::AppState;
use crate::store::{self, attempts};

/// A sliding-window limit: at most `max` attempts of `scope` per subject within `window`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub scope: &'static str,
    pub max: i64,
    pub window: Duration,
}

/// Failed information entries from one client address. Generous, because a whole office's
/// job seekers may share the office Wi-Fi's address.
pub const APPLY_FAILURES_PER_CLIENT: Limit =
    Limit { scope: "apply.client", max: 50, window: Duration::from_secs(3600) };

/// Birth-date mismatches against one 求職番号, from any client: stops the remaining-tries message
/// from serving as a birth-date oracle (SPEC §3.3).
pub const BIRTH_DATE_MISMATCHES: Limit =
    Limit { scope: "apply.birth_date", max: 10, window: Duration::from_secs(24 * 3600) };

/// Auth key mails for one job seeker.
pub const AUTH_KEY_SENDS: Limit = Limit { scope: "auth_key.send", max: 5, window: Duration::from_secs(3600) };

/// The least time between two auth key mails for one job seeker.
pub const AUTH_KEY_RESEND_COOLDOWN: Duration = Duration::from_secs(60);

impl Limit {
    fn since(&self, now: jiff::Timestamp) -> i64 {
        store::ms(now) - self.window.as_millis() as i64
    }

    /// Whether the subject has used up the limit.
    pub async fn exceeded(&self, state: &AppState, subject: &str) -> store::Result<bool> {
        let n = attempts::count_since(state.store.pool(), self.scope, subject, self.since(state.now())).await?;
        Ok(n >= self.max)
    }

    /// Records one attempt.
    pub async fn record(&self, state: &AppState, subject: &str) -> store::Result<()> {
        attempts::record(state.store.pool(), self.scope, subject, store::ms(state.now())).await
    }

    /// When the subject's last attempt within the window happened, if any.
    pub async fn last(&self, state: &AppState, subject: &str) -> store::Result<Option<jiff::Timestamp>> {
        match attempts::latest_since(state.store.pool(), self.scope, subject, self.since(state.now())).await? {
            Some(ms) => Ok(Some(store::ts(ms)?)),
            None => Ok(None),
        }
    }
}
