//! The mail server down for a while, then back: mail queues and is retried by the policy of its
//! kind (a code mail not after its code expired, a notice for 48 hours), and after recovery every
//! mail is delivered once. And two workers racing for one mail whose claim lapsed mid-send: the
//! mail is sent once, and the worker that lost it can settle nothing.

use std::collections::HashMap;
use std::time::Duration;

use mypage::store::outbox::{self, Delivery};

use crate::helpers::{Browser, Received, TestApp};
use crate::{both_databases, both_databases_with};

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// A job seeker who applies: the auth key mail (a code mail, 30 minutes) is in the outbox.
async fn apply(app: &TestApp, n: u32, email: &str) -> Browser {
    let number = format!("60049-{n}");
    app.register(&number, "1990-04-15", None).await;
    let code = app.issue_code(&number).await;
    let browser = app.browser();
    browser.consent().await;
    browser.apply(email, &number, ("1990", "4", "15"), &code).await.assert_redirect("/opening/password");
    browser
}

async fn mail_of(app: &TestApp, to: &str, kind: &str) -> outbox::MailLogRow {
    let id: i64 = sqlx::query_scalar("SELECT id FROM outbox WHERE to_addr = $1 AND kind = $2")
        .bind(to)
        .bind(kind)
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    outbox::find(app.state.store.pool(), id).await.unwrap().unwrap()
}

/// How many times each Message-ID arrived.
fn by_message_id(mails: &[Received]) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for m in mails {
        assert!(m.message_id.starts_with("<outbox-") && m.message_id.ends_with("@mypage.example.jp>"), "{m:?}");
        *seen.entry(m.message_id.clone()).or_default() += 1;
    }
    seen
}

async fn an_outage_delays_mail_which_arrives_once_and_an_expired_code_is_not_sent(app: &TestApp) {
    // A: the account is opened while the mail server is down: its notice waits.
    let a = apply(app, 1, "a@example.jp").await;
    let key = app.deliver_mail().await.pop().expect("A's auth key").code();
    app.smtp.set_down(true);
    let before = app.smtp.transactions();
    a.register_password("kushiro-2026-spring", "kushiro-2026-spring", &key).await.assert_redirect("/opening/done");
    // B applies during the outage; its key is valid 30 minutes.
    apply(app, 2, "b@example.jp").await;
    let mut delivered = app.deliver_mail().await;
    assert!(delivered.is_empty());
    assert!(matches!(mail_of(app, "b@example.jp", "auth_key.v1").await.delivery(), Delivery::Retrying { .. }));
    assert!(matches!(mail_of(app, "a@example.jp", "account_opened.v1").await.delivery(), Delivery::Retrying { .. }));
    for _ in 0..5 {
        app.advance(5 * MINUTE);
        delivered.extend(app.deliver_mail().await);
    }
    // C applies 25 minutes in; the outage lasts until 31 minutes in, past B's expiry.
    apply(app, 3, "c@example.jp").await;
    delivered.extend(app.deliver_mail().await);
    app.advance(6 * MINUTE);
    delivered.extend(app.deliver_mail().await);
    assert!(delivered.is_empty(), "nothing gets through while the server is down");
    assert!(app.smtp.refused() >= 8, "every attempt reached the (down) server: {}", app.smtp.refused());
    assert_eq!(mail_of(app, "b@example.jp", "auth_key.v1").await.delivery(), Delivery::Expired);
    assert!(matches!(mail_of(app, "c@example.jp", "auth_key.v1").await.delivery(), Delivery::Retrying { .. }));

    app.smtp.set_down(false);
    // Every mail still due is sent within its backoff (at most the 1 h cap), and never again.
    for _ in 0..8 {
        app.advance(10 * MINUTE);
        delivered.extend(app.deliver_mail().await);
    }
    app.advance(72 * HOUR);
    delivered.extend(app.deliver_mail().await);
    let mut to: Vec<_> = delivered.iter().map(|m| (m.to.as_str(), m.subject.as_str())).collect();
    to.sort();
    assert_eq!(to.len(), 2, "{to:?}");
    assert_eq!(to[0].0, "a@example.jp");
    assert_eq!(to[1].0, "c@example.jp");
    assert!(by_message_id(&delivered).values().all(|n| *n == 1), "none twice");
    assert_eq!(app.smtp.transactions() - before, 2, "the expired key was never handed to the server");
    assert!(matches!(mail_of(app, "c@example.jp", "auth_key.v1").await.delivery(), Delivery::Handed { .. }));
    assert!(matches!(mail_of(app, "a@example.jp", "account_opened.v1").await.delivery(), Delivery::Handed { .. }));
    assert_eq!(mail_of(app, "b@example.jp", "auth_key.v1").await.delivery(), Delivery::Expired);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL").await, 0);
}
both_databases!(an_outage_delays_mail_which_arrives_once_and_an_expired_code_is_not_sent);

/// Opens an account while the server is up, then queues its "account opened" notice while down.
async fn a_notice_during_an_outage(app: &TestApp, n: u32, email: &str) {
    let b = apply(app, n, email).await;
    let key = app.deliver_mail().await.pop().expect("auth key").code();
    app.smtp.set_down(true);
    b.register_password("kushiro-2026-spring", "kushiro-2026-spring", &key).await.assert_redirect("/opening/done");
}

