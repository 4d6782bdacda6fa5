//! Time as an input (STYLE rule 4): flows ask a [`Clock`] for `now` instead of reading the wall
//! clock, so tests can pin and advance time (5-day code expiry, 90-day remembered browsers,
//! 30-minute idle sessions) without sleeping. [`SystemClock`] is the only wall-clock reader in
//! the crate.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;

/// A source of the current instant.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        #[allow(clippy::disallowed_methods)] // the one place that reads the wall clock
        Timestamp::now()
    }
}

/// A clock that stands still until told otherwise, for tests and demos.
///
/// Clones share one state: advancing one clone advances them all (hand a clone to the app and
/// keep one in the test). Precision is one millisecond, like the `…_at` columns.
#[derive(Debug, Clone)]
pub struct FixedClock {
    millis: Arc<AtomicI64>,
}

impl FixedClock {
    /// A clock showing `now` (truncated to the millisecond).
    pub fn new(now: Timestamp) -> Self {
        Self { millis: Arc::new(AtomicI64::new(now.as_millisecond())) }
    }

    /// Moves the clock forward by `by` (saturating at the latest representable instant).
    pub fn advance(&self, by: Duration) {
        let step = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let max = Timestamp::MAX.as_millisecond();
        // fetch_update's closure never returns None, so the result is always Ok.
        let _ =
            self.millis.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |ms| Some(ms.saturating_add(step).min(max)));
    }

    /// Sets the clock to `now` (truncated to the millisecond); it may go backwards.
    pub fn set(&self, now: Timestamp) {
        self.millis.store(now.as_millisecond(), Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        let ms = self.millis.load(Ordering::SeqCst);
        Timestamp::from_millisecond(ms).unwrap_or(Timestamp::MAX)
    }
}

/// The calendar date in Japan (JST) at `now`: the "today" for birth-date plausibility.
pub fn today_jst(now: Timestamp) -> Date {
    crate::jst::jst().to_datetime(now).date()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn fixed_clock_shows_the_time_it_was_given() {
        let clock = FixedClock::new(ts("2026-11-25T05:05:00Z"));
        assert_eq!(clock.now(), ts("2026-11-25T05:05:00Z"));
        assert_eq!(clock.now(), clock.now());
    }

    #[test]
    fn fixed_clock_advances_and_clones_share_the_time() {
        let clock = FixedClock::new(ts("2026-11-25T05:05:00Z"));
        let app_side = clock.clone();
        clock.advance(Duration::from_secs(5 * 24 * 60 * 60));
        assert_eq!(app_side.now(), ts("2026-11-30T05:05:00Z"));
        app_side.advance(Duration::from_millis(1));
        assert_eq!(clock.now(), ts("2026-11-30T05:05:00.001Z"));
    }

    #[test]
    fn fixed_clock_can_be_set_backwards() {
        let clock = FixedClock::new(ts("2026-11-25T05:05:00Z"));
        clock.set(ts("2020-01-01T00:00:00Z"));
        assert_eq!(clock.now(), ts("2020-01-01T00:00:00Z"));
    }

    #[test]
    fn fixed_clock_saturates_instead_of_overflowing() {
        let clock = FixedClock::new(ts("2026-11-25T05:05:00Z"));
        clock.advance(Duration::MAX);
        assert!(clock.now() > ts("9999-01-01T00:00:00Z"));
    }

    #[test]
    fn clocks_work_behind_a_shared_trait_object() {
        let fixed = FixedClock::new(ts("2026-11-25T05:05:00Z"));
        let shared: Arc<dyn Clock> = Arc::new(fixed.clone());
        assert_eq!(shared.now(), fixed.now());
        let system: Arc<dyn Clock> = Arc::new(SystemClock);
        assert!(system.now() > ts("2025-01-01T00:00:00Z"));
    }

    #[test]
    fn today_in_japan_turns_at_15_00_utc() {
        assert_eq!(today_jst(ts("2026-11-29T14:59:59Z")), date(2026, 11, 29));
        assert_eq!(today_jst(ts("2026-11-29T15:00:00Z")), date(2026, 11, 30));
    }
}
