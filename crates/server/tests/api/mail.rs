//! Mail delivery through the outbox: over SMTP to a server started by the test (with retries),
//! and to `.eml` files.

use std::time::Duration;

use crate::both_databases;
use crate::helpers::TestApp;

const NUMBER: &str = "60049-58004503";

async fn mail_for(app: &TestApp) {
    app.register(NUMBER, "1990-04-15", None).await;
    let code = app.issue_code(NUMBER).await;
    let browser = app.browser();
    browser.consent().await;
    browser.apply("taro@example.jp", NUMBER, ("1990", "4", "15"), &code).await.assert_redirect("/opening/password");
}

async fn an_auth_key_mail_is_delivered_once_after_a_temporary_smtp_failure(app: &TestApp) {
    app.smtp.fail_next("451 4.3.0 mailbox busy, try again later");
    mail_for(app).await;
    assert!(app.deliver_mail().await.is_empty(), "the first attempt was refused");
    assert_eq!(app.scalar("SELECT attempts FROM outbox").await, 1);
    let error: String =
        sqlx::query_scalar("SELECT last_error FROM outbox").fetch_one(app.state.store.pool()).await.unwrap();
    assert!(error.contains("451"), "{error}");
    // Not due before its backoff.
    app.advance(Duration::from_secs(29));
    assert!(app.deliver_mail().await.is_empty());
    app.advance(Duration::from_secs(1));
    let delivered = app.deliver_mail().await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].code().len(), 6);
    app.advance(Duration::from_secs(3600));
    assert!(app.deliver_mail().await.is_empty(), "delivered exactly once");
    assert_eq!(app.smtp.transactions(), 2);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL").await, 1);
}
both_databases!(an_auth_key_mail_is_delivered_once_after_a_temporary_smtp_failure);

async fn a_permanent_smtp_failure_is_recorded_and_not_retried(app: &TestApp) {
    app.smtp.fail_next("550 5.1.1 no such user");
    mail_for(app).await;
    assert!(app.deliver_mail().await.is_empty());
    app.advance(Duration::from_secs(7200));
    assert!(app.deliver_mail().await.is_empty());
    assert_eq!(app.smtp.transactions(), 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM outbox WHERE failed_at IS NOT NULL").await, 1);
    let metrics = app.browser().get("/metrics").await;
    metrics.assert_contains("mypage_outbox_failed 1");
}
both_databases!(a_permanent_smtp_failure_is_recorded_and_not_retried);

async fn two_workers_on_two_nodes_send_each_mail_once(app: &TestApp) {
    mail_for(app).await;
    let node = app.add_node().await;
    let (a, b) =
        tokio::join!(mypage::mail::worker::deliver_due(&app.state), mypage::mail::worker::deliver_due(&node.state));
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(app.smtp.take().len(), 1);
}
both_databases!(two_workers_on_two_nodes_send_each_mail_once);

#[tokio::test]
async fn the_file_transport_writes_a_readable_eml_file() {
    let dir = std::env::temp_dir().join(format!("mypage-eml-{}", mypage::tokens::random_token().unwrap()));
    let transport = mypage::mail::transport::Transport::new(&mypage::config::MailTransport::File(dir.clone())).unwrap();
    transport
        .send(
            "求職者マイページ <no-reply@mypage.example.jp>",
            "taro@example.jp",
            "【求職者マイページ】認証キーのお知らせ",
            "認証キー:\n123456\n",
            "0000000000001-00000001-auth_key_v1",
            "<outbox-1.1@mypage.example.jp>",
        )
        .await
        .unwrap();
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1);
    assert!(files[0].to_string_lossy().ends_with("0000000000001-00000001-auth_key_v1.eml"));
    let raw = std::fs::read_to_string(&files[0]).unwrap();
    assert!(raw.contains("To: taro@example.jp"), "{raw}");
    assert!(raw.contains("Content-Type: text/plain; charset=utf-8"), "{raw}");
    let body: String = raw.split("\r\n\r\n").nth(1).unwrap().chars().filter(|c| !c.is_whitespace()).collect();
    use base64::Engine as _;
    let text = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(body).unwrap()).unwrap();
    assert_eq!(text.replace("\r\n", "\n"), "認証キー:\n123456\n");
    std::fs::remove_dir_all(dir).unwrap();
}
