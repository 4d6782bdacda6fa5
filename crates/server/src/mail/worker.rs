//! The outbox worker: claims due mail under a fenced, renewed claim, sends it, and settles it:
//! sent, retried with capped exponential backoff, or given up by the policy of its kind.
//!
//! A mail that carries a code is never handed to the transport after the code expired (it is
//! marked expired instead); a notice is retried for `MYPAGE_MAIL_RETRY_FOR` after it was written.
//! While a send runs its claim is renewed every third of `MYPAGE_MAIL_CLAIM`; a claim that could
//! not be renewed (it lapsed and may be another worker's now) stops the send before it completes.

use std::time::Duration;

use tokio::sync::watch;

use crate::config::MailRetry;
use crate::mail::transport::SendError;
use crate::seal::Sealer;
use crate::state::AppState;
use crate::store::{self, outbox, server_facts};

/// The wait before attempt `attempts + 1`: `first`, doubling, capped at `max`.
pub fn backoff(retry: &MailRetry, attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    retry.first.saturating_mul(1u32 << doublings).min(retry.max)
}

/// What happens to a mail whose attempt failed, by the policy of its kind.
#[derive(Debug, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again at this instant (ms).
    RetryAt(i64),
    GiveUp(outbox::Failure),
}

/// The retry policy: a 5xx answer is final; a code mail is retried until its code expires (the
/// attempt due at that instant marks it expired); a notice until `notices_for` after it was written.
pub fn after_failure(retry: &MailRetry, mail: &outbox::ClaimedMail, permanent: bool, now_ms: i64) -> AfterFailure {
    if permanent {
        return AfterFailure::GiveUp(outbox::Failure::Refused);
    }
    let next = now_ms.saturating_add(millis(backoff(retry, mail.attempts)));
    match mail.expires_at {
        Some(expires_at) => AfterFailure::RetryAt(next.min(expires_at)),
        None if now_ms.saturating_sub(mail.created_at) >= millis(retry.notices_for) => {
            AfterFailure::GiveUp(outbox::Failure::GivenUp)
        }
        None => AfterFailure::RetryAt(next),
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The Message-ID of an outbox row: the same on every attempt, so a mail resent after a crash
/// mid-hand-over is recognisable (and collapsible by the receiving side) as the same message.
pub fn message_id(id: i64, created_at: i64, mail_from: &str) -> String {
    let domain = mail_from.rsplit_once('@').map_or("localhost", |(_, d)| d.trim_end_matches('>').trim());
    format!("<outbox-{id}.{created_at}@{domain}>")
}

/// Sends every mail that is due now; returns how many were sent.
pub async fn deliver_due(state: &AppState) -> store::Result<usize> {
    let (_never, stop) = watch::channel(false);
    deliver_until(state, stop).await
}

/// How one send ended.
enum SendEnd {
    Done(Result<(), SendError>),
    /// The claim lapsed and could not be renewed: the mail may be another worker's now.
    ClaimLost,
    /// Shutdown's grace ran out mid-send.
    CutShort,
}

/// Sends due mail until none is left or `stop` turns true. A send in progress when `stop` turns
/// true may finish within `MYPAGE_SHUTDOWN_GRACE`; past it the send is dropped and its claim
/// given back, so another node (or this one, restarted) sends it at once.
pub async fn deliver_until(state: &AppState, mut stop: watch::Receiver<bool>) -> store::Result<usize> {
    let mut sent = 0;
    let pool = state.store.pool();
    let claim = millis(state.settings.mail_claim);
    loop {
        if *stop.borrow() {
            return Ok(sent);
        }
        let now = store::ms(state.now());
        let token = claim_token(&state.node_id)?;
        let Some(mail) = outbox::claim_next(pool, now, now + claim, &token).await? else {
            return Ok(sent);
        };
        if mail.expires_at.is_some_and(|at| at <= now) {
            tracing::info!(mail_id = mail.id, kind = %mail.kind, "code expired before its mail was sent; not sent");
            let reason = "its code expired before it could be sent";
            outbox::mark_failed(pool, mail.id, &token, now, outbox::Failure::Expired, reason).await?;
            continue;
        }
        let Some(body) = open_body(state, &mail).await? else {
            // Sealed under another secret or altered: no retry can help, and nothing is sent.
            tracing::error!(mail_id = mail.id, kind = %mail.kind, "mail body does not open; given up");
            state.metrics.count("mypage_mail_failures_total");
            let reason = "the sealed body does not open (is MYPAGE_SECRET the one it was written with?)";
            outbox::mark_failed(pool, mail.id, &token, now, outbox::Failure::Unopenable, reason).await?;
            continue;
        };
        let end = send_under_claim(state, &mail, &body, &mut stop).await;
        let now_ms = store::ms(state.now());
        match end {
            SendEnd::Done(Ok(())) => {
                state.metrics.count("mypage_mail_sent_total");
                sent += 1;
                if outbox::mark_sent(pool, mail.id, &mail.claim_token, now_ms).await? {
                    tracing::info!(mail_id = mail.id, kind = %mail.kind, "mail delivered");
                } else {
                    tracing::warn!(mail_id = mail.id, kind = %mail.kind, "mail delivered after its claim was taken over");
                }
            }
            SendEnd::Done(Err(e)) => {
                state.metrics.count("mypage_mail_failures_total");
                let settled = match after_failure(&state.settings.mail_retry, &mail, e.permanent, now_ms) {
                    AfterFailure::RetryAt(next) => {
                        tracing::warn!(mail_id = mail.id, kind = %mail.kind, error = %e, "mail will be retried");
                        outbox::schedule_retry(pool, mail.id, &mail.claim_token, next, &e.message).await?
                    }
                    AfterFailure::GiveUp(failure) => {
                        tracing::warn!(mail_id = mail.id, kind = %mail.kind, error = %e, "mail given up");
                        outbox::mark_failed(pool, mail.id, &mail.claim_token, now_ms, failure, &e.message).await?
                    }
                };
                if !settled {
                    tracing::warn!(mail_id = mail.id, "failed attempt not recorded: the claim was taken over");
                }
            }
            SendEnd::ClaimLost => {
                tracing::warn!(mail_id = mail.id, kind = %mail.kind, "claim lapsed mid-send; send dropped");
            }
            SendEnd::CutShort => {
                tracing::warn!(mail_id = mail.id, kind = %mail.kind, "shutdown grace ran out mid-send; claim given back");
                outbox::release(pool, mail.id, &mail.claim_token).await?;
                return Ok(sent);
            }
        }
    }
}

/// A fresh claim token, `{node}-{random}`: the node part lets a restarted node find its own.
fn claim_token(node_id: &str) -> store::Result<String> {
    let random = crate::tokens::random_token().map_err(|e| store::StoreError::Corrupt(e.to_string()))?;
    Ok(format!("{node_id}-{random}"))
}

/// Runs the send while renewing the claim, and bounds it by the shutdown grace once `stop` fires.
async fn send_under_claim(
    state: &AppState,
    mail: &outbox::ClaimedMail,
    body: &str,
    stop: &mut watch::Receiver<bool>,
) -> SendEnd {
    let stem = format!("{:013}-{:08}-{}", mail.created_at, mail.id, mail.kind.replace('.', "_"));
    let from = &state.settings.mail_from;
    let id = message_id(mail.id, mail.created_at, from);
    let send = state.transport.send(from, &mail.to_addr, &mail.subject, body, &stem, &id);
    tokio::pin!(send);
    let beat = state.settings.mail_claim / 3;
    let claim = millis(state.settings.mail_claim);
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let cut = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = &mut send => return SendEnd::Done(result),
            _ = tokio::time::sleep(beat) => {
                let now = store::ms(state.now());
                match outbox::renew(state.store.pool(), mail.id, &mail.claim_token, now, now + claim).await {
                    Ok(true) => {}
                    Ok(false) => return SendEnd::ClaimLost,
                    // The database is unreachable: nobody can take the claim over without it either.
                    Err(e) => tracing::warn!(mail_id = mail.id, error = %e, "claim not renewed"),
                }
            }
            changed = stop.changed(), if deadline.is_none() => {
                if changed.is_err() || *stop.borrow() {
                    deadline = Some(tokio::time::Instant::now() + state.settings.shutdown_grace);
                }
            }
            _ = cut => return SendEnd::CutShort,
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

/// Runs until `shutdown` fires: delivers due mail when woken or every few seconds. The claims
/// this node's previous process held (it was killed mid-send) are given back first. While the
/// database is known to be down it waits for it (mail stays in the outbox, nothing is lost).
pub async fn run(state: AppState, shutdown: watch::Receiver<bool>) {
    match outbox::release_claims_of(state.store.pool(), &state.node_id).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(claims = n, "gave back the mail claims this node held before it restarted"),
        Err(e) => tracing::error!(error = %e, "could not give back this node's earlier mail claims"),
    }
    let mut idle = shutdown.clone();
    loop {
        let health = state.store.health();
        if health.is_down() {
            tokio::select! {
                () = health.wait_up() => {}
                _ = idle.changed() => return,
            }
        }
        if let Err(e) = deliver_until(&state, shutdown.clone()).await {
            if e.is_unavailable() {
                health.suspect();
            }
            tracing::error!(error = %e, "mail worker pass failed");
        }
        if *idle.borrow() {
            return;
        }
        tokio::select! {
            // Down or back: either way the top of the loop knows what to do.
            () = health.changed() => {}
            _ = state.mail_wakeup.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = idle.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry() -> MailRetry {
        MailRetry {
            first: Duration::from_secs(30),
            max: Duration::from_secs(3600),
            notices_for: Duration::from_secs(48 * 3600),
        }
    }

    fn mail(attempts: i64, created_at: i64, expires_at: Option<i64>) -> outbox::ClaimedMail {
        outbox::ClaimedMail {
            id: 1,
            kind: "k".into(),
            to_addr: "a@example.jp".into(),
            subject: String::new(),
            body: String::new(),
            attempts,
            created_at,
            expires_at,
            claim_token: "t".into(),
        }
    }

    #[test]
    fn backoff_doubles_from_the_first_wait_and_caps() {
        let r = retry();
        assert_eq!(backoff(&r, 1), Duration::from_secs(30));
        assert_eq!(backoff(&r, 2), Duration::from_secs(60));
        assert_eq!(backoff(&r, 5), Duration::from_secs(480));
        assert_eq!(backoff(&r, 8), Duration::from_secs(3600));
        assert_eq!(backoff(&r, 5000), Duration::from_secs(3600));
    }

    #[test]
    fn a_notice_is_retried_for_the_whole_period_then_given_up() {
        let r = retry();
        let hour = 3_600_000;
        assert_eq!(after_failure(&r, &mail(40, 0, None), false, 47 * hour), AfterFailure::RetryAt(48 * hour));
        assert_eq!(
            after_failure(&r, &mail(41, 0, None), false, 48 * hour),
            AfterFailure::GiveUp(outbox::Failure::GivenUp)
        );
        assert_eq!(after_failure(&r, &mail(1, 0, None), true, 0), AfterFailure::GiveUp(outbox::Failure::Refused));
    }

    #[test]
    fn a_code_mail_is_retried_no_later_than_its_expiry() {
        let r = retry();
        assert_eq!(after_failure(&r, &mail(1, 0, Some(100_000)), false, 0), AfterFailure::RetryAt(30_000));
        assert_eq!(after_failure(&r, &mail(3, 0, Some(100_000)), false, 80_000), AfterFailure::RetryAt(100_000));
    }

    #[test]
    fn the_message_id_names_the_row_and_the_sender_domain() {
        assert_eq!(
            message_id(42, 1_700_000_000_000, "求職者マイページ <no-reply@mypage.example.jp>"),
            "<outbox-42.1700000000000@mypage.example.jp>"
        );
        assert_eq!(message_id(1, 2, "no-reply@x.jp"), "<outbox-1.2@x.jp>");
    }
}
