//! Opening an account through HTTP (SPEC §3.2–3.5).

use std::time::Duration;

use crate::both_databases;
use crate::helpers::{Browser, TestApp};

const NUMBER: &str = "60049-58004503";
const BIRTH: (&str, &str, &str) = ("1990", "4", "15");
const EMAIL: &str = "taro@example.jp";
const PASSWORD: &str = "Kushiro#2026x";

async fn seeded(app: &TestApp) -> String {
    app.register(NUMBER, "1990-04-15", None).await;
    app.issue_code(NUMBER).await
}

/// Consent and information entry; returns the auth key from the mail.
async fn reach_password_step(app: &TestApp, browser: &Browser, code: &str) -> String {
    browser.consent().await;
    browser.apply(EMAIL, NUMBER, BIRTH, code).await.assert_redirect("/opening/password");
    let mails = app.deliver_mail().await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    mails[0].code()
}

async fn opening_end_to_end_opens_the_account_and_mails_key_then_notice(app: &TestApp) {
    let code = seeded(app).await;
    let browser = app.browser();
    assert!(browser.get("/").await.contains("アカウント作成コードをハローワークで発行済みの求職者"));
    browser.consent().await;
    let applied = browser.apply(EMAIL, NUMBER, BIRTH, &code).await;
    applied.assert_redirect("/opening/password");

    let mails = app.deliver_mail().await;
    assert_eq!(mails.len(), 1);
    let key_mail = &mails[0];
    assert_eq!(key_mail.to, EMAIL);
    assert!(key_mail.subject.contains("認証キー"), "{}", key_mail.subject);
    assert!(key_mail.body.contains("有効期限: 2026年11月25日(水) 10:30まで(30分間)"), "{}", key_mail.body);
    let key = key_mail.code();

    let form = browser.get("/opening/password").await;
    form.assert_contains(&format!("{EMAIL} あてに【認証キー】を送信しました。"));
    form.assert_contains("「mypage.example.jp」からのメールを受信できるよう");
    form.assert_contains("2026年11月25日(水) 10:30まで");

    browser.register_password(PASSWORD, PASSWORD, &key).await.assert_redirect("/opening/done");
    let done = browser.get("/opening/done").await;
    done.assert_contains("パスワードの登録が完了し、求職者マイページが開設されました。");
    done.assert_contains("ログイン画面へ進む");

    assert_eq!(app.scalar("SELECT COUNT(*) FROM accounts WHERE email = 'taro@example.jp'").await, 1);
    assert_eq!(app.scalar("SELECT privacy_version * 10 + terms_version FROM accounts").await, 11);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM account_codes WHERE used_at IS NOT NULL").await, 1);
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM accounts").fetch_one(app.state.store.pool()).await.unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'account.opened'").await, 1);

    let opened = app.deliver_mail().await;
    assert_eq!(opened.len(), 1);
    assert!(opened[0].subject.contains("開設しました"), "{}", opened[0].subject);
    // The outbox forgets bodies once sent: a delivered auth key is not kept in the database.
    assert_eq!(app.scalar("SELECT COUNT(*) FROM outbox WHERE body <> ''").await, 0);
}
both_databases!(opening_end_to_end_opens_the_account_and_mails_key_then_notice);

