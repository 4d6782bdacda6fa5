//! The binary, as an operator runs it: killed with SIGKILL in the middle of a stream of openings,
//! logins and recoveries, then restarted; and stopped with SIGTERM while a request and a send are
//! in flight.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::both_databases;
use crate::helpers::procs::Served;
use crate::helpers::procs::free_port;
use crate::helpers::{Browser, SmtpSink, TestApp};

const PASSWORD: &str = "kushiro-2026-spring";
const BIRTH: (&str, &str, &str) = ("1990", "4", "15");
/// Users driving the service at once, and job seekers (with codes) each may open.
const USERS: usize = 8;
const SEEKERS_PER_USER: usize = 10;

fn number(i: usize) -> String {
    format!("60049-{}", 1000 + i)
}

fn email(i: usize) -> String {
    format!("s{i}@example.jp")
}

/// Job seekers with codes, issued at the real time (the binary runs on the system clock).
async fn seed(app: &TestApp, count: usize) -> Vec<String> {
    let now = jiff::Timestamp::now();
    let behind = now.duration_since(app.state.now());
    app.advance(Duration::try_from(behind).unwrap_or_default());
    let mut csv = String::from("job_seeker_number,name,name_kana,birth_date,office_number,email,email_registered_on\n");
    for i in 0..count {
        csv.push_str(&format!("{},釧路 太郎,クシロ タロウ,1990-04-15,01010,,\n", number(i)));
    }
    let office = mypage::flows::registry::OfficeNumber::parse("01010").unwrap();
    mypage::flows::registry::add_office(&app.state, &office, "ハローワーク釧路", None, "test").await.unwrap();
    let report = mypage::import::import(&app.state, csv.as_bytes(), "test", None).await.unwrap();
    assert_eq!(report.count(|o| *o == mypage::import::RowOutcome::Added), count);
    let mut codes = Vec::new();
    for i in 0..count {
        codes.push(app.issue_code(&number(i)).await);
    }
    codes
}

