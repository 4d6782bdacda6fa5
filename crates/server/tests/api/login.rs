//! Logging in with the emailed one-time password, remembered browsers and sessions (SPEC §3.6–3.7).

use std::time::{Duration, Instant};

use crate::both_databases;
use crate::helpers::{Browser, Db, TestApp, spawn_app_with};

const NUMBER: &str = "60049-58004503";
const BIRTH: (&str, &str, &str) = ("1990", "4", "15");
const EMAIL: &str = "taro@example.jp";
const PASSWORD: &str = "Kushiro#2026x";

/// Logs in with password and OTP on `browser`; returns the final page (the redirect to My Page).
async fn full_login(app: &TestApp, browser: &Browser, remember: bool) -> crate::helpers::browser::Page {
    browser.login(EMAIL, PASSWORD).await.assert_redirect("/login/otp");
    let otp = app.deliver_mail().await.pop().expect("otp mail");
    assert!(otp.subject.contains("ワンタイムパスワード"), "{}", otp.subject);
    assert!(otp.body.contains("(10分間)"), "{}", otp.body);
    browser.submit_otp(&otp.code(), remember).await
}

async fn login_with_the_otp_starts_a_new_session_and_logout_ends_it(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let browser = app.browser();
    browser.get("/login").await.assert_contains("パスワードをお忘れの方");
    let pre_login = browser.cookie_header();
    let done = full_login(app, &browser, false).await;
    done.assert_redirect("/mypage");
    let logged_in = browser.cookie_header();
    assert_ne!(pre_login, logged_in, "the session ID rotates at login");
    let home = browser.get("/mypage").await;
    home.assert_contains("釧路 太郎 さん、ようこそ。");
    home.assert_contains(NUMBER);
    home.assert_contains("ハローワーク釧路");
    // The pre-login session is gone: its cookie opens nothing.
    let replay = Browser::new(&app.base);
    replay
        .post_with_headers("/logout", &[("cookie", &pre_login)], &[("csrf", "x")])
        .await
        .assert_contains("操作の有効期限が切れました");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM logins WHERE method = 'otp'").await, 1);

    let csrf = home.csrf();
    browser.post("/logout", &[("csrf", &csrf)]).await.assert_redirect("/login?notice=logged_out");
    browser.get("/mypage").await.assert_redirect("/login?notice=signed_out");
    let stolen = Browser::new(&app.base);
    let page = stolen.post_with_headers("/logout", &[("cookie", &logged_in)], &[("csrf", &csrf)]).await;
    page.assert_contains("操作の有効期限が切れました");
}
both_databases!(login_with_the_otp_starts_a_new_session_and_logout_ends_it);

async fn an_unknown_address_and_a_wrong_password_get_the_same_answer(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let browser = app.browser();
    let unknown = browser.login("nobody@example.jp", PASSWORD).await;
    let wrong = browser.login(EMAIL, "Wrong#pass1").await;
    assert_eq!(unknown.status, 422);
    assert_eq!(unknown.status, wrong.status);
    let strip =
        |p: &crate::helpers::browser::Page, email: &str| p.body.replace(email, "EMAIL").replace(&p.csrf(), "CSRF");
    assert_eq!(strip(&unknown, "nobody@example.jp"), strip(&wrong, EMAIL));
    unknown.assert_contains("ID (メールアドレス)またはパスワードが正しくありません。");
    assert!(app.deliver_mail().await.is_empty());
}
both_databases!(an_unknown_address_and_a_wrong_password_get_the_same_answer);

async fn ten_consecutive_failures_lock_password_login_for_thirty_minutes_and_mail_the_owner(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let browser = app.browser();
    for _ in 0..9 {
        assert_eq!(browser.login(EMAIL, "Wrong#pass1").await.status, 422);
    }
    // A success resets the count: failures must be consecutive.
    browser.login(EMAIL, PASSWORD).await.assert_redirect("/login/otp");
    app.deliver_mail().await;
    let other = app.browser();
    for _ in 0..10 {
        other.login(EMAIL, "Wrong#pass1").await;
    }
    let lock = app.deliver_mail().await;
    assert_eq!(lock.len(), 1, "{lock:?}");
    assert!(lock[0].subject.contains("ログインを一時的に停止しました"));
    assert!(lock[0].body.contains("2026年11月25日(水) 10:30"), "{}", lock[0].body);
    // Locked: even the right password gets the same answer as a wrong one, and no OTP.
    let refused = other.login(EMAIL, PASSWORD).await;
    refused.assert_contains("ID (メールアドレス)またはパスワードが正しくありません。");
    assert!(app.deliver_mail().await.is_empty());
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'login.locked'").await, 1);
    app.advance(Duration::from_secs(30 * 60));
    app.browser().login(EMAIL, PASSWORD).await.assert_redirect("/login/otp");
}
both_databases!(ten_consecutive_failures_lock_password_login_for_thirty_minutes_and_mail_the_owner);

