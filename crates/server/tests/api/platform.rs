//! Security headers, cookies, health, readiness and metrics.

use crate::both_databases;
use crate::helpers::TestApp;

async fn pages_carry_the_security_headers_and_personal_pages_are_not_cached(app: &TestApp) {
    let browser = app.browser();
    let page = browser.get("/opening/consent").await;
    let h = |name: &str| page.headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert!(h("content-security-policy").contains("script-src 'self'"));
    assert!(h("content-security-policy").contains("frame-ancestors 'none'"));
    assert!(!h("content-security-policy").contains("unsafe-inline"));
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert_eq!(h("referrer-policy"), "same-origin");
    assert_eq!(h("cache-control"), "no-store");
    assert!(h("strict-transport-security").is_empty(), "no HSTS over plain http");
    let cookie = h("set-cookie");
    assert!(cookie.starts_with("__Host-mypage-pre="), "{cookie}");
    for attr in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(!page.body.contains("<script>"), "no inline script");
    let css = browser.get("/static/app.css").await;
    assert_eq!(css.status, 200);
    assert!(css.headers.get("cache-control").unwrap().to_str().unwrap().contains("max-age"));
    let missing = browser.get("/no/such/page").await;
    assert_eq!(missing.status, 404);
    missing.assert_contains("ページが見つかりません");
}
both_databases!(pages_carry_the_security_headers_and_personal_pages_are_not_cached);

async fn health_readiness_and_metrics_answer(app: &TestApp) {
    let browser = app.browser();
    assert_eq!(browser.get("/healthz").await.status, 200);
    assert_eq!(browser.get("/readyz").await.status, 200);
    browser.get("/").await;
    let metrics = browser.get("/metrics").await;
    metrics.assert_contains("mypage_http_requests_total{route=\"/\",method=\"GET\",status=\"200\"} 1");
    metrics.assert_contains("mypage_http_request_duration_seconds_count{route=\"/\"} 1");
    metrics.assert_contains("mypage_outbox_backlog 0");
    metrics.assert_contains("mypage_hash_queue_depth 0");
    app.state.store.close().await;
    assert_eq!(browser.get("/readyz").await.status, 503);
}
both_databases!(health_readiness_and_metrics_answer);

async fn made_up_methods_and_unknown_paths_add_no_metric_series(app: &TestApp) {
    let client = reqwest::Client::new();
    for i in 0..200 {
        let method = reqwest::Method::from_bytes(format!("BREW{i}").as_bytes()).unwrap();
        let made_up = client.request(method, format!("{}/", app.base)).send().await.unwrap();
        assert_eq!(made_up.status(), 405);
        let unknown = client.get(format!("{}/no-such-page-{i}", app.base)).send().await.unwrap();
        assert_eq!(unknown.status(), 404);
    }
    let metrics = app.browser().get("/metrics").await;
    metrics.assert_contains("mypage_http_requests_total{route=\"/\",method=\"other\",status=\"405\"} 200");
    metrics.assert_contains("mypage_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 200");
    assert!(!metrics.contains("BREW") && !metrics.contains("no-such-page"), "{}", metrics.body);
    let lines = metrics.body.lines().count();
    assert!(lines < 80, "{lines} lines of metrics after 400 odd requests:\n{}", metrics.body);
}
both_databases!(made_up_methods_and_unknown_paths_add_no_metric_series);

/// Asks for a recovery key as a browser behind the trusted proxy at `client`; true when the
/// per-client limit refused it.
async fn recovery_limited_from(app: &TestApp, client: &str) -> bool {
    let browser = app.browser();
    let via = [("x-forwarded-for", client)];
    let form = browser.get_with_headers("/login/forgot", &via).await;
    let fields = [
        ("csrf", form.csrf()),
        ("email", "nobody@example.jp".to_owned()),
        ("job_seeker_number", "60049-1".to_owned()),
        ("birth_year", "1990".to_owned()),
        ("birth_month", "4".to_owned()),
        ("birth_day", "15".to_owned()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = browser.post_with_headers("/login/forgot", &via, &fields).await;
    let notice = mypage::i18n::catalog(mypage::i18n::Lang::Ja).get("login.notice.client_limited");
    match page.status {
        303 => false,
        422 if page.contains(&notice) => true,
        _ => panic!("unexpected answer: {page:?}"),
    }
}

async fn addresses_of_one_ipv6_64_share_a_per_client_limit(app: &TestApp) {
    let max = mypage::flows::recovery::RECOVERY_PER_CLIENT.max;
    for i in 0..max {
        let client = format!("2001:db8:1:2:{i:x}::{:x}", i + 1);
        assert!(!recovery_limited_from(app, &client).await, "request {i} from {client}");
    }
    assert!(recovery_limited_from(app, "2001:db8:1:2:ffff::1").await, "one more from the same /64 is refused");
    // The same number of requests, each from its own /64, is never refused.
    for i in 0..=max {
        let client = format!("2001:db8:2:{i:x}::1");
        assert!(!recovery_limited_from(app, &client).await, "request {i} from {client}");
    }
    // An IPv4-mapped address counts as its IPv4 address.
    for _ in 0..max {
        assert!(!recovery_limited_from(app, "203.0.113.9").await);
    }
    assert!(recovery_limited_from(app, "::ffff:203.0.113.9").await);
}

mod addresses_of_one_ipv6_64_share_a_per_client_limit {
    use crate::helpers::{Db, spawn_app_with};

    async fn behind_proxy(db: Db) {
        let app = spawn_app_with(db, |s| s.trusted_proxy = Some([127, 0, 0, 1].into())).await;
        super::addresses_of_one_ipv6_64_share_a_per_client_limit(&app).await;
        app.finish().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        behind_proxy(Db::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Some(db) = Db::postgres().await else { return };
        behind_proxy(db).await;
    }
}
