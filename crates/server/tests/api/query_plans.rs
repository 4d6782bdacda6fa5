//! Every statement on a request path that does not hash is planned as an index scan: the login
//! lookup, the apply lookups and the limiter, the session load, the counter's search, the job
//! seeker's page and the audit log. The statements explained are the store's own constants, on
//! tables seeded with a few thousand rows of the shapes the product writes and then analysed,
//! so each planner decides with real statistics. A statement that would read a big table end to
//! end at national scale (a full scan, or sorting every match before a LIMIT) fails here.

use mypage::store::{Backend, accounts, attempts, audit, codes, job_seekers, login, outbox, sessions};

use crate::helpers::TestApp;

const OFFICES: i64 = 20;
const SEEKERS: i64 = 6_000;
const EVENTS: i64 = 20_000;

/// Rows like the product's, set-based (a recursive counter works on both databases).
async fn seed(app: &TestApp) {
    let pool = app.state.store.pool();
    let statements = [
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {OFFICES}) \
             INSERT INTO offices (number, name, created_at) \
             SELECT CAST(90000 + i AS TEXT), 'ハローワーク' || CAST(i AS TEXT), 0 FROM n"
        ),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {SEEKERS}) \
             INSERT INTO job_seekers (number, name, name_kana, birth_date, office_id, email, created_at, updated_at) \
             SELECT CAST(90000 + i % {OFFICES} + 1 AS TEXT) || '-' || CAST(10000000 + i AS TEXT), '山田 太郎', \
               CASE i % 8 WHEN 0 THEN 'サトウ' WHEN 1 THEN 'スズキ' WHEN 2 THEN 'タカハシ' WHEN 3 THEN 'タナカ' \
                 WHEN 4 THEN 'ワタナベ' WHEN 5 THEN 'イトウ' WHEN 6 THEN 'ヤマモト' ELSE 'ナカムラ' END \
               || ' ' || CASE i % 7 WHEN 0 THEN 'ハルト' WHEN 1 THEN 'ユイ' WHEN 2 THEN 'ソウタ' WHEN 3 THEN 'ミオ' \
                 WHEN 4 THEN 'ヒロシ' WHEN 5 THEN 'ケイコ' ELSE 'アキラ' END, \
               '1980-01-01', (SELECT id FROM offices WHERE number = CAST(90000 + i % {OFFICES} + 1 AS TEXT)), \
               'seeker' || CAST(i AS TEXT) || '@example.jp', 0, 0 FROM n"
        ),
        "INSERT INTO accounts (job_seeker_id, email, password_hash, privacy_version, terms_version, consented_at, \
           created_at, password_changed_at) \
         SELECT id, 'login' || CAST(id AS TEXT) || '@example.jp', 'x', 1, 1, 0, 0, 0 FROM job_seekers WHERE id % 2 = 0"
            .to_owned(),
        "INSERT INTO account_codes (job_seeker_id, code_hash, issued_at, expires_at, used_at, issued_by) \
         SELECT id, 'h' || CAST(id AS TEXT), 0, 1000, 10, 'staff:1' FROM job_seekers"
            .to_owned(),
        "INSERT INTO outbox (kind, to_addr, subject, body, job_seeker_id, created_at, next_attempt_at, sent_at) \
         SELECT 'auth_key.open', email, 's', 'b', id, 0, 0, 1 FROM job_seekers"
            .to_owned(),
        "INSERT INTO logins (account_id, at, method, user_agent, client_addr) \
         SELECT id, 5, 'otp', 'ua', '192.0.2.1' FROM accounts"
            .to_owned(),
        "INSERT INTO remembered_browsers (account_id, token_hash, user_agent, created_at, last_used_at, expires_at) \
         SELECT id, 'browser' || CAST(id AS TEXT), 'ua', 0, 0, 9000000000000 FROM accounts"
            .to_owned(),
        "INSERT INTO sessions (id_hash, csrf_token, account_id, data, created_at, last_seen_at, idle_expires_at, \
           abs_expires_at, realm) \
         SELECT 'session' || CAST(id AS TEXT), 'c', id, '{}', 0, 0, 9000000000000, 9000000000000, 'public' FROM accounts"
            .to_owned(),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {EVENTS}) \
             INSERT INTO attempt_log (scope, subject, at) \
             SELECT CASE i % 3 WHEN 0 THEN 'apply.client' WHEN 1 THEN 'login.client' ELSE 'apply.birth_date' END, \
               'subject' || CAST(i % 2000 AS TEXT), i FROM n"
        ),
        "INSERT INTO limit_subjects (scope, subject, touched_at) SELECT DISTINCT scope, subject, 0 FROM attempt_log"
            .to_owned(),
        // Events in time order, as they are written; a few share an instant.
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {EVENTS}) \
             INSERT INTO audit_events (at, actor, kind, job_seeker_id, detail, client_addr) \
             SELECT 1000 * (i / 2), \
               CASE i % 4 WHEN 0 THEN 'system' ELSE 'job_seeker:' || CAST(i % {SEEKERS} + 1 AS TEXT) END, \
               CASE i % 5 WHEN 0 THEN 'code.issued' WHEN 1 THEN 'account.opened' WHEN 2 THEN 'login.failed' \
                 ELSE 'login' END, \
               i % {SEEKERS} + 1, '', '192.0.2.1' FROM n"
        ),
        "ANALYZE".to_owned(),
    ];
    for sql in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("seeding failed: {e}\n{sql}"));
    }
}

