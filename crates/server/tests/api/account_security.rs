//! What an attacker could try on recovery and on a borrowed session: bursts of wrong keys and
//! birth dates (counted exactly, the same whether or not anything matched), the separate send
//! caps of opening and recovery, the timing of the forgot form, and the change of login ID (current
//! password, caps per account and per address, everything else ends when it is confirmed).

use std::time::{Duration, Instant};

use crate::both_databases;
use crate::helpers::browser::Page;
use crate::helpers::burst::{Prepared, count, release_together};
use crate::helpers::{Browser, TestApp};
use crate::recovery::{ask_for_a_key, keys_and_notices, strip};

const NUMBER: &str = "60049-58004503";
const BIRTH: (&str, &str, &str) = ("1990", "4", "15");
const EMAIL: &str = "taro@example.jp";
const NOBODY: &str = "nobody@example.jp";
const PASSWORD: &str = "Kushiro#2026x";
const NEW_PASSWORD: &str = "Akan!Lake2027";

const KEY_VOID: &str = "この認証キーは無効になりました";

/// One post per form, all on the session `cookie`, released together by a barrier and split
/// over the app and another node (`bases`); the pages in order.
async fn session_burst(bases: [&str; 2], cookie: &str, path: &str, forms: Vec<Vec<(&str, String)>>) -> Vec<Page> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(forms.len()));
    let tasks: Vec<_> = forms
        .into_iter()
        .enumerate()
        .map(|(i, form)| {
            let (base, cookie, path) = (bases[i % 2].to_owned(), cookie.to_owned(), path.to_owned());
            let form: Vec<(String, String)> = form.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let browser = Browser::new(&base);
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                barrier.wait().await;
                browser.post_with_headers(&path, &[("cookie", &cookie)], &form).await
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
        let form = vec![
            ("csrf", csrf.clone()),
            ("password", NEW_PASSWORD.to_owned()),
            ("password_confirmation", NEW_PASSWORD.to_owned()),
            ("auth_key", "000000".to_owned()),
        ];
        let cookie = browser.cookie_header();
        let pages = session_burst([&app.base, &node.base], &cookie, "/login/forgot/password", vec![form; 20]).await;
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
    let mails = app.deliver_mail().await;
    let key = mails.iter().find(|m| m.to == EMAIL).expect("the real key").code();
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
    // Every request that mailed no key told the typed address so, the paused one too.
    assert_eq!(keys_and_notices(&app.deliver_mail().await), (vec![], vec![EMAIL; 21]), "no key while paused");
    // The pause ends after a day: the right data then gets its key.
    app.advance(Duration::from_secs(24 * 3600 + 1));
    release_together(vec![forgot_post(&app.base, EMAIL, NUMBER, BIRTH).await]).await;
    assert_eq!(keys_and_notices(&app.deliver_mail().await), (vec![EMAIL], vec![]));
}
both_databases!(a_burst_of_birth_dates_for_one_number_compares_ten_and_then_mails_nothing);

async fn a_burst_of_recovery_requests_from_one_client_gets_exactly_its_thirty(app: &TestApp) {
    let node = app.add_node().await;
    let max = mypage::flows::recovery::RECOVERY_PER_CLIENT.max;
    let mut burst = Vec::new();
    for i in 0..max + 10 {
        let base = if i % 2 == 0 { &app.base } else { &node.base };
        // Distinct unknown numbers, so only the client's budget is in play.
        let number = format!("60049-{:08}", 2000 + i);
        burst.push(forgot_post(base, NOBODY, &number, BIRTH).await);
    }
    let pages = release_together(burst).await;
    let limited = mypage::i18n::catalog(mypage::i18n::Lang::Ja).get("login.notice.client_limited");
    let accepted = count(&pages, |p| p.location.as_deref() == Some("/login/forgot/password"));
    assert_eq!((accepted, count(&pages, |p| p.contains(&limited))), (max as usize, 10));
    let requested = "SELECT COUNT(*) FROM audit_events WHERE kind = 'recovery.requested'";
    assert_eq!(app.scalar(requested).await, max, "a refused request leaves nothing behind");
    // Each accepted request told the typed address that nothing matched; the refused sent nothing.
    assert_eq!(keys_and_notices(&app.deliver_mail().await), (vec![], vec![NOBODY; max as usize]));
}
both_databases!(a_burst_of_recovery_requests_from_one_client_gets_exactly_its_thirty);

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

/// Logs in on `browser` with the one-time password (optionally remembering the browser).
async fn logged_in(app: &TestApp, browser: &Browser, email: &str, remember: bool) {
    browser.login(email, PASSWORD).await.assert_redirect("/login/otp");
    let otp = app.deliver_mail().await.pop().expect("otp").code();
    browser.submit_otp(&otp, remember).await.assert_redirect("/mypage");
}

/// A change-of-login-ID form.
fn change_form(csrf: &str, email: &str, password: &str) -> Vec<(&'static str, String)> {
    vec![("csrf", csrf.to_owned()), ("email", email.to_owned()), ("email_password", password.to_owned())]
}

/// Asks to change the login ID of the account logged in on `browser` to `email`.
async fn change_to(browser: &Browser, email: &str, password: &str) -> Page {
    let csrf = browser.get("/mypage/settings").await.csrf();
    let form = change_form(&csrf, email, password);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post("/mypage/settings/email", &form).await
}

const WRONG_CURRENT: &str = "現在のパスワードが正しくありません";

async fn a_login_id_change_needs_the_current_password_and_a_wrong_one_mails_nothing(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let browser = app.browser();
    logged_in(app, &browser, EMAIL, false).await;
    let empty = change_to(&browser, "taro2@example.jp", "").await;
    empty.assert_contains("現在のパスワードを入力してください");
    let wrong = change_to(&browser, "taro2@example.jp", "Guess#2026x").await;
    assert_eq!(wrong.status, 422);
    wrong.assert_contains(WRONG_CURRENT);
    wrong.assert_contains("href=\"#email_password\"");
    assert!(!wrong.contains("Guess#2026x"), "the typed password is never echoed");
    assert_eq!(wrong.input_value("email").as_deref(), Some("taro2@example.jp"), "the address is kept");
    assert!(app.deliver_mail().await.is_empty(), "nothing is mailed");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM email_changes").await, 0);
    let counted = "SELECT COUNT(*) FROM attempt_log WHERE scope = 'settings.current_password'";
    assert_eq!(app.scalar(counted).await, 1, "the wrong one counted, the empty one not");
    change_to(&browser, "taro2@example.jp", PASSWORD).await.assert_redirect("/mypage/settings/email/confirm");
    assert_eq!(app.scalar(counted).await, 1, "a right one gives its reservation back");
    assert_eq!(app.deliver_mail().await.len(), 1);
}
both_databases!(a_login_id_change_needs_the_current_password_and_a_wrong_one_mails_nothing);

async fn a_burst_of_wrong_current_passwords_gets_ten_hashes(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let browser = app.browser();
    logged_in(app, &browser, EMAIL, false).await;
    let csrf = browser.get("/mypage/settings").await.csrf();
    let cookie = browser.cookie_header();
    let node = app.add_node().await;
    let forms = vec![change_form(&csrf, "taro2@example.jp", "Guess#2026x"); 15];
    let pages = session_burst([&app.base, &node.base], &cookie, "/mypage/settings/email", forms).await;
    assert_eq!(count(&pages, |p| p.contains(WRONG_CURRENT)), 10, "ten wrong passwords compared");
    assert_eq!(count(&pages, |p| p.contains("この操作を一時的に停止しています")), 5);
    // Now even the right password is refused for a while, and nothing is mailed.
    change_to(&browser, "taro2@example.jp", PASSWORD).await.assert_contains("この操作を一時的に停止しています");
    assert!(app.deliver_mail().await.is_empty());
}
both_databases!(a_burst_of_wrong_current_passwords_gets_ten_hashes);

async fn a_burst_of_login_id_changes_mails_five_and_leaves_one_pending(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let browser = app.browser();
    logged_in(app, &browser, EMAIL, false).await;
    let csrf = browser.get("/mypage/settings").await.csrf();
    let cookie = browser.cookie_header();
    let node = app.add_node().await;
    let forms = (0..10).map(|i| change_form(&csrf, &format!("new{i}@example.jp"), PASSWORD)).collect();
    let pages = session_burst([&app.base, &node.base], &cookie, "/mypage/settings/email", forms).await;
    let sent = count(&pages, |p| p.location.as_deref() == Some("/mypage/settings/email/confirm"));
    assert_eq!(sent, 5, "the account's five change mails an hour");
    assert_eq!(count(&pages, |p| p.contains("確認コードの送信回数が上限(1時間に5回)")), 5);
    assert_eq!(app.deliver_mail().await.len(), 5, "exactly five mails");
    let live = "SELECT COUNT(*) FROM email_changes WHERE used_at IS NULL AND voided_at IS NULL";
    assert_eq!(app.scalar(live).await, 1, "one pending change, even in a burst");
}
both_databases!(a_burst_of_login_id_changes_mails_five_and_leaves_one_pending);

async fn one_address_gets_three_change_codes_a_day_whatever_the_account(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    app.open_account("27520-1391873", ("1985", "1", "2"), "hanako@example.jp", PASSWORD).await;
    let (taro, hanako) = (app.browser(), app.browser());
    logged_in(app, &taro, EMAIL, false).await;
    logged_in(app, &hanako, "hanako@example.jp", false).await;
    let target = "victim@example.jp";
    change_to(&taro, target, PASSWORD).await.assert_redirect("/mypage/settings/email/confirm");
    change_to(&taro, target, PASSWORD).await.assert_redirect("/mypage/settings/email/confirm");
    change_to(&hanako, target, PASSWORD).await.assert_redirect("/mypage/settings/email/confirm");
    let refused = change_to(&hanako, target, PASSWORD).await;
    assert_eq!(refused.status, 422);
    refused.assert_contains("このメールアドレスあての確認コードの送信回数が上限(24時間に3回)");
    let mails = app.deliver_mail().await;
    assert_eq!(mails.iter().filter(|m| m.to == target).count(), 3, "three mails to the address, from two accounts");
    // Another address is still fine for Hanako: the refusal spent nothing of her account's cap.
    change_to(&hanako, "hanako2@example.jp", PASSWORD).await.assert_redirect("/mypage/settings/email/confirm");
    app.advance(Duration::from_secs(24 * 3600 + 1));
    logged_in(app, &hanako, "hanako@example.jp", false).await;
    change_to(&hanako, target, PASSWORD).await.assert_redirect("/mypage/settings/email/confirm");
}
both_databases!(one_address_gets_three_change_codes_a_day_whatever_the_account);

async fn a_confirmed_login_id_change_ends_every_other_browser_and_tells_the_old_address(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, EMAIL, PASSWORD).await;
    let phone = app.browser();
    logged_in(app, &phone, EMAIL, true).await;
    let borrowed = app.browser();
    logged_in(app, &borrowed, EMAIL, false).await;
    // A login waiting for its one-time password, elsewhere.
    let waiting = app.browser();
    waiting.login(EMAIL, PASSWORD).await.assert_redirect("/login/otp");
    let otp = app.deliver_mail().await.pop().unwrap().code();

    change_to(&borrowed, "new@example.jp", PASSWORD).await.assert_redirect("/mypage/settings/email/confirm");
    let code = app.deliver_mail().await.pop().unwrap().code();
    let csrf = borrowed.get("/mypage/settings/email/confirm").await.csrf();
    borrowed
        .post("/mypage/settings/email/confirm", &[("csrf", &csrf), ("code", &code)])
        .await
        .assert_redirect("/mypage/settings?done=email");
    // The browser that made the change stays logged in; every other one is out.
    assert_eq!(borrowed.get("/mypage").await.status, 200);
    phone.get("/mypage").await.assert_redirect("/login?notice=signed_out");
    waiting.submit_otp(&otp, false).await.assert_redirect("/login?notice=otp_void");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM remembered_browsers WHERE revoked_at IS NULL").await, 0);
    // The phone was remembered; with the new login ID it needs a one-time password again.
    let mails = app.deliver_mail().await;
    phone.login("new@example.jp", PASSWORD).await.assert_redirect("/login/otp");
    let notice = mails.iter().find(|m| m.to == EMAIL).expect("a notice to the old address");
    assert!(notice.subject.contains("ログインIDを変更しました"), "{}", notice.subject);
    for says in ["new@example.jp", "「パスワードをお忘れの方」からは手続きできません", "求職番号", "ハローワーク窓口"]
    {
        assert!(notice.body.contains(says), "the notice says {says:?}:\n{}", notice.body);
    }
    let event = "SELECT COUNT(*) FROM audit_events WHERE kind = 'account.email_changed'";
    assert_eq!(app.scalar(event).await, 1);
}
both_databases!(a_confirmed_login_id_change_ends_every_other_browser_and_tells_the_old_address);
