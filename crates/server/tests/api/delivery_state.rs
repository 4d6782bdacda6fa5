//! Mail that arrives: addresses with carrier-era dots are delivered quoted, the waiting screens
//! state where their own mail is, and the counter sees and resends it (issue 11).

use mypage::config::{MailTransport, SmtpSecurity, SmtpSettings};
use mypage::flows::staff::Role;

use crate::helpers::browser::Page;
use crate::helpers::burst::count;
use crate::helpers::{Browser, TestApp};
use crate::recovery::{ask_for_a_key, strip};
use crate::staff::staff_browser;
use crate::{both_databases, both_databases_with};

const PASSWORD: &str = "Kushiro#2026x";

async fn addresses_that_break_the_dot_rules_open_an_account_and_are_mailed_quoted(app: &TestApp) {
    for (number, email, quoted) in [
        ("60049-58004503", "Taro.@docomo.ne.jp", "RCPT TO:<\"taro.\"@docomo.ne.jp>"),
        ("60049-58004504", "ta..ro@ezweb.ne.jp", "RCPT TO:<\"ta..ro\"@ezweb.ne.jp>"),
    ] {
        app.open_account(number, ("1990", "4", "15"), email, PASSWORD).await;
        assert!(app.smtp.rcpt_commands().iter().any(|c| c == quoted), "{:?}", app.smtp.rcpt_commands());
        // Shown as typed (lower-cased), and the login ID compares case-insensitively.
        let browser = app.browser();
        browser.login(&email.to_uppercase(), PASSWORD).await.assert_redirect("/login/otp");
        let otp = app.deliver_mail().await.pop().expect("otp mail");
        assert_eq!(otp.to, quoted.trim_start_matches("RCPT TO:<").trim_end_matches('>'));
        browser.submit_otp(&otp.code(), false).await.assert_redirect("/mypage");
        browser.get("/mypage/settings").await.assert_contains(&email.to_lowercase());
    }
    // Other malformed addresses get today's message.
    let number = app.register("60049-58004505", "1990-04-15", None).await;
    let code = app.issue_code(&number).await;
    let browser = app.browser();
    browser.consent().await;
    let page = browser.apply("taro.(x)@docomo.ne.jp", &number, ("1990", "4", "15"), &code).await;
    assert_eq!(page.status, 422);
    page.assert_contains("メールアドレスの形式が正しくありません");
}
both_databases!(addresses_that_break_the_dot_rules_open_an_account_and_are_mailed_quoted);

const NUMBER: &str = "60049-58004503";
const BIRTH: (&str, &str, &str) = ("1990", "4", "15");

const WAITING: &str = "メールは送信の順番を待っています";
const HANDED_AT_TEN: &str = "10:00にメールサーバーへ送信しました";
const REFUSED: &str = "メールサーバーがこのメールアドレスを受け付けませんでした";
const RETRYING: &str = "メールサーバーが応答していないため";
const EXPIRED: &str = "有効期限が切れたため、このメールは送信しませんでした";

/// Consents and applies on a fresh browser; the browser is then on the password step.
async fn applied(app: &TestApp, email: &str) -> Browser {
    app.register(NUMBER, "1990-04-15", None).await;
    let code = app.issue_code(NUMBER).await;
    let browser = app.browser();
    browser.consent().await;
    browser.apply(email, NUMBER, BIRTH, &code).await.assert_redirect("/opening/password");
    browser
}

/// What `/mail-status?for=…` answers: its status and the state it names.
async fn polled(browser: &Browser, flow: &str) -> (u16, Option<String>) {
    let page = browser.get(&format!("/mail-status?for={flow}")).await;
    let json: serde_json::Value = serde_json::from_str(&page.body).unwrap();
    (page.status, json.get("state").and_then(|s| s.as_str()).map(str::to_owned))
}

async fn job_seeker_id(app: &TestApp) -> i64 {
    app.scalar("SELECT id FROM job_seekers WHERE number = '60049-58004503'").await
}

