//! What an attacker could try on recovery and on a borrowed session: bursts of wrong keys and
//! birth dates (counted exactly, the same whether or not anything matched), the separate send
//! caps of opening and recovery, the timing of the forgot form, and the change of login ID (current
//! password, caps per account and per address, everything else ends when it is confirmed).

use std::time::{Duration, Instant};

use crate::both_databases;
use crate::helpers::browser::Page;
use crate::helpers::burst::{Prepared, count, release_together};
use crate::helpers::{Browser, TestApp};
use crate::recovery::{ask_for_a_key, strip};

const NUMBER: &str = "60049-58004503";
const BIRTH: (&str, &str, &str) = ("1990", "4", "15");
const EMAIL: &str = "taro@example.jp";
const NOBODY: &str = "nobody@example.jp";
const PASSWORD: &str = "Kushiro#2026x";
const NEW_PASSWORD: &str = "Akan!Lake2027";

const KEY_VOID: &str = "この認証キーは無効になりました";

/// `n` posts of the password step on the session `cookie`, split over the app and `node`.
async fn key_burst(bases: [&str; 2], cookie: &str, csrf: &str, key: &str, n: usize) -> Vec<Page> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (base, cookie, csrf, key) =
                (bases[i % 2].to_owned(), cookie.to_owned(), csrf.to_owned(), key.to_owned());
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let browser = Browser::new(&base);
                let form = [
                    ("csrf", csrf.as_str()),
                    ("password", NEW_PASSWORD),
                    ("password_confirmation", NEW_PASSWORD),
                    ("auth_key", key.as_str()),
                ];
                barrier.wait().await;
                browser.post_with_headers("/login/forgot/password", &[("cookie", &cookie)], &form).await
            })
        })
        .collect();
    let mut pages = Vec::new();
    for t in tasks {
        pages.push(t.await.unwrap());
    }
    pages
}

async fn a_burst_of_wrong_keys_counts_five_whether_or_not_anything_matched(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let node = app.add_node().await;
    let (mut answers, mut browsers) = (Vec::new(), Vec::new());
    for email in [EMAIL, NOBODY] {
        let browser = app.browser();
        ask_for_a_key(&browser, email, NUMBER, BIRTH).await.assert_redirect("/login/forgot/password");
        let csrf = browser.get("/login/forgot/password").await.csrf();
        let pages = key_burst([&app.base, &node.base], &browser.cookie_header(), &csrf, "000000", 20).await;
        assert_eq!(count(&pages, |p| p.contains("回間違えると")), 4, "{email}: four wrong entries leave tries");
        assert_eq!(count(&pages, |p| p.contains(KEY_VOID)), 16, "{email}: the fifth voids, the rest find it void");
        let mut bodies: Vec<String> = pages.iter().map(|p| strip(p, email)).collect();
        bodies.sort();
        answers.push(bodies);
        browsers.push(browser);
    }
    assert_eq!(answers[0], answers[1], "the same twenty answers on both paths");
    let counted = "SELECT COUNT(*) FROM recovery_requests WHERE failed_attempts = 5 AND voided_at IS NOT NULL";
    assert_eq!(app.scalar(counted).await, 2, "exactly five entries counted on each");
    // The real key (unless it happened to be 000000) opens nothing now.
    let key = app.deliver_mail().await.pop().expect("the real key").code();
    crate::recovery::reset(&browsers[0], NEW_PASSWORD, &key).await.assert_contains(KEY_VOID);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'password.reset'").await, 0);
}
both_databases!(a_burst_of_wrong_keys_counts_five_whether_or_not_anything_matched);

/// A forgot-form post on a fresh browser on `base`.
async fn forgot_post(base: &str, email: &str, number: &str, birth: (&str, &str, &str)) -> Prepared {
    let browser = Browser::new(base);
    let csrf = browser.get("/login/forgot").await.csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("email", email),
        ("job_seeker_number", number),
        ("birth_year", birth.0),
        ("birth_month", birth.1),
        ("birth_day", birth.2),
    ];
    Prepared::new(browser, "/login/forgot", &form)
}

async fn a_burst_of_birth_dates_for_one_number_compares_ten_and_then_mails_nothing(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let node = app.add_node().await;
    let mut burst = Vec::new();
    for i in 0..20 {
        let base = if i % 2 == 0 { &app.base } else { &node.base };
        let day = (1 + i).to_string();
        burst.push(forgot_post(base, EMAIL, NUMBER, ("1980", "1", &day)).await);
    }
    let pages = release_together(burst).await;
    assert_eq!(count(&pages, |p| p.location.as_deref() == Some("/login/forgot/password")), 20, "one answer");
    let compared = "SELECT COUNT(*) FROM attempt_log WHERE scope = 'apply.birth_date'";
    assert_eq!(app.scalar(compared).await, 10, "exactly ten birth dates compared");
    let paused = "SELECT COUNT(*) FROM audit_events WHERE kind = 'recovery.requested' AND detail LIKE '%paused%'";
    assert_eq!(app.scalar(paused).await, 10);
    // While paused, even the right data mails nothing, and the screen is the usual one.
    let right = release_together(vec![forgot_post(&app.base, EMAIL, NUMBER, BIRTH).await]).await;
    right[0].assert_redirect("/login/forgot/password");
    assert!(app.deliver_mail().await.is_empty(), "no key while paused");
    // The pause ends after a day: the right data then gets its key.
    app.advance(Duration::from_secs(24 * 3600 + 1));
    release_together(vec![forgot_post(&app.base, EMAIL, NUMBER, BIRTH).await]).await;
    assert_eq!(app.deliver_mail().await.len(), 1);
}
both_databases!(a_burst_of_birth_dates_for_one_number_compares_ten_and_then_mails_nothing);