/// The six-digit code of the newest mail to `to` beyond the first `seen`, waiting up to 15 s
/// (or until `killed` is set: the mail will not come from a dead server).
async fn next_code(smtp: &SmtpSink, to: &str, seen: &mut usize, killed: &AtomicBool) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline && !killed.load(Ordering::SeqCst) {
        let mails: Vec<_> = smtp.all().into_iter().filter(|m| m.to == to).collect();
        for m in mails.iter().skip(*seen) {
            *seen += 1;
            if let Some(code) =
                m.body.lines().map(str::trim).find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
            {
                return Some(code.to_owned());
            }
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    None
}

/// How a user's run ended.
#[derive(Debug)]
enum Ended {
    /// Every seeker done.
    Finished,
    /// A request got no answer: the server was killed under it.
    Interrupted,
    /// Waiting for a mail when the server was killed.
    WaitingForMail,
}

#[derive(Default)]
struct Tally {
    /// Openings whose completion page was answered.
    opened: std::sync::Mutex<Vec<usize>>,
    completions: AtomicUsize,
    logins: AtomicUsize,
    recoveries: AtomicUsize,
    killed: AtomicBool,
}

/// An answered request must be what the flow expects; no answer means the server went away.
macro_rules! step {
    ($call:expr) => {
        match $call.await {
            Ok(page) => page,
            Err(_) => return Ended::Interrupted,
        }
    };
}

/// One user: opens accounts for its seekers one after another, logs in with the one-time
/// password, and asks for a recovery key.
async fn user(smtp: SmtpSink, base: String, seekers: Vec<(usize, String)>, tally: Arc<Tally>) -> Ended {
    for (i, code) in seekers {
        let to = email(i);
        let mut seen = 0;
        let b = Browser::new(&base);
        let page = step!(b.try_get("/opening/consent"));
        assert_eq!(page.status, 200, "{}", page.body);
        step!(b.try_get("/opening/documents/privacy"));
        step!(b.try_get("/opening/documents/terms"));
        let done = step!(
            b.try_post("/opening/consent", &[("csrf", &page.csrf()), ("agree_privacy", "yes"), ("agree_terms", "yes")])
        );
        done.assert_redirect("/opening/apply");
        let form = step!(b.try_get("/opening/apply"));
        let applied = step!(b.try_post(
            "/opening/apply",
            &[
                ("csrf", &form.csrf()),
                ("email", &to),
                ("job_seeker_number", &number(i)),
                ("birth_year", BIRTH.0),
                ("birth_month", BIRTH.1),
                ("birth_day", BIRTH.2),
                ("code", &code),
            ]
        ));
        applied.assert_redirect("/opening/password");
        let Some(key) = next_code(&smtp, &to, &mut seen, &tally.killed).await else { return Ended::WaitingForMail };
        let form = step!(b.try_get("/opening/password"));
        let done = step!(b.try_post(
            "/opening/password",
            &[("csrf", &form.csrf()), ("password", PASSWORD), ("password_confirmation", PASSWORD), ("auth_key", &key)]
        ));
        done.assert_redirect("/opening/done");
        tally.opened.lock().unwrap().push(i);
        tally.completions.fetch_add(1, Ordering::SeqCst);

        let login = Browser::new(&base);
        let form = step!(login.try_get("/login"));
        let sent = step!(login.try_post("/login", &[("csrf", &form.csrf()), ("email", &to), ("password", PASSWORD)]));
        sent.assert_redirect("/login/otp");
        let Some(otp) = next_code(&smtp, &to, &mut seen, &tally.killed).await else { return Ended::WaitingForMail };
        let form = step!(login.try_get("/login/otp"));
        let inside = step!(login.try_post("/login/otp", &[("csrf", &form.csrf()), ("otp", &otp)]));
        inside.assert_redirect("/mypage");
        tally.logins.fetch_add(1, Ordering::SeqCst);

        let forgot = Browser::new(&base);
        let form = step!(forgot.try_get("/login/forgot"));
        let asked = step!(forgot.try_post(
            "/login/forgot",
            &[
                ("csrf", &form.csrf()),
                ("email", &to),
                ("job_seeker_number", &number(i)),
                ("birth_year", BIRTH.0),
                ("birth_month", BIRTH.1),
                ("birth_day", BIRTH.2),
            ]
        ));
        asked.assert_redirect("/login/forgot/password");
        tally.recoveries.fetch_add(1, Ordering::SeqCst);
    }
    Ended::Finished
}

async fn killed_under_load_and_restarted_loses_nothing_and_delivers_at_once(app: &TestApp) {
    let started = Instant::now();
    let codes = seed(app, USERS * SEEKERS_PER_USER).await;
    let port = free_port();
    let data_dir = app.temp_path("node");
    let mut served = Served::start(app, port, &data_dir, &[]).await;

    let tally = Arc::new(Tally::default());
    let mut users = Vec::new();
    for u in 0..USERS {
        let seekers: Vec<_> =
            (0..SEEKERS_PER_USER).map(|k| u * SEEKERS_PER_USER + k).map(|i| (i, codes[i].clone())).collect();
        users.push(tokio::spawn(user(app.smtp.clone(), served.base.clone(), seekers, tally.clone())));
    }
    // Kill mid-stream: once a few accounts are open (or after 20 s, whichever comes first).
    let deadline = Instant::now() + Duration::from_secs(20);
    while tally.completions.load(Ordering::SeqCst) < USERS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Make sure one mail is mid-hand-over at the kill: the mail server sits on the next one.
    app.smtp.hold_next(Duration::from_secs(30));
    let holding = Instant::now();
    let in_flight =
        "SELECT COUNT(*) FROM outbox WHERE locked_until IS NOT NULL AND sent_at IS NULL AND failed_at IS NULL";
    while !app.smtp.holding() {
        assert!(holding.elapsed() < Duration::from_secs(10), "no mail was sent in 10 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    served.proc.kill();
    let killed_at = Instant::now();
    tally.killed.store(true, Ordering::SeqCst);
    let (mut interrupted, mut waiting) = (0, 0);
    for u in users {
        match u.await.unwrap() {
            Ended::Interrupted => interrupted += 1,
            Ended::WaitingForMail => waiting += 1,
            Ended::Finished => {}
        }
    }
    let pool = app.state.store.pool();
    let held_at_kill = app.scalar(in_flight).await;
    assert!(held_at_kill >= 1, "a send was in flight at the kill");
    let backlog_at_kill = app.scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL").await;

    // Restart the same node (same data folder, so the same identity).
    let restart = Instant::now();
    let _served = Served::start(app, port, &data_dir, &[]).await;
    let ids: Vec<(i64, i64)> = loop {
        let pending = app.scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").await;
        if pending == 0 {
            break sqlx::query_as("SELECT id, created_at FROM outbox").fetch_all(pool).await.unwrap();
        }
        assert!(restart.elapsed() < Duration::from_secs(10), "{pending} mails still unsent 10 s after the restart");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let recovered = restart.elapsed();
    let mut arrived: HashMap<String, usize> = HashMap::new();
    for m in app.smtp.all() {
        *arrived.entry(m.message_id).or_default() += 1;
    }
    for (id, created_at) in &ids {
        let message_id = mypage::mail::worker::message_id(*id, *created_at, "no-reply@mypage.example.jp");
        assert!(arrived.contains_key(&message_id), "outbox row {id} was marked sent but never arrived");
    }
    let duplicates: usize = arrived.values().map(|n| n - 1).sum();
    let opened = tally.opened.lock().unwrap().clone();
    eprintln!(
        "killed under load ({}): {} completions, {} logins, {} recoveries before the kill; {interrupted} requests in flight \
         and {waiting} users waiting for a mail at the kill; {held_at_kill} mail claims held and {backlog_at_kill} mails unsent at the \
         kill; {} mails committed, {} delivered, {duplicates} duplicates; every mail delivered {:.2} s after the \
         restart began ({:.2} s after the kill)",
        if app.db_url.is_sqlite() { "SQLite" } else { "PostgreSQL" },
        opened.len(),
        tally.logins.load(Ordering::SeqCst),
        tally.recoveries.load(Ordering::SeqCst),
        ids.len(),
        arrived.len(),
        recovered.as_secs_f64(),
        (restart.duration_since(killed_at) + recovered).as_secs_f64(),
    );
    assert!(interrupted + waiting == USERS, "the kill came mid-stream");
    assert!(
        duplicates as i64 <= held_at_kill,
        "{duplicates} duplicates, but only {held_at_kill} mails were being handed over at the kill"
    );
    assert!(recovered < Duration::from_secs(8), "every mail within seconds of the restart: {recovered:?}");

    // No half-written state.
    let keys_without_mail = app
        .scalar(
            "SELECT COUNT(*) FROM (SELECT email, COUNT(*) AS n FROM auth_keys GROUP BY email) k \
             WHERE n > (SELECT COUNT(*) FROM outbox o WHERE o.to_addr = k.email \
                        AND o.kind IN ('auth_key.v1', 'recovery_key.v1'))",
        )
        .await;
    assert_eq!(keys_without_mail, 0, "an auth key without its mail");
    let codes_without_account = app
        .scalar(
            "SELECT COUNT(*) FROM account_codes c WHERE c.used_at IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.job_seeker_id = c.job_seeker_id)",
        )
        .await;
    assert_eq!(codes_without_account, 0, "a consumed code without its account");

    // Every account whose completion page was answered exists and logs in on the restarted node.
    let mut seen_logins = HashSet::new();
    for i in &opened {
        let to = email(*i);
        let b = Browser::new(&_served.base);
        let mut seen = app.smtp.all().iter().filter(|m| m.to == to).count();
        b.login(&to, PASSWORD).await.assert_redirect("/login/otp");
        let otp =
            next_code(&app.smtp, &to, &mut seen, &AtomicBool::new(false)).await.expect("the one-time password arrives");
        b.submit_otp(&otp, false).await.assert_redirect("/mypage");
        seen_logins.insert(*i);
    }
    assert_eq!(seen_logins.len(), opened.len());
    assert!(started.elapsed() < Duration::from_secs(60), "bounded: {:?}", started.elapsed());
}
both_databases!(killed_under_load_and_restarted_loses_nothing_and_delivers_at_once);

fn form_encode(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// SIGTERM while a request is half-sent and a mail is on its way to a mail server that sits on it
/// for `hold`: the server stops accepting, the request still gets its answer, the process exits 0
/// within the grace, and the mail is either sent and settled (a short hold) or its claim given
/// back (a hold past the grace), so the next start sends it at once.
async fn sigterm_while_a_request_and_a_send_are_in_flight(app: &TestApp, hold: Duration, grace: Duration) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let codes = seed(app, 1).await;
    let port = free_port();
    let data_dir = app.temp_path("node");
    let grace_setting = format!("{}s", grace.as_secs());
    let mut served = Served::start(app, port, &data_dir, &[("MYPAGE_SHUTDOWN_GRACE", &grace_setting)]).await;
    app.smtp.hold_next(hold);
    let b = Browser::new(&served.base);
    b.consent().await;
    b.apply(&email(0), &number(0), BIRTH, &codes[0]).await.assert_redirect("/opening/password");
    let pool = app.state.store.pool();
    let claimed = Instant::now();
    while app.scalar("SELECT COUNT(*) FROM outbox WHERE claim_token IS NOT NULL").await == 0 {
        assert!(claimed.elapsed() < Duration::from_secs(10), "the worker claims the mail");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A request whose body is only half sent when the signal comes.
    let asker = Browser::new(&served.base);
    let form = asker.get("/login/forgot").await;
    let body = form_encode(&[
        ("csrf", &form.csrf()),
        ("email", &email(0)),
        ("job_seeker_number", &number(0)),
        ("birth_year", BIRTH.0),
        ("birth_month", BIRTH.1),
        ("birth_day", BIRTH.2),
    ]);
    let head = format!(
        "POST /login/forgot HTTP/1.1\r\nHost: localhost:{port}\r\nCookie: {}\r\nOrigin: http://localhost:{port}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        asker.cookie_header(),
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let signalled = Instant::now();
    served.proc.signal_term();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "no new connections are accepted after SIGTERM"
    );
    stream.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 303"), "the request in flight is answered: {answer}");
    assert!(answer.contains("location: /login/forgot/password"), "{answer}");
    let status = served.proc.wait_exit(grace + Duration::from_secs(5)).await.expect("exits within the grace");
    let took = signalled.elapsed();
    assert!(status.success(), "exit status {status:?}");
    assert!(took < grace + Duration::from_secs(3), "stopped in {took:?} with a grace of {grace:?}");

    let (id, created_at, sent, locked, token): (i64, i64, Option<i64>, Option<i64>, Option<String>) = sqlx::query_as(
        "SELECT id, created_at, sent_at, locked_until, claim_token FROM outbox WHERE kind = 'auth_key.v1'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let message_id = mypage::mail::worker::message_id(id, created_at, "no-reply@mypage.example.jp");
    let arrivals = || app.smtp.all().iter().filter(|m| m.message_id == message_id).count();
    assert_eq!((locked, token), (None, None), "no claim survives the stop");
    eprintln!(
        "SIGTERM ({}) with a send held {hold:?} and a grace of {grace:?}: {status} after {:.2} s; mail {}",
        if app.db_url.is_sqlite() { "SQLite" } else { "PostgreSQL" },
        took.as_secs_f64(),
        if sent.is_some() { "sent and settled" } else { "cut, claim given back" }
    );
    if hold < grace {
        assert!(sent.is_some(), "a send shorter than the grace finishes and is settled");
        assert_eq!(arrivals(), 1);
    } else {
        assert!(sent.is_none());
        assert_eq!(arrivals(), 0, "the cut send never completed");
        // The next start sends it at once: the claim was given back, not left to lapse.
        let restart = Instant::now();
        let _again = Served::start(app, port, &data_dir, &[]).await;
        while app.scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'auth_key.v1' AND sent_at IS NOT NULL").await == 0 {
            assert!(restart.elapsed() < Duration::from_secs(8), "sent soon after the restart");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(arrivals(), 1);
    }
}

async fn sigterm_lets_a_short_send_finish(app: &TestApp) {
    sigterm_while_a_request_and_a_send_are_in_flight(app, Duration::from_secs(4), Duration::from_secs(8)).await;
}
both_databases!(sigterm_lets_a_short_send_finish);

async fn sigterm_cuts_a_send_past_the_grace_and_gives_its_claim_back(app: &TestApp) {
    sigterm_while_a_request_and_a_send_are_in_flight(app, Duration::from_secs(60), Duration::from_secs(2)).await;
}
both_databases!(sigterm_cuts_a_send_past_the_grace_and_gives_its_claim_back);