async fn a_remembered_browser_skips_the_otp_for_ninety_days_and_only_for_its_account(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    app.open_account("27520-1391873", ("1985", "1", "2"), "hanako@example.jp", "Nemuro#1985y").await;
    let browser = app.browser();
    let done = full_login(app, &browser, true).await;
    done.assert_redirect("/mypage");
    let set_cookies: Vec<_> =
        done.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    let remember = set_cookies.iter().find(|c| c.starts_with("__Host-mypage-remember=")).expect("remember cookie");
    for attr in ["Max-Age=7776000", "HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(remember.contains(attr), "{remember} lacks {attr}");
    }
    let token = remember.split(';').next().unwrap().split_once('=').unwrap().1.to_owned();
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM remembered_browsers")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    assert_ne!(stored, token, "only a keyed hash is stored");

    let home = browser.get("/mypage").await;
    browser.post("/logout", &[("csrf", &home.csrf())]).await;
    browser.login(EMAIL, PASSWORD).await.assert_redirect("/mypage");
    assert!(app.deliver_mail().await.is_empty(), "no OTP for a remembered browser");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM logins WHERE method = 'remembered'").await, 1);

    // Another account on the same browser, and the same account on another browser, need the OTP.
    let home = browser.get("/mypage").await;
    browser.post("/logout", &[("csrf", &home.csrf())]).await;
    browser.login("hanako@example.jp", "Nemuro#1985y").await.assert_redirect("/login/otp");
    app.deliver_mail().await;
    app.browser().login(EMAIL, PASSWORD).await.assert_redirect("/login/otp");
    app.deliver_mail().await;

    // 90 days from the moment the box was ticked, the browser needs the OTP again.
    app.advance(Duration::from_secs(90 * 86400 - 60));
    let fresh = Browser::new(&app.base);
    let cookie = format!("__Host-mypage-remember={token}");
    let form = fresh.get("/login").await;
    let both = format!("{}; {cookie}", fresh.cookie_header());
    let page = fresh
        .post_with_headers(
            "/login",
            &[("cookie", &both)],
            &[("csrf", &form.csrf()), ("email", EMAIL), ("password", PASSWORD)],
        )
        .await;
    page.assert_redirect("/mypage");
    app.advance(Duration::from_secs(60));
    let later = Browser::new(&app.base);
    let form = later.get("/login").await;
    let both = format!("{}; {cookie}", later.cookie_header());
    let page = later
        .post_with_headers(
            "/login",
            &[("cookie", &both)],
            &[("csrf", &form.csrf()), ("email", EMAIL), ("password", PASSWORD)],
        )
        .await;
    page.assert_redirect("/login/otp");
}
both_databases!(a_remembered_browser_skips_the_otp_for_ninety_days_and_only_for_its_account);

async fn five_wrong_otps_void_it_and_send_the_browser_back_to_login(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let browser = app.browser();
    browser.login(EMAIL, PASSWORD).await.assert_redirect("/login/otp");
    let otp = app.deliver_mail().await[0].code();
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    for remaining in (1..=4).rev() {
        browser.submit_otp(wrong, false).await.assert_contains(&format!("あと{remaining}回間違えると"));
    }
    browser.submit_otp(wrong, false).await.assert_redirect("/login?notice=otp_void");
    browser.get("/login?notice=otp_void").await.assert_contains("ワンタイムパスワードが無効になりました");
    browser.get("/login/otp").await.assert_redirect("/login");
    assert_eq!(app.scalar("SELECT failed_attempts FROM login_challenges").await, 5);
}
both_databases!(five_wrong_otps_void_it_and_send_the_browser_back_to_login);

