//! The life of a single-use secret with limited tries: the account creation code (5 days,
//! 10 wrong entries), the auth key (30 minutes, 5 wrong entries) and the one-time password
//! (10 minutes, 5 wrong entries) all follow it.
//!
//! ```text
//! Active{remaining_tries} --wrong entry--> Active{remaining_tries - 1}
//!                         --last wrong entry, reissue, new key--> Void
//!                         --right entry--> Used
//!                         --now >= expires_at--> Expired
//! ```
//!
//! Precedence when several apply: Used, then Void, then Expired. The store keeps the fields and
//! counts atomically in SQL; this module decides what those fields mean.

use jiff::Timestamp;

/// The stored facts about one issued code, key or one-time password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SingleUseRecord {
    /// First instant at which the secret is no longer valid.
    pub expires_at: Timestamp,
    /// Wrong entries so far.
    pub failed_attempts: u32,
    /// When it was voided (too many wrong entries, a reissue, a newer key, a cancel), if ever.
    pub voided_at: Option<Timestamp>,
    /// When it was used successfully, if ever.
    pub used_at: Option<Timestamp>,
}

/// What a [`SingleUseRecord`] means at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SingleUseState {
    /// Usable; `remaining_tries` wrong entries (at least 1) are left before it is voided.
    Active {
        /// Wrong entries left; the last one voids it.
        remaining_tries: u32,
    },
    /// Past its expiry (`now >= expires_at`).
    Expired,
    /// Voided: too many wrong entries, or replaced or cancelled.
    Void,
    /// Already used.
    Used,
}

/// The account creation code's record (アカウント作成コード).
pub type CodeRecord = SingleUseRecord;
/// The account creation code's state.
pub type CodeState = SingleUseState;
/// The auth key's record (認証キー).
pub type KeyRecord = SingleUseRecord;
/// The auth key's state.
pub type KeyState = SingleUseState;
/// The one-time password's record (ワンタイムパスワード).
pub type OtpRecord = SingleUseRecord;
/// The one-time password's state.
pub type OtpState = SingleUseState;

impl SingleUseRecord {
    /// A fresh record: no wrong entries, not voided, not used.
    pub fn issued(expires_at: Timestamp) -> Self {
        Self { expires_at, failed_attempts: 0, voided_at: None, used_at: None }
    }

    /// The state at `now` when `max_failures` wrong entries void the secret.
    ///
    /// Used wins over Void, which wins over Expired. Reaching `max_failures` counts as Void even
    /// if `voided_at` was not set.
    pub fn state(&self, now: Timestamp, max_failures: u32) -> SingleUseState {
        if self.used_at.is_some() {
            SingleUseState::Used
        } else if self.voided_at.is_some() || self.failed_attempts >= max_failures {
            SingleUseState::Void
        } else if now >= self.expires_at {
            SingleUseState::Expired
        } else {
            SingleUseState::Active { remaining_tries: max_failures - self.failed_attempts }
        }
    }

    /// Records a wrong entry at `now` if the secret is active, voiding it on the last allowed
    /// try; returns the state afterwards. An inactive record is left unchanged.
    pub fn record_failure(&mut self, now: Timestamp, max_failures: u32) -> SingleUseState {
        if self.state(now, max_failures).is_active() {
            self.failed_attempts += 1;
            if self.failed_attempts >= max_failures {
                self.voided_at = Some(now);
            }
        }
        self.state(now, max_failures)
    }

    /// Marks the secret used at `now` if it is active; otherwise returns the state that
    /// prevents it and changes nothing.
    pub fn consume(&mut self, now: Timestamp, max_failures: u32) -> Result<(), SingleUseState> {
        match self.state(now, max_failures) {
            SingleUseState::Active { .. } => {
                self.used_at = Some(now);
                Ok(())
            }
            other => Err(other),
        }
    }

    /// Voids the secret at `now` (reissue, newer key, cancel) unless already used or voided.
    pub fn void(&mut self, now: Timestamp) {
        if self.used_at.is_none() && self.voided_at.is_none() {
            self.voided_at = Some(now);
        }
    }
}

impl SingleUseState {
    /// Whether the secret can still be entered.
    pub fn is_active(&self) -> bool {
        matches!(self, SingleUseState::Active { .. })
    }

