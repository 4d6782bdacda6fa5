//! The consent page shows the documents' versions from memory: a version published on one node
//! shows there at once and on every other node within `FRESH_FOR`, and whatever a node's page
//! shows, the consent records the version current when it is posted.

use mypage::flows::current_documents::FRESH_FOR;
use mypage::flows::opening::DocumentKind;
use mypage::flows::staff::{Publish, publish_document};

use crate::both_databases;
use crate::helpers::{Browser, TestApp};

/// The label of the terms' version on the consent page (the privacy policy stays at 第1版).
fn shows_terms_version(page: &crate::helpers::browser::Page, version: i64) -> bool {
    let label = format!("第{version}版");
    page.body.matches(&label).count() == if version == 1 { 2 } else { 1 }
}

async fn publish_terms_v2(app: &TestApp) {
    let published =
        publish_document(&app.state, DocumentKind::Terms, "利用規約 第2版", "改定しました。", "admin").await.unwrap();
    assert_eq!(published, Publish::Published { version: 2 });
}

async fn a_version_published_on_one_node_shows_there_at_once_and_on_the_others_within_the_bound(app: &TestApp) {
    let node = app.add_node().await;
    // Both nodes have read version 1 into memory.
    assert!(shows_terms_version(&Browser::new(&app.base).get("/opening/consent").await, 1));
    assert!(shows_terms_version(&Browser::new(&node.base).get("/opening/consent").await, 1));

    publish_terms_v2(app).await;
    // The publishing node forgot what it had: the next page shows the new version.
    assert!(shows_terms_version(&Browser::new(&app.base).get("/opening/consent").await, 2));
    // The other node may show the old one until its read is FRESH_FOR old (the clock has not
    // moved), and no longer.
    assert!(shows_terms_version(&Browser::new(&node.base).get("/opening/consent").await, 1));
    app.advance(FRESH_FOR);
    assert!(shows_terms_version(&Browser::new(&node.base).get("/opening/consent").await, 2));
}
both_databases!(a_version_published_on_one_node_shows_there_at_once_and_on_the_others_within_the_bound);

async fn a_consent_on_a_node_that_shows_the_old_version_records_the_new_one(app: &TestApp) {
    let node = app.add_node().await;
    // A browser that opens version 1 of both before the publish.
    let early = Browser::new(&node.base);
    let early_page = early.get("/opening/consent").await;
    assert!(shows_terms_version(&early_page, 1));
    early.get("/opening/documents/privacy").await;
    early.get("/opening/documents/terms").await;
    publish_terms_v2(app).await;

    let browser = Browser::new(&node.base);
    let page = browser.get("/opening/consent").await;
    assert!(shows_terms_version(&page, 1), "the node still shows what it read within the second");
    // The documents are read from the database: this browser opens version 2 …
    browser.get("/opening/documents/privacy").await;
    browser.get("/opening/documents/terms").await.assert_contains("改定しました。");
    // … and the page, seeing a version newer than its own, reads again: the box can be ticked.
    let again = browser.get("/opening/consent").await;
    assert!(shows_terms_version(&again, 2));
    assert!(!again.contains("「利用規約」を開いて内容を確認すると"));
    browser
        .post("/opening/consent", &[("csrf", &page.csrf()), ("agree_privacy", "yes"), ("agree_terms", "yes")])
        .await
        .assert_redirect("/opening/apply");
    let data: String = sqlx::query_scalar("SELECT data FROM sessions").fetch_one(app.state.store.pool()).await.unwrap();
    assert!(data.contains("\"terms_version\":2"), "{data}");

    // The browser that opened only version 1 must open version 2 first, on any node.
    let refused = early
        .post("/opening/consent", &[("csrf", &early_page.csrf()), ("agree_privacy", "yes"), ("agree_terms", "yes")])
        .await;
    assert_eq!(refused.status, 422);
    refused.assert_contains("「利用規約」を開いて、内容を確認してください。");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM sessions").await, 1);
}
both_databases!(a_consent_on_a_node_that_shows_the_old_version_records_the_new_one);
