//! The outbox worker: claims due mail, sends it, marks it sent, or schedules a retry with
//! exponential backoff (temporary failures) or gives up (permanent failures, or too many tries).

use std::time::Duration;

use crate::seal::Sealer;
use crate::state::AppState;
use crate::store::{self, outbox, server_facts};

/// How long a claim protects a mail from other workers while it is being sent.
const CLAIM: Duration = Duration::from_secs(120);
/// Attempts before a mail is given up on.
pub const MAX_ATTEMPTS: i64 = 8;

/// The wait before attempt `attempts + 1`: 30 s, 1 min, 2 min, … capped at one hour.
pub fn backoff(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 8) - 1).unwrap_or(0);
    Duration::from_secs((30u64 << exp).min(3600))
}

/// Sends every mail that is due now; returns how many were sent.
pub async fn deliver_due(state: &AppState) -> store::Result<usize> {
    let mut sent = 0;
    loop {
        let now = state.now();
        let lock_until = now.as_millisecond() + CLAIM.as_millis() as i64;
        let Some(mail) = outbox::claim_next(state.store.pool(), store::ms(now), lock_until).await? else {
            return Ok(sent);
        };
        let Some(body) = open_body(state, &mail).await? else {
            // Sealed under another secret or altered: no retry can help, and nothing is sent.
            tracing::error!(mail_id = mail.id, kind = %mail.kind, "mail body does not open; given up");
            state.metrics.count("mypage_mail_failures_total");
            let reason = "the sealed body does not open (is MYPAGE_SECRET the one it was written with?)";
            outbox::mark_failed(
                state.store.pool(),
                mail.id,
                store::ms(state.now()),
                outbox::Failure::Unopenable,
                reason,
            )
            .await?;
            continue;
        };
        let stem = format!("{:013}-{:08}-{}", mail.created_at, mail.id, mail.kind.replace('.', "_"));
        let result = state.transport.send(&state.settings.mail_from, &mail.to_addr, &mail.subject, &body, &stem).await;
        let now_ms = store::ms(state.now());
        match result {
            Ok(()) => {
                outbox::mark_sent(state.store.pool(), mail.id, now_ms).await?;
                state.metrics.count("mypage_mail_sent_total");
                tracing::info!(mail_id = mail.id, kind = %mail.kind, "mail delivered");
                sent += 1;
            }
            Err(e) => {
                state.metrics.count("mypage_mail_failures_total");
                if e.permanent || mail.attempts >= MAX_ATTEMPTS {
                    tracing::warn!(mail_id = mail.id, kind = %mail.kind, error = %e, "mail given up");
                    let failure = if e.permanent { outbox::Failure::Refused } else { outbox::Failure::GivenUp };
                    outbox::mark_failed(state.store.pool(), mail.id, now_ms, failure, &e.message).await?;
                } else {
                    let next = now_ms + backoff(mail.attempts).as_millis() as i64;
                    tracing::warn!(mail_id = mail.id, kind = %mail.kind, error = %e, "mail will be retried");
                    outbox::schedule_retry(state.store.pool(), mail.id, next, &e.message).await?;
                }
            }
        }
    }
}

/// The clear body of a claimed mail, or `None` when it does not open. A clear body is accepted
/// only from a row written before bodies were sealed (migration 0008 noted the first sealed id).
async fn open_body(state: &AppState, mail: &outbox::ClaimedMail) -> store::Result<Option<String>> {
    if !Sealer::is_sealed(&mail.body) {
        let sealed_from = server_facts::get(state.store.pool(), server_facts::OUTBOX_SEALED_FROM).await?;
        let legacy = sealed_from.and_then(|v| v.parse::<i64>().ok()).is_some_and(|first| mail.id < first);
        return Ok(legacy.then(|| mail.body.clone()));
    }
    let Some(sealer) = state.store.outbox_sealer() else { return Ok(None) };
    let clear = sealer.open(&outbox::body_binding(mail.id, &mail.to_addr), &mail.body);
    Ok(clear.and_then(|bytes| String::from_utf8(bytes).ok()))
}

/// Runs until `shutdown` fires: delivers due mail when woken or every few seconds. While the
/// database is known to be down it waits for it (mail stays in the outbox, nothing is lost).
pub async fn run(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        let health = state.store.health();
        if health.is_down() {
            tokio::select! {
                () = health.wait_up() => {}
                _ = shutdown.changed() => return,
            }
        }
        if let Err(e) = deliver_due(&state).await {
            if e.is_unavailable() {
                health.suspect();
            }
            tracing::error!(error = %e, "mail worker pass failed");
        }
        tokio::select! {
            // Down or back: either way the top of the loop knows what to do.
            () = health.changed() => {}
            _ = state.mail_wakeup.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_thirty_seconds_and_caps_at_an_hour() {
        assert_eq!(backoff(1), Duration::from_secs(30));
        assert_eq!(backoff(2), Duration::from_secs(60));
        assert_eq!(backoff(5), Duration::from_secs(480));
        assert_eq!(backoff(8), Duration::from_secs(3600));
        assert_eq!(backoff(50), Duration::from_secs(3600));
    }
}