async fn a_delivered_mail_shows_when_it_was_handed_over_and_polling_answers_for_the_own_mail_only(app: &TestApp) {
    let browser = applied(app, "taro@docomo.ne.jp").await;
    let page = browser.get("/opening/password").await;
    page.assert_contains(WAITING);
    page.assert_contains("/static/mail-status.js");
    page.assert_contains("href=\"/opening/password\"");
    assert_eq!(polled(&browser, "opening").await, (200, Some("waiting".into())));
    assert_eq!(app.deliver_mail().await.len(), 1);
    browser.get("/opening/password").await.assert_contains(HANDED_AT_TEN);
    assert_eq!(polled(&browser, "opening").await, (200, Some("handed".into())));
    // This session waits for no one-time password, another browser for nothing at all.
    assert_eq!(polled(&browser, "login").await, (404, None));
    let stranger = app.browser();
    stranger.get("/").await;
    for flow in ["opening", "login", "reset", "email"] {
        assert_eq!(polled(&stranger, flow).await, (404, None), "{flow}");
    }
    // A second person waiting for their own mail sees theirs, not the first one's.
    app.register("60049-58004504", "1985-01-02", None).await;
    let code = app.issue_code("60049-58004504").await;
    let second = app.browser();
    second.consent().await;
    second.apply("hanako@example.jp", "60049-58004504", ("1985", "1", "2"), &code).await;
    assert_eq!(polled(&second, "opening").await, (200, Some("waiting".into())));
    assert_eq!(polled(&browser, "opening").await, (200, Some("handed".into())));
    // Nothing in the URL chooses a mail.
    assert_eq!(
        browser.get("/mail-status?for=opening&id=2").await.body,
        browser.get("/mail-status?for=opening").await.body
    );
}
both_databases!(a_delivered_mail_shows_when_it_was_handed_over_and_polling_answers_for_the_own_mail_only);

async fn a_refused_recipient_shows_refused_on_the_waiting_screen_and_on_the_staff_page(app: &TestApp) {
    app.smtp.refuse_recipient("taro@example.jp", "550 5.1.1 <taro@example.jp>: no such user");
    let browser = applied(app, "taro@example.jp").await;
    assert!(app.deliver_mail().await.is_empty());
    let page = browser.get("/opening/password").await;
    page.assert_contains(REFUSED);
    assert_eq!(polled(&browser, "opening").await, (200, Some("refused".into())));
    // The mail server's answer is for the counter, not for the screen.
    assert!(!page.contains("no such user"));
    let (staff, _) = staff_browser(app, "clerk", Role::Counter, "01010").await;
    let seeker = staff.get(&format!("/staff/seekers/{}", job_seeker_id(app).await)).await;
    seeker.assert_contains("メールサーバーが受け付けませんでした");
    seeker.assert_contains("(550): 5.1.1 &#60;taro@example.jp&#62;: no such user");
    // Next to the mail log, what to allow where.
    seeker.assert_contains("「mypage.example.jp」からのメールを受信できるよう");
    // A refused mail is not offered again: its address is what needs fixing.
    assert!(!seeker.contains("/resend"), "{}", seeker.body);
}
both_databases!(a_refused_recipient_shows_refused_on_the_waiting_screen_and_on_the_staff_page);

/// A port on which nothing listens: the mail server is down.
fn mail_server_down(settings: &mut mypage::config::Settings) {
    let port = crate::helpers::procs::free_port();
    settings.mail = MailTransport::Smtp(SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::Opportunistic,
        credentials: None,
    });
}

async fn a_mail_server_that_is_down_shows_retrying(app: &TestApp) {
    let browser = applied(app, "taro@example.jp").await;
    mypage::mail::worker::deliver_due(&app.state).await.unwrap();
    browser.get("/opening/password").await.assert_contains(RETRYING);
    assert_eq!(polled(&browser, "opening").await, (200, Some("retrying".into())));
    let (staff, _) = staff_browser(app, "clerk", Role::Counter, "01010").await;
    let seeker = staff.get(&format!("/staff/seekers/{}", job_seeker_id(app).await)).await;
    seeker.assert_contains("再送待ち(1回失敗)");
    // Still valid: the counter may send it again.
    seeker.assert_contains("/resend");
}
both_databases_with!(a_mail_server_that_is_down_shows_retrying, super::mail_server_down);

async fn a_code_mail_not_sent_before_its_code_expired_shows_not_sent(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, "taro@example.jp", PASSWORD).await;
    let browser = app.browser();
    browser.login("taro@example.jp", PASSWORD).await.assert_redirect("/login/otp");
    browser.get("/login/otp").await.assert_contains(WAITING);
    app.advance(std::time::Duration::from_secs(10 * 60));
    // The worker gets to it only now: the code has expired, so it is not sent.
    assert!(app.deliver_mail().await.is_empty(), "an expired code is never handed to the mail server");
    browser.get("/login/otp").await.assert_contains(EXPIRED);
    assert_eq!(polled(&browser, "login").await, (200, Some("expired".into())));
}
both_databases!(a_code_mail_not_sent_before_its_code_expired_shows_not_sent);