async fn the_otp_expires_after_ten_minutes_cancel_voids_it_and_resend_waits(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let browser = app.browser();
    browser.login(EMAIL, PASSWORD).await.assert_redirect("/login/otp");
    let first = app.deliver_mail().await[0].code();
    let page = browser.get("/login/otp").await;
    page.assert_contains("次回以降、同じ端末・ブラウザでログインする際にワンタイムパスワードを省略する");
    page.assert_contains("有効期限: 2026年11月25日(水) 10:10まで");
    let early = browser.post("/login/otp/resend", &[("csrf", &page.csrf())]).await;
    early.assert_contains("秒ほどおいてから");
    app.advance(Duration::from_secs(60));
    browser
        .post("/login/otp/resend", &[("csrf", &page.csrf())])
        .await
        .assert_contains("新しいワンタイムパスワードを送信しました");
    let second = app.deliver_mail().await[0].code();
    if first != second {
        // The resent one-time password replaced the first: the first is now just a wrong entry.
        browser.submit_otp(&first, false).await.assert_contains("あと4回間違えると");
    }

    // Cancel voids the pending login.
    let form = browser.get("/login/otp").await;
    browser.post("/login/otp/cancel", &[("csrf", &form.csrf())]).await.assert_redirect("/login?notice=cancelled");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM login_challenges WHERE used_at IS NULL AND voided_at IS NULL").await,
        0
    );

    // Expiry: ten minutes to the second.
    browser.login(EMAIL, PASSWORD).await.assert_redirect("/login/otp");
    let otp = app.deliver_mail().await[0].code();
    app.advance(Duration::from_secs(10 * 60));
    browser.submit_otp(&otp, false).await.assert_redirect("/login?notice=otp_expired");
}
both_databases!(the_otp_expires_after_ten_minutes_cancel_voids_it_and_resend_waits);

async fn a_session_idles_out_after_thirty_minutes_and_ends_after_twelve_hours(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let browser = app.browser();
    full_login(app, &browser, false).await.assert_redirect("/mypage");
    app.advance(Duration::from_secs(29 * 60));
    assert_eq!(browser.get("/mypage").await.status, 200);
    app.advance(Duration::from_secs(30 * 60));
    browser.get("/mypage").await.assert_redirect("/login?notice=signed_out");

    full_login(app, &browser, false).await.assert_redirect("/mypage");
    for _ in 0..(12 * 3) {
        assert_eq!(browser.get("/mypage").await.status, 200);
        app.advance(Duration::from_secs(20 * 60));
    }
    browser.get("/mypage").await.assert_redirect("/login?notice=signed_out");
}
both_databases!(a_session_idles_out_after_thirty_minutes_and_ends_after_twelve_hours);