async fn consent_post_that_skips_opening_the_documents_is_refused(app: &TestApp) {
    let browser = app.browser();
    let page = browser.get("/opening/consent").await;
    page.assert_contains("求職者マイページ利用規約確認");
    // Before opening, both boxes are disabled.
    assert_eq!(page.body.matches(" disabled").count(), 2, "{}", page.body);
    let crafted = browser
        .post("/opening/consent", &[("csrf", &page.csrf()), ("agree_privacy", "yes"), ("agree_terms", "yes")])
        .await;
    assert_eq!(crafted.status, 422);
    crafted.assert_contains("「プライバシーポリシー」を開いて、内容を確認してください。");
    crafted.assert_contains("「利用規約」を開いて、内容を確認してください。");
    browser.get("/opening/apply").await.assert_redirect("/opening/consent");

    // Opening only the privacy policy enables only its box.
    browser.get("/opening/documents/privacy").await.assert_contains("利用規約確認の画面に戻る");
    let half = browser.get("/opening/consent").await;
    assert_eq!(half.body.matches(" disabled").count(), 1);
    let still = browser
        .post("/opening/consent", &[("csrf", &page.csrf()), ("agree_privacy", "yes"), ("agree_terms", "yes")])
        .await;
    assert_eq!(still.status, 422);
    assert!(!still.contains("「プライバシーポリシー」を開いて"));

    // Opened but not ticked: asked to tick.
    browser.get("/opening/documents/terms").await;
    let unticked = browser.post("/opening/consent", &[("csrf", &page.csrf()), ("agree_privacy", "yes")]).await;
    unticked.assert_contains("「「利用規約」に同意します。」にチェックを入れてください。");
    browser
        .post("/opening/consent", &[("csrf", &page.csrf()), ("agree_privacy", "yes"), ("agree_terms", "yes")])
        .await
        .assert_redirect("/opening/apply");
}
both_databases!(consent_post_that_skips_opening_the_documents_is_refused);

async fn information_entry_accepts_full_width_input_and_a_number_without_hyphen(app: &TestApp) {
    let code = seeded(app).await;
    let browser = app.browser();
    browser.consent().await;
    let full_width_code: String = code
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { char::from_u32(c as u32 + 0xFEE0).unwrap() } else { '－' })
        .collect();
    let page = browser
        .apply(
            " ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＪＰ ",
            "６００４９５８００４５０３",
            ("１９９０", "０４", "１５"),
            &full_width_code,
        )
        .await;
    page.assert_redirect("/opening/password");
    assert_eq!(app.deliver_mail().await[0].to, EMAIL);
}
both_databases!(information_entry_accepts_full_width_input_and_a_number_without_hyphen);

async fn malformed_fields_are_named_and_everything_typed_but_the_code_is_kept(app: &TestApp) {
    seeded(app).await;
    let browser = app.browser();
    browser.consent().await;
    let page = browser.apply("taro@", "1234-567890-1", ("1990", "2", "30"), "ABC").await;
    assert_eq!(page.status, 422);
    page.assert_contains("入力内容に問題があります");
    page.assert_contains("メールアドレスの形式が正しくありません");
    page.assert_contains("雇用保険の番号(支給番号や被保険者番号)の形式です");
    page.assert_contains("存在しない日付です");
    page.assert_contains("アカウント作成コードは10文字です");
    page.assert_contains("href=\"#job_seeker_number\"");
    assert_eq!(page.input_value("email").as_deref(), Some("taro@"));
    assert_eq!(page.input_value("job_seeker_number").as_deref(), Some("1234-567890-1"));
    assert_eq!(page.input_value("birth_day").as_deref(), Some("30"));
    assert_eq!(page.input_value("code").as_deref(), Some(""));

    let future = browser.apply(EMAIL, NUMBER, ("2030", "1", "1"), "ABCDE-FGHJK").await;
    future.assert_contains("未来の日付は入力できません");
    let malformed = browser.apply(EMAIL, "60049", BIRTH, "ABCDE-FGHJK").await;
    malformed.assert_contains("雇用保険の支給番号ではありません");
    assert_eq!(app.scalar("SELECT CAST(COALESCE(SUM(failed_attempts), 0) AS BIGINT) FROM account_codes").await, 0);
}
both_databases!(malformed_fields_are_named_and_everything_typed_but_the_code_is_kept);

