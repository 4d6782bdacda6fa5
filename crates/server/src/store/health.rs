//! Whether the database is known to be down, shared by every request, the mail worker and
//! `/readyz` of one node. Without it, each request waited for the pool's acquire timeout while
//! the database was down, and a load balancer piled up waiting connections.
//!
//! The state changes only after a probe: an error that looks like the database is gone (or a
//! request that failed in any other way) asks the prober for a probe, and only a failed probe
//! marks the database down; while it is down the prober probes every half second, and the first
//! probe that succeeds marks it up again. So one broken connection never takes the node out, and
//! the node serves again by itself once the database is back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, watch};

/// How often a down database is probed.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(500);
/// At most one probe this often while the database is up, however many requests ask.
pub const SUSPECT_INTERVAL: Duration = Duration::from_secs(1);
/// A request still running after this long asks for a probe: it may be waiting for a
/// connection to a database that is gone.
pub const SLOW_REQUEST: Duration = Duration::from_millis(500);

#[derive(Debug)]
pub struct DbHealth {
    down: AtomicBool,
    /// `true` while down; the mail worker waits on it.
    changes: watch::Sender<bool>,
    /// A request saw an error that may mean the database is gone: probe now.
    suspect: Notify,
}

impl Default for DbHealth {
    fn default() -> Self {
        Self { down: AtomicBool::new(false), changes: watch::Sender::new(false), suspect: Notify::new() }
    }
}

impl DbHealth {
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// Records a probe's outcome; logs only a change.
    pub fn set_down(&self, down: bool, reason: &str) {
        if self.down.swap(down, Ordering::AcqRel) != down {
            if down {
                tracing::error!(reason, "database unavailable: pages answer 503 until a probe succeeds");
            } else {
                tracing::warn!("database reachable again: serving");
            }
            self.changes.send_replace(down);
        }
    }

    /// Asks the prober for a probe now.
    pub fn suspect(&self) {
        self.suspect.notify_one();
    }

    pub(super) async fn suspected(&self) {
        self.suspect.notified().await;
    }

    /// Resolves at the next change between up and down.
    pub async fn changed(&self) {
        let mut rx = self.changes.subscribe();
        let _ = rx.changed().await;
    }

    /// Resolves once the database is not known to be down.
    pub async fn wait_up(&self) {
        let mut rx = self.changes.subscribe();
        let _ = rx.wait_for(|down| !*down).await;
    }
}

/// Whether an error means the database cannot serve at all (gone, refusing connections, full,
/// read-only, failing I/O), as opposed to a problem with one statement.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|code| unavailable_code(&code)),
        _ => false,
    }
}

/// PostgreSQL SQLSTATEs of a lost or refused connection (class 08), a server shutting down or
/// starting (57P01–57P03), a full disk (53100) or read-only state (25006); SQLite primary result
/// codes IOERR (10), FULL (13), CANTOPEN (14) and READONLY (8).
fn unavailable_code(code: &str) -> bool {
    if code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53100" | "25006") {
        return true;
    }
    // SQLSTATEs have five characters; SQLite's extended codes have at most four digits.
    code.len() < 5 && code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 8 | 10 | 13 | 14))
}

#[cfg(test)]
mod tests {
    use super::unavailable_code;

    #[test]
    fn connection_disk_and_read_only_codes_mean_unavailable() {
        for code in ["08006", "08001", "57P01", "57P03", "53100", "25006", "13", "8", "1032", "778", "14"] {
            assert!(unavailable_code(code), "{code}");
        }
        for code in ["23505", "40001", "5", "19", "2067", "42P01"] {
            assert!(!unavailable_code(code), "{code}");
        }
    }
}
