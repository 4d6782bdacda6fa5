//! Two `mypage serve` processes over one PostgreSQL behind Debian's nginx (issue 9 §4, and the
//! rolling restart of §5). PostgreSQL only: several nodes sharing a database is what the
//! PostgreSQL deployment is for (a SQLite file belongs to one node).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::helpers::browser::Page;
use crate::helpers::burst::{Prepared, count, release_together};
use crate::helpers::procs::Cluster;
use crate::helpers::{Browser, Received};
use crate::recovery::ask_for_a_key;

const BIRTH: (&str, &str, &str) = ("1990", "4", "15");
const PASSWORD: &str = "Kushiro#2026x";
const NEW_PASSWORD: &str = "Akan!Lake2027";
/// The client's own address as nginx sees it; nodes see only nginx (127.0.0.1).
const CLIENT: [u8; 4] = [127, 0, 0, 2];

/// Which node answered (nginx's `X-Upstream`).
fn upstream(page: &Page) -> String {
    page.headers.get("x-upstream").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// Posts so that the request is served by the node other than `not`: round robin over two nodes
/// sends the next request to the node that did not serve the last one, so cheap `/healthz`
/// requests first make `not` the last.
async fn post_on_other(browser: &Browser, not: &str, path: &str, form: &[(&str, &str)]) -> Page {
    for _ in 0..4 {
        if upstream(&browser.get("/healthz").await) == not {
            let page = browser.post(path, form).await;
            assert_ne!(upstream(&page), not, "{path} was meant for the other node");
            return page;
        }
    }
    panic!("nginx never sent a request to {not}");
}

/// Waits (at most 10 s) until `n` more mails arrived; keeps every mail in `all`.
async fn mails(cluster: &Cluster, all: &mut Vec<Received>, n: usize) -> Vec<Received> {
    let started = Instant::now();
    let mut got = Vec::new();
    while got.len() < n && started.elapsed() < Duration::from_secs(10) {
        got.extend(cluster.smtp.take());
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(got.len(), n, "{got:?}\n{}", cluster.logs());
    all.extend(got.iter().cloned());
    got
}

async fn pool(cluster: &Cluster) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(&cluster.db_url).await.unwrap()
}

async fn scalar(pool: &sqlx::AnyPool, sql: &'static str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await.unwrap()
}

/// Registers job seekers through the operator CLI and issues a code for each; the codes.
fn seed(cluster: &Cluster, numbers: &[&str]) -> Vec<String> {
    cluster.cli(&["offices", "add", "--number", "01010", "--name", "ハローワーク釧路"]);
    let mut csv = "job_seeker_number,name,name_kana,birth_date,office_number,email,email_registered_on\n".to_owned();
    for n in numbers {
        csv.push_str(&format!("{n},釧路 太郎,クシロ タロウ,1990-04-15,01010,,\n"));
    }
    let file = std::env::temp_dir().join(format!("mypage-seekers-{}.csv", crate::helpers::random_suffix()));
    std::fs::write(&file, csv).unwrap();
    cluster.cli(&["seekers", "import", &file.display().to_string()]);
    let _ = std::fs::remove_file(&file);
    numbers
        .iter()
        .map(|n| {
            let out: serde_json::Value = serde_json::from_str(&cluster.cli(&["code", "issue", n, "--json"])).unwrap();
            out["code"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_limits_and_mail_hold_across_two_nodes_behind_nginx() {
    let Some(cluster) = Cluster::start(2).await else { return };
    let (a, b) = (cluster.node(0), cluster.node(1));
    let numbers = ["60049-58004503", "60049-58004504"];
    let codes = seed(&cluster, &numbers);
    let db = pool(&cluster).await;
    let mut all_mail = Vec::new();
    let client = IpAddr::from(CLIENT);
    let browser = Browser::from_address(&cluster.base(), client);

    // Opening: consent and information on one node, the password step on the other.
    browser.consent().await;
    let form = browser.get("/opening/apply").await;
    let csrf = form.csrf();
    let apply = [
        ("csrf", csrf.as_str()),
        ("email", "taro@example.jp"),
        ("job_seeker_number", numbers[0]),
        ("birth_year", BIRTH.0),
        ("birth_month", BIRTH.1),
        ("birth_day", BIRTH.2),
        ("code", codes[0].as_str()),
    ];
    // A client's own X-Forwarded-For is not believed: nginx appends the real address, and the
    // node believes only the last entry, from its trusted proxy.
    let applied = browser.post_with_headers("/opening/apply", &[("x-forwarded-for", "198.51.100.7")], &apply).await;
    applied.assert_redirect("/opening/password");
    let started_on = upstream(&applied);
    assert!(started_on == a || started_on == b, "{started_on}");
    let key = mails(&cluster, &mut all_mail, 1).await[0].code();
    let csrf = browser.get("/opening/password").await.csrf();
    let form =
        [("csrf", csrf.as_str()), ("password", PASSWORD), ("password_confirmation", PASSWORD), ("auth_key", &key)];
    post_on_other(&browser, &started_on, "/opening/password", &form).await.assert_redirect("/opening/done");
    mails(&cluster, &mut all_mail, 1).await; // the account-opened notice

    // Login with a one-time password: the password on one node, the OTP on the other.
    let csrf = browser.get("/login").await.csrf();
    let login = browser.post("/login", &[("csrf", &csrf), ("email", "taro@example.jp"), ("password", PASSWORD)]).await;
    login.assert_redirect("/login/otp");
    let otp = mails(&cluster, &mut all_mail, 1).await[0].code();
    let csrf = browser.get("/login/otp").await.csrf();
    post_on_other(&browser, &upstream(&login), "/login/otp", &[("csrf", &csrf), ("otp", &otp)])
        .await
        .assert_redirect("/mypage");
    let (first, second) = (browser.get("/mypage").await, browser.get("/mypage").await);
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(BTreeSet::from([upstream(&first), upstream(&second)]), BTreeSet::from([a.clone(), b.clone()]));

    // Recovery: the request on one node, the new password on the other.
    let pc = Browser::from_address(&cluster.base(), client);
    let asked = ask_for_a_key(&pc, "taro@example.jp", numbers[0], BIRTH).await;
    asked.assert_redirect("/login/forgot/password");
    let key = mails(&cluster, &mut all_mail, 1).await[0].code();
    let csrf = pc.get("/login/forgot/password").await.csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("password", NEW_PASSWORD),
        ("password_confirmation", NEW_PASSWORD),
        ("auth_key", &key),
    ];
    post_on_other(&pc, &upstream(&asked), "/login/forgot/password", &form).await.assert_redirect("/login/forgot/done");
    let notices = mails(&cluster, &mut all_mail, 1).await; // password changed
    assert!(notices[0].subject.contains("パスワード"), "{}", notices[0].subject);
    pc.login("taro@example.jp", NEW_PASSWORD).await.assert_redirect("/login/otp");
    mails(&cluster, &mut all_mail, 1).await;

    // A staff session: the CLI's first admin logs in on one node, enrols the authenticator on
    // the other, changes the one-time password on the first again, and the console answers on
    // both.
    let admin: serde_json::Value =
        serde_json::from_str(&cluster.cli(&["admin", "create", "--id", "admin", "--office", "01010", "--json"]))
            .unwrap();
    let staff = Browser::from_address(&cluster.base(), client);
    let csrf = staff.get("/staff/login").await.csrf();
    let one_time = admin["password"].as_str().unwrap();
    let login = staff
        .post("/staff/login", &[("csrf", &csrf), ("login_id", "admin"), ("password", one_time), ("totp", "")])
        .await;
    login.assert_redirect("/staff/enroll");
    let enroll = staff.get("/staff/enroll").await;
    let secret = crate::staff::secret_shown(&enroll);
    let code = secret.code_at(jiff::Timestamp::now().as_second() / 30);
    let enrolled =
        post_on_other(&staff, &upstream(&login), "/staff/enroll", &[("csrf", &enroll.csrf()), ("totp", &code)]).await;
    enrolled.assert_redirect("/staff/password");
    let csrf = staff.get("/staff/password").await.csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("current_password", one_time),
        ("password", "Counter#2026pw"),
        ("password_confirmation", "Counter#2026pw"),
    ];
    post_on_other(&staff, &upstream(&enrolled), "/staff/password", &form).await.assert_redirect("/staff");
    let (first, second) = (staff.get("/staff").await, staff.get("/staff").await);
    assert_eq!((first.status, second.status), (200, 200), "{}", first.body);
    assert_eq!(BTreeSet::from([upstream(&first), upstream(&second)]), BTreeSet::from([a.clone(), b.clone()]));

    // A burst of wrong codes split between the nodes: exactly ten counted, the code voided once.
    let mut burst = Vec::new();
    for _ in 0..16 {
        let browser = Browser::from_address(&cluster.base(), client);
        browser.consent().await;
        let csrf = browser.get("/opening/apply").await.csrf();
        let form = [
            ("csrf", csrf.as_str()),
            ("email", "hanako@example.jp"),
            ("job_seeker_number", numbers[1]),
            ("birth_year", BIRTH.0),
            ("birth_month", BIRTH.1),
            ("birth_day", BIRTH.2),
            ("code", "ZZZZZ-ZZZZZ"),
        ];
        burst.push(Prepared::new(browser, "/opening/apply", &form));
    }
    let pages = release_together(burst).await;
    let served: BTreeSet<String> = pages.iter().map(upstream).collect();
    assert_eq!(served, BTreeSet::from([a.clone(), b.clone()]), "the burst was split between the nodes");
    let code_row = "SELECT failed_attempts FROM account_codes c JOIN job_seekers j ON j.id = c.job_seeker_id \
                    WHERE j.number = '60049-58004504'";
    assert_eq!(scalar(&db, code_row).await, 10, "exactly ten entries counted");
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM account_codes WHERE voided_at IS NOT NULL").await, 1);
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM audit_events WHERE kind = 'code.voided'").await, 1);
    assert_eq!(count(&pages, |p| p.contains("あと") && p.contains("回間違えると無効")), 9);
    assert!(pages.iter().all(|p| p.status < 500), "every entry answered with a page");
    let late = Browser::from_address(&cluster.base(), client);
    late.consent().await;
    let right = late.apply("hanako@example.jp", numbers[1], BIRTH, &codes[1]).await;
    assert_ne!(right.location.as_deref(), Some("/opening/password"), "the voided code opens nothing, on any node");

    // X-Forwarded-For from nginx is believed: the per-client budget and the audit log name the
    // client's address, never nginx's nor the one the client made up.
    let per_client = "SELECT COUNT(*) FROM attempt_log WHERE scope = 'apply.client' AND subject = '127.0.0.2'";
    assert!(scalar(&db, per_client).await >= 10, "wrong entries count against the forwarded address");
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM attempt_log WHERE subject LIKE '127.0.0.1%'").await, 0);
    assert!(scalar(&db, "SELECT COUNT(*) FROM audit_events WHERE client_addr = '127.0.0.2'").await > 0);
    let others = "SELECT COUNT(*) FROM audit_events WHERE client_addr IS NOT NULL AND client_addr <> '127.0.0.2'";
    assert_eq!(scalar(&db, others).await, 0, "no audit event names nginx or the made-up address");

    // Both mail workers ran the whole time: every mail was delivered, and exactly once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    all_mail.extend(cluster.smtp.take());
    let outbox = scalar(&db, "SELECT COUNT(*) FROM outbox").await;
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").await, 0);
    assert_eq!(all_mail.len() as i64, outbox, "one delivery per outbox row");
    let distinct: BTreeSet<(String, String, String)> =
        all_mail.iter().map(|m| (m.to.clone(), m.subject.clone(), m.body.clone())).collect();
    assert_eq!(distinct.len(), all_mail.len(), "no mail twice");
    eprintln!("two nodes: {outbox} mails, each delivered once; burst of 16 served by {served:?}");
    db.close().await;
    cluster.finish().await;
}

/// A rolling restart: SIGTERM node A while a stream of requests runs through nginx, start it
/// again, then the same for B. No request may be lost, and no POST done twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_behind_nginx_loses_no_request() {
    let Some(mut cluster) = Cluster::start(2).await else { return };
    let db = pool(&cluster).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (posts_ok, gets_ok) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut clients = Vec::new();
    for i in 0..8u8 {
        let (base, stop, posts_ok, gets_ok, failures) =
            (cluster.base(), stop.clone(), posts_ok.clone(), gets_ok.clone(), failures.clone());
        clients.push(tokio::spawn(async move {
            let mut n = 0u64;
            // A round is never cut short: the stream stops between rounds.
            while !stop.load(Ordering::Relaxed) {
                // Each client is its own address, so no per-client limit is reached; each round
                // is a new browser, so each consent is its own session row.
                let browser = Browser::from_address(&base, IpAddr::from([127, 0, 1, i + 1]));
                let round = async {
                    // A GET that starts a session, then the consent POST that records it in that
                    // session's row: both must be answered, and each POST writes once.
                    let page = browser.get("/opening/consent").await;
                    if page.status != 200 {
                        return Err(format!("GET /opening/consent {}: {}", page.status, upstream(&page)));
                    }
                    gets_ok.fetch_add(1, Ordering::Relaxed);
                    let form = [("csrf", page.csrf()), ("agree_privacy", "yes".into()), ("agree_terms", "yes".into())];
                    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    for doc in ["/opening/documents/privacy", "/opening/documents/terms"] {
                        let page = browser.get(doc).await;
                        if page.status != 200 {
                            return Err(format!("GET {doc} {}: {}", page.status, upstream(&page)));
                        }
                    }
                    let done = browser.post("/opening/consent", &form).await;
                    if done.location.as_deref() != Some("/opening/apply") {
                        return Err(format!("POST /opening/consent {}: {}", done.status, upstream(&done)));
                    }
                    posts_ok.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                };
                if let Err(e) = round.await {
                    failures.lock().unwrap().push(e);
                }
                n += 1;
            }
            n
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut figures = Vec::new();
    for i in 0..2 {
        let took = cluster.stop_node(i);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = Instant::now();
        cluster.start_node(i).await;
        figures.push((took, started.elapsed()));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut rounds = 0;
    for c in clients {
        rounds += c.await.unwrap();
    }
    let failures = failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "requests lost during the rolling restart: {failures:?}\n{}", cluster.logs());
    let posts = posts_ok.load(Ordering::Relaxed);
    assert!(posts >= 8, "the stream kept running ({posts} consents)");
    // Every answered consent wrote its session once; none was written twice or left unanswered.
    let consented = scalar(&db, r#"SELECT COUNT(*) FROM sessions WHERE data LIKE '%"consent":{%'"#).await;
    assert_eq!(consented, posts as i64, "{rounds} rounds");
    eprintln!(
        "rolling restart: {rounds} rounds, {} GETs and {posts} POSTs answered, none lost; \
         (SIGTERM to exit, restart to ready) per node: {figures:?}",
        gets_ok.load(Ordering::Relaxed)
    );
    db.close().await;
    cluster.finish().await;
}