async fn opening_voids_the_code_on_the_tenth_wrong_entry(app: &TestApp) {
    let code = seeded(app).await;
    let browser = app.browser();
    browser.consent().await;
    for remaining in (1..=9).rev() {
        let page = browser.apply(EMAIL, NUMBER, BIRTH, "ZZZZZ-ZZZZZ").await;
        assert_eq!(page.status, 422);
        page.assert_contains(&format!("あと{remaining}回間違えると無効になります"));
    }
    let tenth = browser.apply(EMAIL, NUMBER, BIRTH, "ZZZZZ-ZZZZZ").await;
    tenth.assert_contains("このアカウント作成コードは無効になっています");
    tenth.assert_contains("再発行");
    let right = browser.apply(EMAIL, NUMBER, BIRTH, &code).await;
    right.assert_contains("このアカウント作成コードは無効になっています");
    assert_eq!(app.scalar("SELECT failed_attempts FROM account_codes").await, 10);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM audit_events WHERE kind = 'code.voided'").await, 1);
    assert!(app.deliver_mail().await.is_empty());

    // A reissued code works.
    let reissued = app.issue_code(NUMBER).await;
    browser.apply(EMAIL, NUMBER, BIRTH, &reissued).await.assert_redirect("/opening/password");
}
both_databases!(opening_voids_the_code_on_the_tenth_wrong_entry);

async fn an_unmatched_birth_date_never_counts_against_the_code_and_is_throttled_per_number(app: &TestApp) {
    let code = seeded(app).await;
    let browser = app.browser();
    browser.consent().await;
    for day in 1..=10 {
        let page = browser.apply(EMAIL, NUMBER, ("1990", "5", &day.to_string()), &code).await;
        page.assert_contains("組み合わせが正しくありません。入力内容をご確認ください。");
        assert!(!page.contains("回間違えると"), "an unmatched entry must not show remaining tries");
    }
    assert_eq!(app.scalar("SELECT failed_attempts FROM account_codes").await, 0);
    // The 求職番号 is paused now, for every client, even with the right birth date.
    let other = app.browser();
    other.consent().await;
    other.apply(EMAIL, NUMBER, BIRTH, &code).await.assert_contains("入力を一時的に停止しています");
    app.advance(Duration::from_secs(24 * 3600 + 1));
    let after = app.browser();
    after.consent().await;
    after.apply(EMAIL, NUMBER, BIRTH, &code).await.assert_redirect("/opening/password");
    // An unknown 求職番号 answers exactly like a wrong birth date.
    let unknown = after.apply(EMAIL, "99999-1", BIRTH, &code).await;
    unknown.assert_contains("組み合わせが正しくありません。入力内容をご確認ください。");
}
both_databases!(an_unmatched_birth_date_never_counts_against_the_code_and_is_throttled_per_number);

async fn the_code_expires_five_days_after_issue_to_the_second(app: &TestApp) {
    let code = seeded(app).await;
    let browser = app.browser();
    app.advance(Duration::from_secs(5 * 86400 - 1));
    browser.consent().await;
    browser.apply(EMAIL, NUMBER, BIRTH, &code).await.assert_redirect("/opening/password");
    app.advance(Duration::from_secs(1));
    let late = app.browser();
    late.consent().await;
    let page = late.apply(EMAIL, NUMBER, BIRTH, &code).await;
    page.assert_contains("アカウント作成コードの有効期限(発行から5日間)が切れています");
}
both_databases!(the_code_expires_five_days_after_issue_to_the_second);

async fn a_reissued_code_voids_the_previous_one(app: &TestApp) {
    let first = seeded(app).await;
    let second = app.issue_code(NUMBER).await;
    assert_ne!(first, second);
    let browser = app.browser();
    browser.consent().await;
    let old = browser.apply(EMAIL, NUMBER, BIRTH, &first).await;
    old.assert_contains("再発行により無効になっています");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM account_codes WHERE voided_at IS NOT NULL").await, 1);
    assert_eq!(
        app.scalar("SELECT failed_attempts FROM account_codes ORDER BY id DESC LIMIT 1").await,
        0,
        "an old slip is not a guess"
    );
    browser.apply(EMAIL, NUMBER, BIRTH, &second).await.assert_redirect("/opening/password");
}
both_databases!(a_reissued_code_voids_the_previous_one);