async fn a_notice_is_retried_for_two_days_then_given_up(app: &TestApp) {
    a_notice_during_an_outage(app, 1, "a@example.jp").await;
    // 47 hours of outage: tried every hour (the backoff's cap), never given up.
    for _ in 0..47 {
        assert!(app.deliver_mail().await.is_empty());
        app.advance(HOUR);
    }
    let row = mail_of(app, "a@example.jp", "account_opened.v1").await;
    assert!(row.attempts >= 40, "retried on: {} attempts", row.attempts);
    assert!(matches!(row.delivery(), Delivery::Retrying { .. }), "{:?}", row.delivery());
    app.smtp.set_down(false);
    let delivered = app.deliver_mail().await;
    assert_eq!(delivered.len(), 1, "delivered once the server is back, after {} attempts", row.attempts);
    assert_eq!(delivered[0].to, "a@example.jp");
    app.advance(HOUR);
    assert!(app.deliver_mail().await.is_empty());

    // A notice whose outage outlasts the 48 hours is given up on, and says so.
    a_notice_during_an_outage(app, 2, "b@example.jp").await;
    for _ in 0..50 {
        app.deliver_mail().await;
        app.advance(HOUR);
    }
    app.deliver_mail().await;
    let row = mail_of(app, "b@example.jp", "account_opened.v1").await;
    assert!(matches!(row.delivery(), Delivery::GivenUp { .. }), "{:?}", row.delivery());
    app.smtp.set_down(false);
    app.advance(HOUR);
    assert!(app.deliver_mail().await.is_empty(), "a mail given up on stays so");
}
both_databases!(a_notice_is_retried_for_two_days_then_given_up);

async fn a_worker_whose_claim_lapsed_mid_send_neither_sends_nor_settles(app: &TestApp) {
    apply(app, 1, "a@example.jp").await;
    let node = app.add_node().await;
    // Worker A's send sits on the slow server; its 3 s claim lapses while the clock jumps 10 s.
    app.smtp.hold_next(Duration::from_secs(30));
    let state = app.state.clone();
    let worker_a = tokio::spawn(async move { mypage::mail::worker::deliver_due(&state).await.unwrap() });
    let token_a = loop {
        let token: Option<String> =
            sqlx::query_scalar("SELECT claim_token FROM outbox").fetch_one(app.state.store.pool()).await.unwrap();
        if let Some(token) = token {
            break token;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.advance(Duration::from_secs(10));
    // Worker B (another node) takes the mail over and sends it. A notices at its next renewal (a
    // third of the claim) that the claim it holds lapsed, drops its send, and goes on: it may
    // claim the mail anew itself when B has not yet; either way one fresh claim sends it.
    let sent_b = mypage::mail::worker::deliver_due(&node.state).await.unwrap();
    let sent_a = tokio::time::timeout(Duration::from_secs(10), worker_a).await.expect("A stops").unwrap();
    assert_eq!(sent_a + sent_b, 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let delivered = app.smtp.take();
    assert_eq!(delivered.len(), 1, "sent once");
    assert_eq!(app.smtp.transactions(), 1, "A's send never reached the end of DATA");
    let pool = app.state.store.pool();
    let id: i64 = sqlx::query_scalar("SELECT id FROM outbox").fetch_one(pool).await.unwrap();
    assert!(!outbox::mark_sent(pool, id, &token_a, 0).await.unwrap());
    assert!(!outbox::schedule_retry(pool, id, &token_a, 0, "stale").await.unwrap());
    assert!(!outbox::mark_failed(pool, id, &token_a, 0, outbox::Failure::GivenUp, "stale").await.unwrap());
    assert!(!outbox::renew(pool, id, &token_a, 0, i64::MAX).await.unwrap());
    assert!(!outbox::release(pool, id, &token_a).await.unwrap());
    let row = outbox::find(pool, id).await.unwrap().unwrap();
    assert!(matches!(row.delivery(), Delivery::Handed { .. }), "{:?}", row.delivery());
    assert_eq!(row.attempts, 2);
    app.advance(HOUR);
    assert!(app.deliver_mail().await.is_empty());
}
both_databases_with!(a_worker_whose_claim_lapsed_mid_send_neither_sends_nor_settles, |s| {
    s.mail_claim = std::time::Duration::from_secs(3)
});

async fn a_stale_claim_cannot_settle_a_mail_another_worker_took_over(app: &TestApp) {
    apply(app, 1, "a@example.jp").await;
    let pool = app.state.store.pool();
    let t0 = mypage::store::ms(app.state.now());
    let first = outbox::claim_next(pool, t0, t0 + 1000, "aaaa-1").await.unwrap().unwrap();
    assert!(outbox::claim_next(pool, t0 + 500, t0 + 1500, "bbbb-2").await.unwrap().is_none(), "claim holds");
    let second = outbox::claim_next(pool, t0 + 2000, t0 + 3000, "bbbb-2").await.unwrap().unwrap();
    assert_eq!((first.id, second.attempts), (second.id, 2));
    assert!(!outbox::mark_sent(pool, first.id, "aaaa-1", t0 + 2100).await.unwrap());
    // A restart of the node that held the first claim gives back only its own claims.
    assert_eq!(outbox::release_claims_of(pool, "aaaa").await.unwrap(), 0);
    assert_eq!(outbox::release_claims_of(pool, "bbbb").await.unwrap(), 1);
    let third = outbox::claim_next(pool, t0 + 2100, t0 + 4000, "cccc-3").await.unwrap().unwrap();
    assert!(!outbox::mark_sent(pool, first.id, "bbbb-2", t0 + 2200).await.unwrap());
    assert!(outbox::mark_sent(pool, third.id, "cccc-3", t0 + 2200).await.unwrap());
    assert!(!outbox::mark_sent(pool, third.id, "cccc-3", t0 + 2300).await.unwrap(), "settled once");
}
both_databases!(a_stale_claim_cannot_settle_a_mail_another_worker_took_over);