    /// A stable snake_case id for catalogs and the staff console: `active`, `expired`, `void`,
    /// `used`.
    pub fn key(&self) -> &'static str {
        match self {
            SingleUseState::Active { .. } => "active",
            SingleUseState::Expired => "expired",
            SingleUseState::Void => "void",
            SingleUseState::Used => "used",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SingleUseState::*;

    const MAX: u32 = 10;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn record() -> CodeRecord {
        CodeRecord::issued(ts("2026-11-30T05:05:00Z"))
    }

    #[test]
    fn a_fresh_code_is_active_with_every_try_left() {
        assert_eq!(record().state(ts("2026-11-25T05:05:00Z"), MAX), Active { remaining_tries: 10 });
    }

    #[test]
    fn a_code_expires_exactly_at_its_expiry_instant() {
        let r = record();
        assert!(r.state(ts("2026-11-30T05:04:59.999Z"), MAX).is_active());
        assert_eq!(r.state(ts("2026-11-30T05:05:00Z"), MAX), Expired);
        assert_eq!(r.state(ts("2027-01-01T00:00:00Z"), MAX), Expired);
    }

    #[test]
    fn used_wins_over_void_which_wins_over_expired() {
        let after = ts("2026-12-01T00:00:00Z");
        let both = SingleUseRecord {
            used_at: Some(ts("2026-11-26T00:00:00Z")),
            voided_at: Some(ts("2026-11-27T00:00:00Z")),
            ..record()
        };
        assert_eq!(both.state(after, MAX), Used);
        let voided = SingleUseRecord { voided_at: Some(ts("2026-11-27T00:00:00Z")), ..record() };
        assert_eq!(voided.state(after, MAX), Void);
        let exhausted = SingleUseRecord { failed_attempts: MAX, ..record() };
        assert_eq!(exhausted.state(after, MAX), Void);
    }

    #[test]
    fn the_tenth_wrong_entry_voids_the_code() {
        let now = ts("2026-11-26T00:00:00Z");
        let mut r = record();
        for tries_left in (1..MAX).rev() {
            assert_eq!(r.record_failure(now, MAX), Active { remaining_tries: tries_left });
        }
        assert_eq!(r.record_failure(now, MAX), Void);
        assert_eq!((r.failed_attempts, r.voided_at), (MAX, Some(now)));
        // Further wrong entries change nothing.
        assert_eq!(r.record_failure(now, MAX), Void);
        assert_eq!(r.failed_attempts, MAX);
    }

    #[test]
    fn the_fifth_wrong_entry_voids_an_auth_key() {
        let now = ts("2026-11-26T00:00:00Z");
        let mut key = KeyRecord::issued(ts("2026-11-26T00:30:00Z"));
        let states: Vec<KeyState> = (0..5).map(|_| key.record_failure(now, 5)).collect();
        assert_eq!(states.last(), Some(&Void));
        assert_eq!(states[3], Active { remaining_tries: 1 });
    }

    #[test]
    fn a_wrong_entry_on_an_expired_code_counts_nothing() {
        let mut r = record();
        assert_eq!(r.record_failure(ts("2026-12-01T00:00:00Z"), MAX), Expired);
        assert_eq!(r.failed_attempts, 0);
    }

    #[test]
    fn an_active_code_can_be_used_once() {
        let now = ts("2026-11-26T00:00:00Z");
        let mut r = record();
        assert_eq!(r.consume(now, MAX), Ok(()));
        assert_eq!(r.used_at, Some(now));
        assert_eq!(r.consume(now, MAX), Err(Used));
    }

    #[test]
    fn an_expired_or_void_code_cannot_be_used() {
        let mut expired = record();
        assert_eq!(expired.consume(ts("2026-12-01T00:00:00Z"), MAX), Err(Expired));
        let now = ts("2026-11-26T00:00:00Z");
        let mut voided = record();
        voided.void(now);
        assert_eq!(voided.consume(now, MAX), Err(Void));
        assert_eq!(voided.used_at, None);
    }

    #[test]
    fn voiding_keeps_the_first_reason() {
        let mut r = record();
        r.consume(ts("2026-11-26T00:00:00Z"), MAX).unwrap();
        r.void(ts("2026-11-27T00:00:00Z"));
        assert_eq!(r.voided_at, None);
        let mut r = record();
        r.void(ts("2026-11-26T00:00:00Z"));
        r.void(ts("2026-11-27T00:00:00Z"));
        assert_eq!(r.voided_at, Some(ts("2026-11-26T00:00:00Z")));
    }

    #[test]
    fn states_have_stable_keys() {
        let keys: Vec<&str> =
            [Active { remaining_tries: 3 }, Expired, Void, Used].iter().map(SingleUseState::key).collect();
        assert_eq!(keys, ["active", "expired", "void", "used"]);
    }
}