async fn an_opened_account_says_so_with_links_to_login_and_recovery(app: &TestApp) {
    let code = seeded(app).await;
    let browser = app.browser();
    let key = reach_password_step(app, &browser, &code).await;
    browser.register_password(PASSWORD, PASSWORD, &key).await.assert_redirect("/opening/done");
    let again = app.browser();
    again.consent().await;
    let page = again.apply("other@example.jp", NUMBER, BIRTH, &code).await;
    page.assert_contains("すでに開設されています");
    page.assert_contains("href=\"/login\"");
    page.assert_contains("href=\"/login/forgot\"");
}
both_databases!(an_opened_account_says_so_with_links_to_login_and_recovery);

async fn an_address_in_use_is_not_revealed_on_screen_and_the_mail_says_so(app: &TestApp) {
    let code = seeded(app).await;
    let browser = app.browser();
    let key = reach_password_step(app, &browser, &code).await;
    browser.register_password(PASSWORD, PASSWORD, &key).await.assert_redirect("/opening/done");
    app.deliver_mail().await;

    app.register("27520-1391873", "1985-01-02", None).await;
    let code2 = app.issue_code("27520-1391873").await;
    let other = app.browser();
    other.consent().await;
    let page = other.apply(EMAIL, "27520-1391873", ("1985", "1", "2"), &code2).await;
    page.assert_redirect("/opening/password");
    let screen = other.get("/opening/password").await;
    screen.assert_contains(&format!("{EMAIL} あてに【認証キー】を送信しました。"));
    let mails = app.deliver_mail().await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject.contains("このメールアドレスは使用されています"), "{}", mails[0].subject);
    assert!(mails[0].body.contains("認証キーは送信していません"));
    assert!(!mails[0].body.lines().any(|l| l.trim().len() == 6 && l.trim().bytes().all(|b| b.is_ascii_digit())));
}
both_databases!(an_address_in_use_is_not_revealed_on_screen_and_the_mail_says_so);

async fn the_password_policy_names_each_unmet_rule_and_keeps_no_secret(app: &TestApp) {
    let code = seeded(app).await;
    let browser = app.browser();
    let key = reach_password_step(app, &browser, &code).await;
    let form = browser.get("/opening/password").await;
    form.assert_contains("8～32桁");
    form.assert_contains("data-rule=\"no_symbol\"");

    let no_symbol = browser.register_password("Kushiro2026", "Kushiro2026", &key).await;
    assert_eq!(no_symbol.status, 422);
    no_symbol.assert_contains("記号が含まれていません");
    assert!(!no_symbol.contains("Kushiro2026"), "a password must never be echoed");

    let several = browser.register_password("taro 19900415", "other", &key).await;
    several.assert_contains("空白が含まれています");
    several.assert_contains("記号が含まれていません");
    several.assert_contains("メールアドレスの一部(@より前)が含まれています");
    several.assert_contains("生年月日が含まれています");
    several.assert_contains("確認用のパスワードが一致しません");
    browser.register_password("P@ssw0rd", "P@ssw0rd", &key).await.assert_contains("推測されやすいパスワード");
    browser
        .register_password("Ab#6004958004503", "Ab#6004958004503", &key)
        .await
        .assert_contains("求職番号が含まれています");
    browser.register_password("Ａｂｃ#12345", "Ａｂｃ#12345", &key).await.assert_contains("全角文字が含まれています");
    // Policy errors never spend an auth key attempt.
    assert_eq!(app.scalar("SELECT failed_attempts FROM auth_keys").await, 0);
    browser.register_password(PASSWORD, PASSWORD, &key).await.assert_redirect("/opening/done");
}
both_databases!(the_password_policy_names_each_unmet_rule_and_keeps_no_secret);

