//! The budget of new sessions per client address: a consent post from a visitor without a session
//! stores a session row only within `NEW_SESSIONS_PER_CLIENT`, counted in the database across
//! nodes, and past it is refused by a plain read with a 429 page in the visitor's language.

use std::time::Duration;

use mypage::flows::limits::NEW_SESSIONS_PER_CLIENT;

use crate::both_databases;
use crate::helpers::burst::{Prepared, count, release_together};
use crate::helpers::{Browser, TestApp};

const PAUSED: &str = "ただいま受け付けを制限しています";

/// A consent post of a new visitor on `base`, documents opened, ready to send.
async fn consent_post(base: &str) -> Prepared {
    let browser = Browser::new(base);
    let csrf = browser.get("/opening/consent").await.csrf();
    browser.get("/opening/documents/privacy").await;
    browser.get("/opening/documents/terms").await;
    Prepared::new(browser, "/opening/consent", &[("csrf", &csrf), ("agree_privacy", "yes"), ("agree_terms", "yes")])
}

/// How the server keys the test's client, from the one session start it has counted.
async fn subject_of_this_client(app: &TestApp) -> String {
    sqlx::query_scalar("SELECT subject FROM attempt_log WHERE scope = 'session.new.client'")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap()
}

/// Fills the client's window with `n` earlier session starts, as that many consents would.
async fn earlier_starts(app: &TestApp, subject: &str, n: i64) {
    let at = mypage::store::ms(app.state.now());
    let rows: Vec<String> =
        (0..n).map(|_| format!("('{}', '{subject}', {at})", NEW_SESSIONS_PER_CLIENT.scope)).collect();
    let sql = format!("INSERT INTO attempt_log (scope, subject, at) VALUES {}", rows.join(", "));
    // Built from the scope's name, the subject the server recorded and a number: nothing typed.
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(app.state.store.pool()).await.unwrap();
}

async fn a_burst_of_consents_over_two_nodes_stores_no_more_sessions_than_the_budget(app: &TestApp) {
    // One consent in sequence: it takes a place, and says how the server keys this client.
    release_together(vec![consent_post(&app.base).await]).await[0].assert_redirect("/opening/apply");
    let subject = subject_of_this_client(app).await;
    // Ten places are left.
    earlier_starts(app, &subject, NEW_SESSIONS_PER_CLIENT.max - 11).await;

    let node = app.add_node().await;
    let mut burst = Vec::new();
    for i in 0..30 {
        burst.push(consent_post(if i % 2 == 0 { &app.base } else { &node.base }).await);
    }
    let pages = release_together(burst).await;
    assert_eq!(count(&pages, |p| p.location.as_deref() == Some("/opening/apply")), 10);
    assert_eq!(count(&pages, |p| p.status == 429 && p.contains(PAUSED)), 20);
    assert!(pages.iter().filter(|p| p.status == 429).all(|p| p.headers.contains_key("retry-after")));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 11);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM attempt_log WHERE scope = 'session.new.client'").await,
        NEW_SESSIONS_PER_CLIENT.max
    );

    // A refusal is a read: nothing is written, not even the subject's lock row.
    let touched = app.scalar("SELECT touched_at FROM limit_subjects WHERE scope = 'session.new.client'").await;
    app.advance(Duration::from_secs(60));
    let english = Browser::new(&node.base);
    let csrf = english.get_with_headers("/opening/consent", &[("accept-language", "en")]).await.csrf();
    english.get("/opening/documents/privacy").await;
    english.get("/opening/documents/terms").await;
    let refused = english
        .post_with_headers(
            "/opening/consent",
            &[("accept-language", "en")],
            &[("csrf", &csrf), ("agree_privacy", "yes"), ("agree_terms", "yes")],
        )
        .await;
    assert_eq!(refused.status, 429);
    refused.assert_contains("New sessions are paused for now");
    assert_eq!(app.scalar("SELECT touched_at FROM limit_subjects WHERE scope = 'session.new.client'").await, touched);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 11);

    // Another address has its own budget, and the window moves on.
    let elsewhere = Browser::from_address(&app.base, "127.0.0.2".parse().unwrap());
    elsewhere.consent().await;
    app.advance(NEW_SESSIONS_PER_CLIENT.window);
    Browser::new(&node.base).consent().await;
}
both_databases!(a_burst_of_consents_over_two_nodes_stores_no_more_sessions_than_the_budget);

async fn a_visitor_with_a_session_consents_again_without_taking_a_place(app: &TestApp) {
    let browser = app.browser();
    browser.consent().await;
    let subject = subject_of_this_client(app).await;
    earlier_starts(app, &subject, NEW_SESSIONS_PER_CLIENT.max).await;
    // The budget is used up, but this browser's session exists: consenting again only saves it.
    browser.consent().await;
    Browser::new(&app.base).get("/opening/consent").await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 1);
}
both_databases!(a_visitor_with_a_session_consents_again_without_taking_a_place);
