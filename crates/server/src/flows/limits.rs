//! Rate limits, caps and cooldowns: named policies over the database attempt log, so they hold
//! across every node. Each is one atomic *reserve-then-act* step: the attempt is reserved first
//! (counted, serialized per subject in the database), the work is done only when the reservation
//! was granted, and an attempt that turns out not to count is released. So a burst of N parallel
//! requests never gets more done than the same N requests one at a time (`docs/decisions.md`).

use std::time::Duration;

use jiff::Timestamp;
use sqlx::AnyConnection;

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

/// Sessions stored for visitors without one (the consent post turns a pre-session into a row),
/// per client address: bounds the rows a flood of consent posts can write. Generous, far above
/// what an office's shared Wi-Fi sees (`docs/decisions.md`): ten a minute, held for an hour.
pub const NEW_SESSIONS_PER_CLIENT: Limit =
    Limit { scope: "session.new.client", max: 600, window: Duration::from_secs(3600) };

/// Birth-date mismatches against one 求職番号, from any client: stops the remaining-tries message
/// from serving as a birth-date oracle (SPEC §3.3). Shared by opening and recovery.
pub const BIRTH_DATE_MISMATCHES: Limit =
    Limit { scope: "apply.birth_date", max: 10, window: Duration::from_secs(24 * 3600) };

/// Auth key mails of the opening for one job seeker.
pub const OPENING_KEY_SENDS: Limit = Limit { scope: "auth_key.open", max: 5, window: Duration::from_secs(3600) };

/// Auth key mails of recovery for one job seeker: a budget of its own, so requests for one flow
/// cannot use up the other's.
pub const RECOVERY_KEY_SENDS: Limit = Limit { scope: "auth_key.reset", max: 5, window: Duration::from_secs(3600) };

/// Wrong current passwords on a change of password or login ID, per job seeker's account (the
/// subject is the account id) or staff member (`staff:<id>`): a borrowed session cannot guess
/// its way to the account. Released when right.
pub const CURRENT_PASSWORD_FAILURES: Limit =
    Limit { scope: "settings.current_password", max: 10, window: Duration::from_secs(3600) };

/// The least time between two auth key mails of one flow for one job seeker.
pub const AUTH_KEY_RESEND_COOLDOWN: Duration = Duration::from_secs(60);

/// A reserved attempt. Keep it when the attempt counts (a failure, a mail sent); `release` it
/// when it turns out not to (a right password).
#[must_use = "a reservation is either kept (the attempt counts) or released"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    id: i64,
    position: i64,
}

impl Reservation {
    /// This attempt's place in the window, counting itself: `max` for the last one granted.
    pub fn position(&self) -> i64 {
        self.position
    }

    pub async fn release(self, state: &AppState) -> store::Result<()> {
        attempts::release(&state.store, self.id).await
    }

    /// Keeps the attempt: it counts. Says so where the reservation is deliberately not released.
    pub fn keep(self) {}
}

/// Why a reservation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The window's budget is used up.
    Full,
    /// Too soon after the previous attempt; the next is possible after this many seconds.
    Cooldown { seconds: u64 },
}

impl Limit {
    /// Reserves an attempt in a transaction of its own, committed before the work starts (for
    /// work outside a transaction, such as hashing a password).
    pub async fn reserve(&self, state: &AppState, subject: &str) -> store::Result<Result<Reservation, Refusal>> {
        if self.is_full(state, subject).await? {
            return Ok(Err(Refusal::Full));
        }
        let mut tx = state.store.begin_bookkeeping().await?;
        let outcome = self.reserve_in(&mut tx, state.now(), subject, None).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Decides an attempt whose outcome is already known: a failure takes a place if one is free
    /// and keeps it (in one write transaction serialized with every other reservation on the
    /// subject); a success only needs a place to be free and leaves nothing behind. Both are
    /// refused when the budget is used up. Every burst thus decides as some sequence of the same
    /// attempts would, and a success never holds a place a parallel attempt could be refused
    /// for (a reservation held across the comparison did: a burst of right birth dates paused
    /// their own 求職番号).
    ///
    /// A success is decided by a plain read of the committed attempts. That is exact: the
    /// failures it saw come before it in the sequence, those still uncommitted after it, and
    /// since a success adds nothing, their counts are the same either way.
    pub async fn decide(&self, state: &AppState, subject: &str, failed: bool) -> store::Result<Result<(), Refusal>> {
        if self.is_full(state, subject).await? {
            return Ok(Err(Refusal::Full));
        }
        if !failed {
            return Ok(Ok(()));
        }
        let mut tx = state.store.begin_bookkeeping().await?;
        let outcome = self.reserve_in(&mut tx, state.now(), subject, None).await?.map(Reservation::keep);
        if outcome.is_ok() {
            tx.commit().await?;
        }
        Ok(outcome)
    }

    /// Whether the budget is used up, by a plain read: enough to refuse before any write lock is
    /// taken, so a flood of refused requests stays read-only. Only a reservation can grant.
    pub async fn is_full(&self, state: &AppState, subject: &str) -> store::Result<bool> {
        let since = store::ms(state.now()) - millis(self.window);
        Ok(attempts::count_since(state.store.pool(), self.scope, subject, since).await? >= self.max)
    }

    /// Reserves an attempt inside the caller's write transaction, so the reservation and the work
    /// (a key and its mail) commit or roll back together. With `cooldown`, the reservation is
    /// refused while the subject's previous attempt is more recent than that.
    pub async fn reserve_in(
        &self,
        conn: &mut AnyConnection,
        now: Timestamp,
        subject: &str,
        cooldown: Option<Duration>,
    ) -> store::Result<Result<Reservation, Refusal>> {
        let now_ms = store::ms(now);
        let ask = attempts::Ask {
            scope: self.scope,
            subject,
            now_ms,
            since_ms: now_ms - millis(self.window),
            max: self.max,
            quiet_since_ms: cooldown.map(|c| now_ms - millis(c)),
        };
        Ok(match attempts::reserve(conn, &ask).await? {
            Ok(granted) => Ok(Reservation { id: granted.id, position: granted.position }),
            Err(attempts::Refused::Full) => Err(Refusal::Full),
            Err(attempts::Refused::Cooldown { next_ms }) => {
                Err(Refusal::Cooldown { seconds: u64::try_from((next_ms - now_ms + 999) / 1000).unwrap_or(1).max(1) })
            }
        })
    }

    /// Forgets the subject's attempts (e.g. a password reset ends a one-time password lockout).
    pub async fn clear<'e>(
        &self,
        ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
        subject: &str,
    ) -> store::Result<()> {
        attempts::clear(ex, self.scope, subject).await
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