#[derive(Debug, Clone)]
enum Param {
    Int(i64),
    Text(String),
}

fn text(s: &str) -> Param {
    Param::Text(s.to_owned())
}

/// The plan's lines: PostgreSQL's text plan, SQLite's `EXPLAIN QUERY PLAN` details.
async fn explain(app: &TestApp, sql: &str, params: &[Param]) -> Vec<String> {
    let backend = app.state.store.backend();
    let prefix = match backend {
        Backend::Sqlite => "EXPLAIN QUERY PLAN ",
        Backend::Postgres => "EXPLAIN ",
    };
    let mut query = sqlx::query(sqlx::AssertSqlSafe(format!("{prefix}{sql}")));
    for p in params {
        query = match p {
            Param::Int(i) => query.bind(*i),
            Param::Text(t) => query.bind(t.clone()),
        };
    }
    let rows = query.fetch_all(app.state.store.pool()).await.unwrap_or_else(|e| panic!("EXPLAIN failed: {e}\n{sql}"));
    let column = match backend {
        Backend::Sqlite => 3,
        Backend::Postgres => 0,
    };
    rows.iter().map(|r| sqlx::Row::try_get::<String, _>(r, column).unwrap()).collect()
}

/// Whether the results must come in index order (a paged or limited list): no sort of every match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Any,
    FromIndex,
}

async fn assert_index_plan(app: &TestApp, name: &str, sql: &str, params: &[Param], order: Order) {
    let plan = explain(app, sql, params).await;
    let shown = plan.join("\n");
    let index_used;
    match app.state.store.backend() {
        Backend::Postgres => {
            assert!(!shown.contains("Seq Scan"), "{name}: a sequential scan\n{sql}\n{shown}");
            index_used = shown.contains("Index Scan") || shown.contains("Index Only Scan") || sql.starts_with("INSERT");
            if order == Order::FromIndex {
                assert!(!shown.contains("Sort"), "{name}: every match is sorted before the limit\n{sql}\n{shown}");
            }
        }
        Backend::Sqlite => {
            for line in &plan {
                let full_scan = line.starts_with("SCAN ") && !line.contains(" USING ") && line != "SCAN CONSTANT ROW";
                assert!(!full_scan, "{name}: a full table scan ({line})\n{sql}\n{shown}");
            }
            index_used = plan.iter().any(|l| l.contains("USING") && l.contains("INDEX"))
                || sql.starts_with("INSERT")
                || plan.iter().any(|l| l.contains("USING INTEGER PRIMARY KEY"));
            if order == Order::FromIndex {
                assert!(!shown.contains("TEMP B-TREE FOR ORDER BY"), "{name}: every match is sorted\n{sql}\n{shown}");
            }
        }
    }
    assert!(index_used, "{name}: no index is used\n{sql}\n{shown}");
}