async fn recovery_shows_the_same_states_whether_or_not_anything_matched(app: &TestApp) {
    app.open_account(NUMBER, BIRTH, "taro@example.jp", PASSWORD).await;
    let (known, unknown) = (app.browser(), app.browser());
    ask_for_a_key(&known, "taro@example.jp", NUMBER, BIRTH).await;
    ask_for_a_key(&unknown, "nobody@example.jp", NUMBER, BIRTH).await;
    for browser in [&known, &unknown] {
        assert_eq!(polled(browser, "reset").await, (200, Some("waiting".into())));
    }
    assert_eq!(app.deliver_mail().await.len(), 2, "a key and a notice");
    let (a, b) = (known.get("/login/forgot/password").await, unknown.get("/login/forgot/password").await);
    a.assert_contains(HANDED_AT_TEN);
    assert_eq!(strip(&a, "taro@example.jp"), strip(&b, "nobody@example.jp"));
    for browser in [&known, &unknown] {
        assert_eq!(polled(browser, "reset").await, (200, Some("handed".into())));
    }
}
both_databases!(recovery_shows_the_same_states_whether_or_not_anything_matched);

async fn the_email_change_screen_follows_its_own_mail(app: &TestApp) {
    let browser = app.open_account(NUMBER, BIRTH, "taro@example.jp", PASSWORD).await;
    browser.login("taro@example.jp", PASSWORD).await.assert_redirect("/login/otp");
    let otp = app.deliver_mail().await.pop().unwrap().code();
    browser.submit_otp(&otp, false).await.assert_redirect("/mypage");
    let settings = browser.get("/mypage/settings").await;
    let form = [("csrf", settings.csrf()), ("email", "taro@au.com".into()), ("email_password", PASSWORD.into())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post("/mypage/settings/email", &form).await.assert_redirect("/mypage/settings/email/confirm");
    let page = browser.get("/mypage/settings/email/confirm").await;
    page.assert_contains(WAITING);
    page.assert_contains("My au の「迷惑メールフィルター」にある「受信リスト設定」に「mypage.example.jp」");
    app.deliver_mail().await;
    assert_eq!(polled(&browser, "email").await, (200, Some("handed".into())));
}
both_databases!(the_email_change_screen_follows_its_own_mail);

/// Posts `form` to `path` with `cookie` from `n` clients released together.
async fn burst_with_cookie(base: &str, cookie: &str, path: &str, form: &[(&str, &str)], n: usize) -> Vec<Page> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let form: Vec<(String, String)> = form.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (base, cookie, path, form, barrier) =
                (base.to_owned(), cookie.to_owned(), path.to_owned(), form.clone(), barrier.clone());
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

async fn the_counter_resends_a_still_valid_key_once_per_press_within_its_cap_and_the_screen_keeps_working(
    app: &TestApp,
) {
    let seeker = applied(app, "taro@example.jp").await;
    let first_key = app.deliver_mail().await.pop().unwrap().code();
    let id = job_seeker_id(app).await;
    let (staff, _) = staff_browser(app, "clerk", Role::Counter, "01010").await;
    let page = staff.get(&format!("/staff/seekers/{id}")).await;
    let mail_id = app.scalar("SELECT mail_id FROM auth_keys").await;
    let action = format!("/staff/seekers/{id}/mail/{mail_id}/resend");
    page.assert_contains(&action);
    page.assert_contains("再送");
    // Ten presses of one 「再送」 at once, over two nodes' worth of clients: one resend.
    let csrf = page.csrf();
    let pages = burst_with_cookie(&app.base, &staff.cookie_header(), &action, &[("csrf", &csrf)], 10).await;
    let done = |p: &Page, what: &str| p.location.as_deref() == Some(&format!("/staff/seekers/{id}?done={what}"));
    assert_eq!(count(&pages, |p| done(p, "resent")), 1);
    assert_eq!(count(&pages, |p| done(p, "resend_gone")), 9);
    let resent = app.deliver_mail().await;
    assert_eq!(resent.len(), 1, "one new mail");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'mail.resent'").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM auth_keys").await, 1, "the same key row, a new key");
    // Two more presses pass; the fourth within the hour is refused.
    let mut latest = Vec::new();
    for round in 0..3 {
        let mail_id = app.scalar("SELECT mail_id FROM auth_keys").await;
        let page = staff.get(&format!("/staff/seekers/{id}")).await;
        let answer = staff.post(&format!("/staff/seekers/{id}/mail/{mail_id}/resend"), &[("csrf", &page.csrf())]).await;
        let expected = if round < 2 { "resent" } else { "resend_limited" };
        assert!(done(&answer, expected), "round {round}: {:?}", answer.location);
        latest.extend(app.deliver_mail().await);
    }
    assert_eq!(latest.len(), 2);
    staff.get(&format!("/staff/seekers/{id}?done=resend_limited")).await.assert_contains("1時間に3回まで");
    // The job seeker's screen keeps working: the old keys are wrong (and count), the newest opens.
    let newest = latest.pop().unwrap().code();
    for old in [first_key, resent[0].code()] {
        if old != newest {
            seeker.register_password(PASSWORD, PASSWORD, &old).await.assert_contains("回間違えると");
        }
    }
    seeker.register_password(PASSWORD, PASSWORD, &newest).await.assert_redirect("/opening/done");
    // A used key is not offered again.
    assert!(!staff.get(&format!("/staff/seekers/{id}")).await.contains("/resend"));
}
both_databases!(the_counter_resends_a_still_valid_key_once_per_press_within_its_cap_and_the_screen_keeps_working);