async fn the_password_form_lets_a_password_manager_save_email_and_password_but_not_the_key(app: &TestApp) {
    let code = seeded(app).await;
    let browser = app.browser();
    reach_password_step(app, &browser, &code).await;
    let form = browser.get("/opening/password").await;
    form.assert_contains(&format!("name=\"username\" value=\"{EMAIL}\" autocomplete=\"username\" readonly"));
    assert_eq!(form.body.matches("autocomplete=\"new-password\"").count(), 2);
    form.assert_contains("autocomplete=\"one-time-code\" inputmode=\"numeric\"");
}
both_databases!(the_password_form_lets_a_password_manager_save_email_and_password_but_not_the_key);

async fn five_wrong_auth_keys_void_the_key_and_a_resent_key_works(app: &TestApp) {
    let code = seeded(app).await;
    let browser = app.browser();
    let key = reach_password_step(app, &browser, &code).await;
    let wrong = if key == "000000" { "111111" } else { "000000" };
    for remaining in (1..=4).rev() {
        let page = browser.register_password(PASSWORD, PASSWORD, wrong).await;
        page.assert_contains(&format!("あと{remaining}回間違えると"));
    }
    browser.register_password(PASSWORD, PASSWORD, wrong).await.assert_contains("この認証キーは無効になりました");
    browser.register_password(PASSWORD, PASSWORD, &key).await.assert_contains("この認証キーは無効になりました");

    // Resend: a cooldown first, then a new key that works; the old one stays void.
    let form = browser.get("/opening/password").await;
    let early = browser.post("/opening/password/resend", &[("csrf", &form.csrf())]).await;
    early.assert_contains("秒ほどおいてから");
    app.advance(Duration::from_secs(61));
    let resent = browser.post("/opening/password/resend", &[("csrf", &form.csrf())]).await;
    resent.assert_contains("新しい認証キーを送信しました");
    let new_key = app.deliver_mail().await[0].code();
    browser.register_password(PASSWORD, PASSWORD, &new_key).await.assert_redirect("/opening/done");
}
both_databases!(five_wrong_auth_keys_void_the_key_and_a_resent_key_works);

async fn the_auth_key_expires_after_thirty_minutes(app: &TestApp) {
    let code = seeded(app).await;
    let browser = app.browser();
    let key = reach_password_step(app, &browser, &code).await;
    app.advance(Duration::from_secs(29 * 60));
    let form = browser.get("/opening/password").await; // keeps the session alive
    app.advance(Duration::from_secs(60));
    let page = browser
        .post(
            "/opening/password",
            &[("csrf", &form.csrf()), ("password", PASSWORD), ("password_confirmation", PASSWORD), ("auth_key", &key)],
        )
        .await;
    page.assert_contains("認証キーの有効期限(30分)が切れました");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM accounts").await, 0);
}
both_databases!(the_auth_key_expires_after_thirty_minutes);

async fn a_new_key_voids_the_previous_one(app: &TestApp) {
    let code = seeded(app).await;
    let first = app.browser();
    let old_key = reach_password_step(app, &first, &code).await;
    let second = app.browser();
    let new_key = reach_password_step(app, &second, &code).await;
    first.register_password(PASSWORD, PASSWORD, &old_key).await.assert_contains("この認証キーは無効になりました");
    second.register_password(PASSWORD, PASSWORD, &new_key).await.assert_redirect("/opening/done");
}
both_databases!(a_new_key_voids_the_previous_one);

async fn steps_without_the_earlier_ones_send_the_browser_back(app: &TestApp) {
    let browser = app.browser();
    browser.get("/opening/apply").await.assert_redirect("/opening/consent");
    browser.get("/opening/password").await.assert_redirect("/opening/consent");
    browser.get("/opening/done").await.assert_redirect("/");
    browser.consent().await;
    browser.get("/opening/password").await.assert_redirect("/opening/apply");
    let page = browser.get("/opening/apply").await;
    page.assert_contains("aria-current=\"step\"");
    page.assert_contains("情報の入力");
}
both_databases!(steps_without_the_earlier_ones_send_the_browser_back);
