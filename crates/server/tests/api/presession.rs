//! A visitor without a session costs no write: form pages carry a signed pre-session token, and
//! the session row starts at the first POST that has state to keep.

use crate::both_databases;
use crate::helpers::burst::{Prepared, count, release_together};
use crate::helpers::{Browser, TestApp};

/// The form pages (and the pages around them) a new visitor may open.
const ANONYMOUS_PAGES: [&str; 8] = [
    "/",
    "/login",
    "/login/forgot",
    "/opening/consent",
    "/opening/documents/privacy",
    "/opening/documents/terms",
    "/opening/apply",
    "/staff/login",
];

/// Every table's row count, and the sessions' last-seen sum (an idle-expiry extension is an
/// update that a count would miss).
async fn snapshot(app: &TestApp) -> Vec<(String, i64)> {
    let list = if app.db_url.is_sqlite() {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    } else {
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
    };
    let pool = app.state.store.pool();
    let tables: Vec<String> = sqlx::query_scalar(list).fetch_all(pool).await.unwrap();
    assert!(tables.iter().any(|t| t == "sessions"), "{tables:?}");
    let mut counts = Vec::new();
    for table in tables {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await.unwrap();
        counts.push((table, n));
    }
    let seen = app.scalar("SELECT CAST(COALESCE(SUM(last_seen_at), 0) AS BIGINT) FROM sessions").await;
    counts.push(("sessions.last_seen_at".into(), seen));
    counts
}

async fn anonymous_gets_of_every_form_page_write_nothing(app: &TestApp) {
    let before = snapshot(app).await;
    for path in ANONYMOUS_PAGES {
        // New visitors each time, and one visitor coming back with its pre-session cookie.
        let returning = Browser::new(&app.base);
        for _ in 0..10 {
            let page = Browser::new(&app.base).get(path).await;
            assert!(matches!(page.status, 200 | 303), "{path}: {}", page.status);
            let again = returning.get(path).await;
            assert_eq!(again.status, page.status, "{path}");
        }
    }
    assert_eq!(snapshot(app).await, before, "anonymous GETs changed the database");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 0);
}
both_databases!(anonymous_gets_of_every_form_page_write_nothing);

async fn the_pre_session_cookie_has_the_session_cookie_flags_and_tokens_differ_by_visitor(app: &TestApp) {
    let a = Browser::new(&app.base).get("/login").await;
    let b = Browser::new(&app.base).get("/login").await;
    let cookie = a.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with("__Host-mypage-pre="), "{cookie}");
    for attr in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert_ne!(a.csrf(), b.csrf());
    assert!(!cookie.contains(&a.csrf()), "the form's token is not the cookie's value");
    // The same visitor keeps its token; the staff realm's token is another.
    let browser = Browser::new(&app.base);
    let first = browser.get("/login").await.csrf();
    assert_eq!(browser.get("/login/forgot").await.csrf(), first);
    assert_ne!(browser.get("/staff/login").await.csrf(), first);
}
both_databases!(the_pre_session_cookie_has_the_session_cookie_flags_and_tokens_differ_by_visitor);

const REFUSED: &str = "送信を受け付けられませんでした";

async fn login_posts_with_a_missing_forged_or_other_visitors_token_are_refused_and_keep_the_email(app: &TestApp) {
    let visitor = Browser::new(&app.base);
    let own = visitor.get("/login").await.csrf();
    let other = Browser::new(&app.base).get("/login").await.csrf();
    let forged = "x".repeat(own.len());
    for token in ["", forged.as_str(), other.as_str()] {
        let page = visitor
            .post("/login", &[("csrf", token), ("email", "taro@example.jp"), ("password", "typed-secret-1")])
            .await;
        assert_eq!(page.status, 403, "{token:?}");
        page.assert_contains(REFUSED);
        assert_eq!(page.input_value("email").as_deref(), Some("taro@example.jp"));
        assert!(!page.contains("typed-secret-1"), "the password is never echoed");
        assert_eq!(page.csrf(), own, "the page offers this visitor's own token again");
    }
    // A browser without the pre-session cookie cannot use someone else's token either, and gets one.
    let cookieless = Browser::new(&app.base);
    let page = cookieless.post("/login", &[("csrf", &own), ("email", "taro@example.jp"), ("password", "x")]).await;
    assert_eq!(page.status, 403);
    page.assert_contains(REFUSED);
    assert!(page.headers.get("set-cookie").unwrap().to_str().unwrap().starts_with("__Host-mypage-pre="));
    let retry =
        cookieless.post("/login", &[("csrf", &page.csrf()), ("email", "a@example.jp"), ("password", "x")]).await;
    assert_eq!(retry.status, 422, "the offered token works: the login itself is refused");
    retry.assert_contains("ID (メールアドレス)またはパスワードが正しくありません");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 0, "a refused login keeps no state");
}
both_databases!(login_posts_with_a_missing_forged_or_other_visitors_token_are_refused_and_keep_the_email);

