//! Data at rest and the secret nodes share: what the service leaves on disk and in the database
//! holds no code in clear and is private to its user; a node with another secret refuses to start.

use std::sync::Arc;

use mypage::config::Secret;
use mypage::startup;

use crate::both_databases;
use crate::helpers::TestApp;

const OTHER_SECRET: &str = "another-server-secret-that-is-long-enough";

async fn a_node_with_another_secret_refuses_to_start_and_one_with_the_same_secret_starts(app: &TestApp) {
    let mut settings = app.node_settings();
    settings.secret = Some(Secret(OTHER_SECRET.to_owned()));
    let Err(refused) = startup::build_state(settings, Arc::new(app.clock.clone())).await else {
        panic!("a node with another secret started");
    };
    let reason = format!("{refused:#}");
    assert!(reason.contains("MYPAGE_SECRET") && reason.contains("every node"), "{reason}");
    assert_eq!(reason.lines().count(), 1, "{reason}");
    let node = app.add_node().await;
    assert_eq!(reqwest::get(format!("{}/readyz", node.base)).await.unwrap().status(), 200);
}
both_databases!(a_node_with_another_secret_refuses_to_start_and_one_with_the_same_secret_starts);

async fn nodes_starting_together_with_different_secrets_agree_on_one(app: &TestApp) {
    // As on a fresh database: no fingerprint yet, two nodes racing to record theirs.
    sqlx::query("DELETE FROM server_facts WHERE name = 'secret_fingerprint'")
        .execute(app.state.store.pool())
        .await
        .unwrap();
    let mut other = app.node_settings();
    other.secret = Some(Secret(OTHER_SECRET.to_owned()));
    let (a, b) = tokio::join!(
        startup::build_state(app.node_settings(), Arc::new(app.clock.clone())),
        startup::build_state(other, Arc::new(app.clock.clone())),
    );
    assert!(a.is_ok() != b.is_ok(), "exactly one of the two starts: {:?} / {:?}", a.err(), b.err());
    let facts = app.scalar("SELECT COUNT(*) FROM server_facts WHERE name = 'secret_fingerprint'").await;
    assert_eq!(facts, 1);
    for state in [a, b].into_iter().flatten() {
        state.store.close().await;
    }
}
both_databases!(nodes_starting_together_with_different_secrets_agree_on_one);
