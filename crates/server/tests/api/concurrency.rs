//! Attempt counters and single-use codes stay exact under parallel requests, on one node and
//! across several nodes sharing the database.

use crate::both_databases;
use crate::helpers::{Browser, TestApp};

const NUMBER: &str = "60049-58004503";
const BIRTH: (&str, &str, &str) = ("1990", "4", "15");

async fn thirty_parallel_wrong_codes_count_exactly_ten_and_void_the_code(app: &TestApp) {
    app.register(NUMBER, "1990-04-15", None).await;
    app.issue_code(NUMBER).await;
    let node = app.add_node().await;
    let second_node = node.base.clone();
    let mut browsers = Vec::new();
    for i in 0..30 {
        let browser = if i % 2 == 0 { Browser::new(&app.base) } else { Browser::new(&second_node) };
        browser.consent().await;
        browsers.push(browser);
    }
    let mut forms = Vec::new();
    for b in &browsers {
        forms.push(b.get("/opening/apply").await.csrf());
    }
    let tasks: Vec<_> = browsers
        .into_iter()
        .zip(forms)
        .map(|(b, csrf)| {
            tokio::spawn(async move {
                b.post(
                    "/opening/apply",
                    &[
                        ("csrf", &csrf),
                        ("email", "taro@example.jp"),
                        ("job_seeker_number", NUMBER),
                        ("birth_year", BIRTH.0),
                        ("birth_month", BIRTH.1),
                        ("birth_day", BIRTH.2),
                        ("code", "ZZZZZ-ZZZZZ"),
                    ],
                )
                .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap().status);
    }
    assert!(statuses.iter().all(|s| *s == 422), "{statuses:?}");
    assert_eq!(app.scalar("SELECT failed_attempts FROM account_codes").await, 10);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM account_codes WHERE voided_at IS NOT NULL").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'code.voided'").await, 1);
}
both_databases!(thirty_parallel_wrong_codes_count_exactly_ten_and_void_the_code);

async fn two_parallel_completions_with_one_code_create_exactly_one_account(app: &TestApp) {
    app.register(NUMBER, "1990-04-15", None).await;
    let code = app.issue_code(NUMBER).await;
    let node = app.add_node().await;
    let second_node = node.base.clone();
    // One browser reaches the password step; its session cookie is replayed on both nodes at once.
    let browser = app.browser();
    browser.consent().await;
    browser.apply("taro@example.jp", NUMBER, BIRTH, &code).await.assert_redirect("/opening/password");
    let key = app.deliver_mail().await[0].code();
    let form = browser.get("/opening/password").await;
    let csrf = form.csrf();
    let cookie = browser.cookie_header();
    let bases = [app.base.clone(), second_node];
    let tasks: Vec<_> = (0..2)
        .map(|i| {
            let (base, cookie, csrf, key) = (bases[i % 2].clone(), cookie.clone(), csrf.clone(), key.clone());
            tokio::spawn(async move {
                let b = Browser::new(&base);
                b.post_with_headers(
                    "/opening/password",
                    &[("cookie", &cookie)],
                    &[
                        ("csrf", &csrf),
                        ("password", "Kushiro#2026x"),
                        ("password_confirmation", "Kushiro#2026x"),
                        ("auth_key", &key),
                    ],
                )
                .await
                .status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses[0], 303, "exactly one completion wins: {statuses:?}");
    assert_ne!(statuses[1], 303, "exactly one completion wins: {statuses:?}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM accounts").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'account.opened'").await, 1);
    let mails = app.deliver_mail().await;
    assert_eq!(mails.iter().filter(|m| m.subject.contains("開設しました")).count(), 1);
}
both_databases!(two_parallel_completions_with_one_code_create_exactly_one_account);

/// Only the attempt log's own transactions skip PostgreSQL's disk flush at commit
/// (docs/decisions.md, "Bookkeeping commits"); every other write transaction still waits for it.
/// SQLite begins both the same way.
async fn only_bookkeeping_commits_skip_the_disk_flush(app: &TestApp) {
    if app.state.store.backend() != mypage::store::Backend::Postgres {
        return;
    }
    let setting = "SELECT current_setting('synchronous_commit')";
    let mut tx = app.state.store.begin_bookkeeping().await.unwrap();
    let bookkeeping: String = sqlx::query_scalar(setting).fetch_one(&mut *tx).await.unwrap();
    tx.rollback().await.unwrap();
    let mut tx = app.state.store.begin_write().await.unwrap();
    let ordinary: String = sqlx::query_scalar(setting).fetch_one(&mut *tx).await.unwrap();
    tx.rollback().await.unwrap();
    // `SET LOCAL` ends with its transaction: what the pool hands out afterwards flushes again.
    let after: String = sqlx::query_scalar(setting).fetch_one(app.state.store.pool()).await.unwrap();
    assert_eq!((bookkeeping.as_str(), ordinary.as_str(), after.as_str()), ("off", "on", "on"));
}
both_databases!(only_bookkeeping_commits_skip_the_disk_flush);