/// Registers a job seeker whose address the counter registered before the cutoff (SPEC §3.9): they
/// can open through the code and through recovery alike.
async fn register_legacy(app: &TestApp, number: &str, email: &str) -> String {
    let csv = format!(
        "job_seeker_number,name,name_kana,birth_date,office_number,email,email_registered_on\n\
         {number},釧路 太郎,クシロ タロウ,1990-04-15,01010,{email},2026-03-01\n"
    );
    let office = mypage::flows::registry::OfficeNumber::parse("01010").unwrap();
    let _ = mypage::flows::registry::add_office(&app.state, &office, "ハローワーク釧路", None, "test").await;
    mypage::import::import(&app.state, csv.as_bytes(), "test", None).await.unwrap();
    app.issue_code(number).await
}

async fn opening_and_recovery_key_mails_have_caps_of_their_own(app: &TestApp) {
    let (first, second) = ("60049-58004503", "60049-58004504");
    let (a, b) = ("a@example.jp", "b@example.jp");
    let code = register_legacy(app, first, a).await;
    // Five opening keys use up the opening's cap, not recovery's.
    for _ in 0..5 {
        let browser = app.browser();
        browser.consent().await;
        browser.apply(a, first, BIRTH, &code).await.assert_redirect("/opening/password");
    }
    let browser = app.browser();
    browser.consent().await;
    browser.apply(a, first, BIRTH, &code).await.assert_contains("認証キーの送信回数が上限");
    assert_eq!(app.deliver_mail().await.len(), 5);
    ask_for_a_key(&app.browser(), a, first, BIRTH).await;
    let mails = app.deliver_mail().await;
    assert_eq!(mails.len(), 1, "recovery still mails a key");
    assert!(mails[0].subject.contains("再設定"), "{}", mails[0].subject);

    // And the other way round.
    let code = register_legacy(app, second, b).await;
    for _ in 0..6 {
        ask_for_a_key(&app.browser(), b, second, BIRTH).await.assert_redirect("/login/forgot/password");
    }
    assert_eq!(app.deliver_mail().await.len(), 5, "recovery's cap: five an hour");
    let browser = app.browser();
    browser.consent().await;
    browser.apply(b, second, BIRTH, &code).await.assert_redirect("/opening/password");
    assert_eq!(app.deliver_mail().await.len(), 1, "the opening still mails a key");
}
both_databases!(opening_and_recovery_key_mails_have_caps_of_their_own);

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Posts the forgot form for `email` (with the account's 求職番号 and birth date); its duration.
async fn timed_forgot(browser: &Browser, csrf: &str, email: &str) -> Duration {
    let form = [
        ("csrf", csrf),
        ("email", email),
        ("job_seeker_number", NUMBER),
        ("birth_year", BIRTH.0),
        ("birth_month", BIRTH.1),
        ("birth_day", BIRTH.2),
    ];
    let started = Instant::now();
    let page = browser.post("/login/forgot", &form).await;
    let took = started.elapsed();
    page.assert_redirect("/login/forgot/password");
    took
}

/// Pairs of requests timed (the first four only warm up). Requests are short, so it takes many
/// to see through the noise of a loaded machine.
const PAIRS: usize = 204;

async fn matched_and_unmatched_recovery_requests_take_the_same_time(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let (mut ratios, mut unmatched, mut matched) = (Vec::new(), Vec::new(), Vec::new());
    let (mut browser, mut csrf) = (app.browser(), String::new());
    for i in 0..PAIRS {
        // A fresh browser now and then: the test spans more than a session's 12 hours.
        if i % 40 == 0 {
            browser = app.browser();
            csrf = browser.get("/login/forgot").await.csrf();
        }
        // 12 min 10 s apart: the account's five recovery mails an hour and the client's thirty
        // requests are never reached, so every matched request mails a key.
        app.advance(Duration::from_secs(730));
        // Interleaved, the order alternating, so load on the machine hits both alike; each pair
        // is compared with itself, so load that comes and goes cancels out.
        let (u, m) = if i % 2 == 0 {
            let u = timed_forgot(&browser, &csrf, NOBODY).await;
            (u, timed_forgot(&browser, &csrf, EMAIL).await)
        } else {
            let m = timed_forgot(&browser, &csrf, EMAIL).await;
            (timed_forgot(&browser, &csrf, NOBODY).await, m)
        };
        // The first pairs warm up connections and caches.
        if i >= 4 {
            ratios.push(u.as_secs_f64() / m.as_secs_f64());
            unmatched.push(u.as_secs_f64() * 1000.0);
            matched.push(m.as_secs_f64() * 1000.0);
        }
    }
    let mailed = "SELECT COUNT(*) FROM outbox WHERE kind = 'recovery_key.v1'";
    assert_eq!(app.scalar(mailed).await, PAIRS as i64, "every matched request mailed its key");
    let (u, m, ratio) = (median(unmatched), median(matched), median(ratios));
    eprintln!("recovery timing: unmatched median {u:.2} ms, matched median {m:.2} ms, median pair ratio {ratio:.3}");
    assert!((0.9..=1.1).contains(&ratio), "unmatched {u:.2} ms vs matched {m:.2} ms: ratio {ratio:.3}");
}
both_databases!(matched_and_unmatched_recovery_requests_take_the_same_time);