async fn recovery_and_staff_login_posts_with_another_visitors_token_are_refused_and_keep_their_fields(app: &TestApp) {
    let visitor = Browser::new(&app.base);
    visitor.get("/login/forgot").await;
    let other = Browser::new(&app.base).get("/login/forgot").await.csrf();
    let page = visitor
        .post(
            "/login/forgot",
            &[
                ("csrf", &other),
                ("email", "taro@example.jp"),
                ("job_seeker_number", "60049-58004503"),
                ("birth_year", "1990"),
                ("birth_month", "4"),
                ("birth_day", "15"),
            ],
        )
        .await;
    assert_eq!(page.status, 403);
    page.assert_contains(REFUSED);
    for (name, value) in [("email", "taro@example.jp"), ("job_seeker_number", "60049-58004503"), ("birth_year", "1990")]
    {
        assert_eq!(page.input_value(name).as_deref(), Some(value), "{name}");
    }
    visitor.get("/staff/login").await;
    let public_token = visitor.get("/login").await.csrf();
    let staff = visitor
        .post("/staff/login", &[("csrf", &public_token), ("login_id", "admin"), ("password", "pw"), ("totp", "1")])
        .await;
    assert_eq!(staff.status, 403, "a job seeker's form token is not a staff token");
    staff.assert_contains(REFUSED);
    assert_eq!(staff.input_value("login_id").as_deref(), Some("admin"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 0);
}
both_databases!(recovery_and_staff_login_posts_with_another_visitors_token_are_refused_and_keep_their_fields);

async fn consent_starts_the_session_and_documents_opened_by_another_visitor_do_not_count(app: &TestApp) {
    let visitor = Browser::new(&app.base);
    let form = visitor.get("/opening/consent").await;
    visitor.get("/opening/documents/privacy").await;
    visitor.get("/opening/documents/terms").await;
    assert!(
        visitor.get("/opening/consent").await.contains("id=\"agree_privacy\" name=\"agree_privacy\" value=\"yes\">")
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 0, "opening documents writes nothing");

    // Another visitor replaying this one's documents cookie with its own pre-session gets nothing.
    let other = Browser::new(&app.base);
    let other_form = other.get("/opening/consent").await;
    let docs = visitor.cookie_header().split("; ").find(|c| c.starts_with("__Host-mypage-docs=")).unwrap().to_owned();
    let other_pre = other.cookie_header();
    let replay = reqwest::Client::new()
        .post(format!("{}/opening/consent", app.base))
        .header("cookie", format!("{other_pre}; {docs}"))
        .form(&[("csrf", other_form.csrf().as_str()), ("agree_privacy", "yes"), ("agree_terms", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 422);
    assert!(replay.text().await.unwrap().contains("「プライバシーポリシー」を開いて"));

    // A refused post keeps the ticks.
    let refused =
        visitor.post("/opening/consent", &[("csrf", "forged"), ("agree_privacy", "yes"), ("agree_terms", "yes")]).await;
    assert_eq!(refused.status, 403);
    refused.assert_contains(REFUSED);
    assert!(refused.contains("value=\"yes\" checked>"), "{}", refused.body);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 0);

    let done = visitor
        .post("/opening/consent", &[("csrf", &form.csrf()), ("agree_privacy", "yes"), ("agree_terms", "yes")])
        .await;
    done.assert_redirect("/opening/apply");
    let cookie = done.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with("__Host-mypage="), "{cookie}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 1);
    let apply = visitor.get("/opening/apply").await;
    assert_eq!(apply.status, 200);
    assert_ne!(apply.csrf(), form.csrf(), "the stored session has its own CSRF token");
}
both_databases!(consent_starts_the_session_and_documents_opened_by_another_visitor_do_not_count);

async fn a_burst_of_new_visitors_gets_forms_then_posts_them_together(app: &TestApp) {
    const N: usize = 12;
    let before = snapshot(app).await;
    let mut gets = Vec::new();
    for i in 0..2 * N {
        let browser = Browser::new(&app.base);
        gets.push(tokio::spawn(async move {
            if i % 2 == 0 {
                let csrf = browser.get("/login").await.csrf();
                Prepared::new(
                    browser,
                    "/login",
                    &[("csrf", &csrf), ("email", "nobody@example.jp"), ("password", "wrong")],
                )
            } else {
                let csrf = browser.get("/opening/consent").await.csrf();
                browser.get("/opening/documents/privacy").await;
                browser.get("/opening/documents/terms").await;
                Prepared::new(
                    browser,
                    "/opening/consent",
                    &[("csrf", &csrf), ("agree_privacy", "yes"), ("agree_terms", "yes")],
                )
            }
        }));
    }
    let mut posts = Vec::new();
    for g in gets {
        posts.push(g.await.unwrap());
    }
    assert_eq!(snapshot(app).await, before, "{} parallel visitors' GETs wrote nothing", 2 * N);
    let pages = release_together(posts).await;
    let rejected =
        count(&pages, |p| p.status == 422 && p.contains("ID (メールアドレス)またはパスワードが正しくありません"));
    let consented = count(&pages, |p| p.status == 303 && p.location.as_deref() == Some("/opening/apply"));
    assert_eq!((rejected, consented), (N, N));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM sessions").await,
        N as i64,
        "one session per consent, none per wrong login"
    );
}
both_databases!(a_burst_of_new_visitors_gets_forms_then_posts_them_together);