async fn every_request_path_query_is_an_index_scan(app: &TestApp) {
    seed(app).await;
    let seeker = app.scalar("SELECT MAX(id) FROM job_seekers WHERE id % 2 = 0").await;
    let account = app.scalar("SELECT MAX(id) FROM accounts").await;
    let office = app.scalar("SELECT MIN(id) FROM offices").await;
    let number: String = sqlx::query_scalar("SELECT number FROM job_seekers WHERE id = $1")
        .bind(seeker)
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    let login_id = format!("login{seeker}@example.jp");
    let now = 9_000_000;

    // The login lookup, the apply lookups and the limiter.
    let cases: Vec<(&str, String, Vec<Param>, Order)> = vec![
        ("login lookup", login::FIND_BY_EMAIL.into(), vec![text(&login_id)], Order::Any),
        ("apply: 求職番号", job_seekers::FIND_BY_NUMBER.into(), vec![text(&number)], Order::Any),
        ("apply: opened?", accounts::FIND_BY_JOB_SEEKER.into(), vec![Param::Int(seeker)], Order::Any),
        ("apply: latest code", codes::LATEST.into(), vec![Param::Int(seeker)], Order::FromIndex),
        (
            "limiter: lock row",
            attempts::LOCK_SUBJECT.into(),
            vec![text("apply.client"), text("subject7"), Param::Int(now)],
            Order::Any,
        ),
        (
            "limiter: count",
            attempts::COUNT_SINCE.into(),
            vec![text("apply.client"), text("subject7"), Param::Int(now - 3_600_000)],
            Order::Any,
        ),
        (
            "limiter: cooldown",
            attempts::LAST_SINCE.into(),
            vec![text("apply.client"), text("subject7"), Param::Int(now - 60_000)],
            Order::Any,
        ),
        (
            "session load",
            sessions::FIND_LIVE.into(),
            vec![text(&format!("session{account}")), Param::Int(now), text("public")],
            Order::Any,
        ),
        // The job seeker's page.
        ("page: job seeker", job_seekers::FIND.into(), vec![Param::Int(seeker)], Order::Any),
        ("page: login state", accounts::LOGIN_STATE.into(), vec![Param::Int(account), Param::Int(now)], Order::Any),
        ("page: mail log", outbox::FOR_JOB_SEEKER.into(), vec![Param::Int(seeker)], Order::Any),
        ("page: events", audit::FOR_JOB_SEEKER.into(), vec![Param::Int(seeker)], Order::Any),
    ];
    for (name, sql, params, order) in cases {
        assert_index_plan(app, name, &sql, &params, order).await;
    }

    // The counter's search, within an office and across all (admins).
    let kana = "サトウ";
    let searches = [
        job_seekers::Search::Number(&number),
        job_seekers::Search::KanaPrefix(kana),
        job_seekers::Search::Email(&login_id),
        job_seekers::Search::Email("seeker12@example.jp"),
    ];
    for search in searches {
        for scope in [Some(office), None] {
            let mut params = vec![text(search.text())];
            if let job_seekers::Search::KanaPrefix(prefix) = search {
                params.push(Param::Text(job_seekers::prefix_end(prefix)));
            }
            if let Some(office) = scope {
                params.push(Param::Int(office));
            }
            // Across all offices a prefix can match a good part of the country: the index must
            // give the order. Within an office the matches are few enough to sort.
            let across_offices = scope.is_none() && matches!(search, job_seekers::Search::KanaPrefix(_));
            let order = if across_offices { Order::FromIndex } else { Order::Any };
            let name = format!("search {search:?} in {scope:?}");
            assert_index_plan(app, &name, search.sql(scope), &params, order).await;
        }
    }

    // The audit log: each filter alone, the usual combinations, and a later page.
    let cursor = audit::Cursor { at: 5_000_000, id: 10_001 };
    let actor = format!("job_seeker:{seeker}");
    // Filters that can match millions of events must be read in index order; one job seeker's
    // events are few enough to sort.
    let filters: Vec<(audit::Filter<'_>, Vec<Param>, Order)> = vec![
        (audit::Filter::default(), vec![], Order::FromIndex),
        (
            audit::Filter { before: Some(cursor), ..Default::default() },
            vec![Param::Int(cursor.at), Param::Int(cursor.id)],
            Order::FromIndex,
        ),
        (audit::Filter { job_seeker_id: Some(seeker), ..Default::default() }, vec![Param::Int(seeker)], Order::Any),
        (audit::Filter { actor: Some(&actor), ..Default::default() }, vec![text(&actor)], Order::Any),
        (audit::Filter { actor: Some("system"), ..Default::default() }, vec![text("system")], Order::FromIndex),
        (
            audit::Filter { kind: Some("login.failed"), ..Default::default() },
            vec![text("login.failed")],
            Order::FromIndex,
        ),
        (
            audit::Filter { kind: Some("login.failed"), before: Some(cursor), ..Default::default() },
            vec![text("login.failed"), Param::Int(cursor.at), Param::Int(cursor.id)],
            Order::FromIndex,
        ),
        (
            audit::Filter { from_ms: Some(2_000_000), to_ms: Some(3_000_000), ..Default::default() },
            vec![Param::Int(2_000_000), Param::Int(3_000_000)],
            Order::FromIndex,
        ),
        (
            audit::Filter {
                kind: Some("code.issued"),
                from_ms: Some(2_000_000),
                to_ms: Some(3_000_000),
                ..Default::default()
            },
            vec![text("code.issued"), Param::Int(2_000_000), Param::Int(3_000_000)],
            Order::FromIndex,
        ),
        (
            audit::Filter { job_seeker_id: Some(seeker), kind: Some("login"), ..Default::default() },
            vec![Param::Int(seeker), text("login")],
            Order::Any,
        ),
    ];
    for (filter, params, order) in filters {
        let name = format!("audit log {filter:?}");
        assert_index_plan(app, &name, &audit::search_sql(&filter), &params, order).await;
    }
}
crate::both_databases!(every_request_path_query_is_an_index_scan);