async fn a_resend_withdraws_the_old_mail_that_was_not_sent_yet(app: &TestApp) {
    let seeker = applied(app, "taro@example.jp").await;
    let id = job_seeker_id(app).await;
    let old_mail = app.scalar("SELECT mail_id FROM auth_keys").await;
    let (staff, _) = staff_browser(app, "clerk", Role::Counter, "01010").await;
    let page = staff.get(&format!("/staff/seekers/{id}")).await;
    staff.post(&format!("/staff/seekers/{id}/mail/{old_mail}/resend"), &[("csrf", &page.csrf())]).await;
    let mails = app.deliver_mail().await;
    assert_eq!(mails.len(), 1, "only the new key goes out");
    let withdrawn = "SELECT COUNT(*) FROM outbox WHERE failure = 'expired' AND sent_at IS NULL";
    assert_eq!(app.scalar(withdrawn).await, 1);
    // The screen follows the new mail.
    seeker.get("/opening/password").await.assert_contains(HANDED_AT_TEN);
    seeker.register_password(PASSWORD, PASSWORD, &mails[0].code()).await.assert_redirect("/opening/done");
}
both_databases!(a_resend_withdraws_the_old_mail_that_was_not_sent_yet);

async fn a_counter_of_another_office_cannot_resend(app: &TestApp) {
    applied(app, "taro@example.jp").await;
    let id = job_seeker_id(app).await;
    let mail_id = app.scalar("SELECT mail_id FROM auth_keys").await;
    crate::staff::add_office(app, "01020", "ハローワーク根室").await;
    let (other, _) = staff_browser(app, "nemuro", Role::Counter, "01020").await;
    let csrf = other.get("/staff").await.csrf();
    let answer = other.post(&format!("/staff/seekers/{id}/mail/{mail_id}/resend"), &[("csrf", &csrf)]).await;
    assert_eq!(answer.status, 404);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM outbox").await, 1);
}
both_databases!(a_counter_of_another_office_cannot_resend);

async fn the_slip_and_the_waiting_screen_name_the_carriers_setting(app: &TestApp) {
    app.register(NUMBER, "1990-04-15", Some("taro.@docomo.ne.jp")).await;
    let id = job_seeker_id(app).await;
    let (staff, _) = staff_browser(app, "clerk", Role::Counter, "01010").await;
    let page = staff.get(&format!("/staff/seekers/{id}")).await;
    let slip = staff.post(&format!("/staff/seekers/{id}/code"), &[("csrf", &page.csrf())]).await;
    let docomo = "My docomo の「迷惑メール対策」にある「受信リスト設定」に「mypage.example.jp」を登録してください";
    slip.assert_contains(docomo);
    assert!(!slip.contains("My au"), "only the registered carrier's text");
    // Without a registered address the slip lists every carrier.
    app.register("60049-58004504", "1985-01-02", None).await;
    let other = app.scalar("SELECT id FROM job_seekers WHERE number = '60049-58004504'").await;
    let slip = staff.post(&format!("/staff/seekers/{other}/code"), &[("csrf", &page.csrf())]).await;
    for text in [docomo, "My au", "My SoftBank", "My Y!mobile", "my UQ mobile", "楽メール", "ドメイン指定受信"]
    {
        slip.assert_contains(text);
    }
    // The waiting screen names the carrier of the address typed.
    let code = app.issue_code("60049-58004504").await;
    let browser = app.browser();
    browser.consent().await;
    browser.apply("hanako@i.softbank.jp", "60049-58004504", ("1985", "1", "2"), &code).await;
    let waiting = browser.get("/opening/password").await;
    waiting.assert_contains("My SoftBank の「迷惑メールブロック設定」にある「受信許可リスト」に「mypage.example.jp」");
    assert!(!waiting.contains("My docomo"));
    let english = browser.get_with_headers("/opening/password", &[("accept-language", "en")]).await;
    english.assert_contains("For SoftBank mail");
}
both_databases!(the_slip_and_the_waiting_screen_name_the_carriers_setting);