async fn ten_parallel_wrong_otps_void_it_after_exactly_five(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let browser = app.browser();
    browser.login(EMAIL, PASSWORD).await.assert_redirect("/login/otp");
    let otp = app.deliver_mail().await[0].code();
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    let csrf = browser.get("/login/otp").await.csrf();
    let cookie = browser.cookie_header();
    let node = app.add_node().await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let base = if i % 2 == 0 { app.base.clone() } else { node.base.clone() };
        let (cookie, csrf) = (cookie.clone(), csrf.clone());
        tasks.push(tokio::spawn(async move {
            Browser::new(&base)
                .post_with_headers("/login/otp", &[("cookie", &cookie)], &[("csrf", &csrf), ("otp", wrong)])
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(app.scalar("SELECT failed_attempts FROM login_challenges").await, 5);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM login_challenges WHERE voided_at IS NOT NULL").await, 1);
    // Even the right OTP is refused now.
    let right = Browser::new(&app.base)
        .post_with_headers("/login/otp", &[("cookie", &cookie)], &[("csrf", &csrf), ("otp", &otp)])
        .await;
    assert_ne!(right.location.as_deref(), Some("/mypage"));
}
both_databases!(ten_parallel_wrong_otps_void_it_after_exactly_five);

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

async fn unknown_and_known_addresses_take_the_same_time(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let browser = app.browser();
    let csrf = browser.get("/login").await.csrf();
    let (mut ratios, mut unknown, mut known) = (Vec::new(), Vec::new(), Vec::new());
    let timed = async |email: &str, i: usize| {
        let started = Instant::now();
        let page = browser.post("/login", &[("csrf", &csrf), ("email", email), ("password", "Wrong#pass1")]).await;
        assert_eq!(page.status, 422, "attempt {i}");
        started.elapsed()
    };
    for i in 0..54 {
        // Interleaved, the order alternating, so load on the machine hits both alike; each pair
        // is compared with itself, so load that comes and goes cancels out.
        let (u, k) = if i % 2 == 0 {
            let u = timed("nobody@example.jp", i).await;
            (u, timed(EMAIL, i).await)
        } else {
            let k = timed(EMAIL, i).await;
            (timed("nobody@example.jp", i).await, k)
        };
        // The first pairs warm up connections and caches.
        if i >= 4 {
            ratios.push(u.as_secs_f64() / k.as_secs_f64());
            unknown.push(u);
            known.push(k);
        }
    }
    let (u, k) = (median(unknown), median(known));
    ratios.sort_unstable_by(f64::total_cmp);
    let ratio = ratios[ratios.len() / 2];
    eprintln!("login timing: unknown median {u:?}, known median {k:?}, median pair ratio {ratio:.3}");
    assert!((0.9..=1.1).contains(&ratio), "unknown {u:?} vs known {k:?}: ratio {ratio:.3}");
}
both_databases!(unknown_and_known_addresses_take_the_same_time);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_gets_503_with_retry_after_while_other_pages_answer_quickly() {
    let app = spawn_app_with(Db::Sqlite, |s| {
        s.hash_workers = 1;
        s.hash_queue = 2;
    })
    .await;
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let browser = app.browser();
    let csrf = browser.get("/login").await.csrf();
    let cookie = browser.cookie_header();
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let (base, cookie, csrf) = (app.base.clone(), cookie.clone(), csrf.clone());
        tasks.push(tokio::spawn(async move {
            Browser::new(&base)
                .post_with_headers(
                    "/login",
                    &[("cookie", &cookie)],
                    &[("csrf", &csrf), ("email", EMAIL), ("password", "Wrong#pass1")],
                )
                .await
        }));
    }
    let started = Instant::now();
    let top = app.browser().get("/").await;
    let top_latency = started.elapsed();
    let mut busy = 0;
    for t in tasks {
        let page = t.await.unwrap();
        if page.status == 503 {
            busy += 1;
            assert_eq!(page.headers.get("retry-after").unwrap(), "5");
            page.assert_contains("ただいま混み合っています");
        } else {
            assert_eq!(page.status, 422);
        }
    }
    assert_eq!(top.status, 200);
    assert!(busy > 0, "with room for 3, some of 40 simultaneous logins must be refused");
    assert!(top_latency < Duration::from_millis(500), "the top page took {top_latency:?} during the flood");
    app.browser().get("/metrics").await.assert_contains("mypage_hash_queue_depth 0");
    app.finish().await;
}

async fn a_client_that_hangs_up_mid_login_is_still_counted(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let browser = app.browser();
    let csrf = browser.get("/login").await.csrf();
    let cookie = browser.cookie_header();
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(5)).build().unwrap();
    let before = app.state.hasher.completed();
    for _ in 0..5 {
        let sent = impatient
            .post(format!("{}/login", app.base))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf.as_str()), ("email", EMAIL), ("password", "Wrong#pass1")])
            .send()
            .await;
        assert!(sent.is_err(), "the client gave up before the answer");
    }
    // Every verification that ran is recorded as a failure although nobody waited for its answer
    // (a request dropped before reaching the handler costs no hash). Bounded wait for the tasks.
    let (mut hashed, mut counted) = (0, -1);
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        hashed = i64::try_from(app.state.hasher.completed() - before).unwrap();
        counted = app.scalar("SELECT failed_logins FROM accounts").await;
        if app.state.hasher.depth() == 0 && counted == hashed {
            break;
        }
    }
    assert!(hashed >= 1, "some logins reached the hash before the client hung up");
    assert_eq!(counted, hashed);
}
both_databases!(a_client_that_hangs_up_mid_login_is_still_counted);
