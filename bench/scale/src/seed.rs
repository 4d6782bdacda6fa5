//! Fills a fresh, migrated database set-based (`INSERT … SELECT … FROM generate_series`), with
//! rows of the shapes the service writes. The secondary indexes are dropped for the load and
//! rebuilt from their own definitions afterwards (faster than maintaining them row by row, and
//! the migrations stay the one source of the schema).
//!
//! What is not real: account creation codes, remembered-browser tokens and mail bodies are
//! values nobody holds (an `md5` where the service stores an HMAC, an empty sealed body of a
//! mail already sent), because nothing looks them up by value. Session IDs are real: their
//! keyed hashes are computed with the server secret, as the service does, so `measure` loads
//! them by cookie value.

use std::time::Instant;

use mypage::state::AppState;
use mypage::tokens::Purpose;
use mypage_domain::secret::Secret;
use sqlx::postgres::{PgConnection, PgPoolOptions};
use sqlx::{Connection as _, Executor as _};

/// How big a country.
#[derive(Debug, clap::Args)]
pub struct Sizes {
    #[arg(long, default_value_t = 2_000_000)]
    pub seekers: i64,
    #[arg(long, default_value_t = 540)]
    pub offices: i64,
    /// Every n-th job seeker has opened an account (2: half of them).
    #[arg(long, default_value_t = 2)]
    pub account_every: i64,
    /// Live sessions (their IDs are `bench-session-<n>`, n from 0).
    #[arg(long, default_value_t = 100_000)]
    pub sessions: i64,
    /// Attempt log rows of the last hour (apply and login clients, birth-date budgets).
    #[arg(long, default_value_t = 300_000)]
    pub attempts: i64,
}

/// The session cookie value of seeded session `n`.
pub fn session_token(n: i64) -> String {
    format!("bench-session-{n}")
}

/// Family names: kanji, katakana, romaji.
const FAMILY: &[(&str, &str, &str)] = &[
    ("佐藤", "サトウ", "sato"),
    ("鈴木", "スズキ", "suzuki"),
    ("高橋", "タカハシ", "takahashi"),
    ("田中", "タナカ", "tanaka"),
    ("伊藤", "イトウ", "ito"),
    ("渡辺", "ワタナベ", "watanabe"),
    ("山本", "ヤマモト", "yamamoto"),
    ("中村", "ナカムラ", "nakamura"),
    ("小林", "コバヤシ", "kobayashi"),
    ("加藤", "カトウ", "kato"),
    ("吉田", "ヨシダ", "yoshida"),
    ("山田", "ヤマダ", "yamada"),
    ("佐々木", "ササキ", "sasaki"),
    ("山口", "ヤマグチ", "yamaguchi"),
    ("松本", "マツモト", "matsumoto"),
    ("井上", "イノウエ", "inoue"),
    ("木村", "キムラ", "kimura"),
    ("林", "ハヤシ", "hayashi"),
    ("斎藤", "サイトウ", "saito"),
    ("清水", "シミズ", "shimizu"),
    ("山崎", "ヤマザキ", "yamazaki"),
    ("森", "モリ", "mori"),
    ("池田", "イケダ", "ikeda"),
    ("橋本", "ハシモト", "hashimoto"),
    ("阿部", "アベ", "abe"),
    ("石川", "イシカワ", "ishikawa"),
    ("山下", "ヤマシタ", "yamashita"),
    ("中島", "ナカジマ", "nakajima"),
    ("石井", "イシイ", "ishii"),
    ("小川", "オガワ", "ogawa"),
    ("前田", "マエダ", "maeda"),
    ("岡田", "オカダ", "okada"),
    ("長谷川", "ハセガワ", "hasegawa"),
    ("藤田", "フジタ", "fujita"),
    ("後藤", "ゴトウ", "goto"),
    ("近藤", "コンドウ", "kondo"),
    ("村上", "ムラカミ", "murakami"),
    ("遠藤", "エンドウ", "endo"),
    ("青木", "アオキ", "aoki"),
    ("坂本", "サカモト", "sakamoto"),
];

/// Given names: kanji, katakana, romaji.
const GIVEN: &[(&str, &str, &str)] = &[
    ("太郎", "タロウ", "taro"),
    ("花子", "ハナコ", "hanako"),
    ("一郎", "イチロウ", "ichiro"),
    ("陽翔", "ハルト", "haruto"),
    ("結衣", "ユイ", "yui"),
    ("蒼", "アオイ", "aoi"),
    ("美咲", "ミサキ", "misaki"),
    ("大輔", "ダイスケ", "daisuke"),
    ("直子", "ナオコ", "naoko"),
    ("健", "ケン", "ken"),
    ("裕子", "ユウコ", "yuko"),
    ("翔太", "ショウタ", "shota"),
    ("恵", "メグミ", "megumi"),
    ("浩", "ヒロシ", "hiroshi"),
    ("由美", "ユミ", "yumi"),
    ("誠", "マコト", "makoto"),
    ("舞", "マイ", "mai"),
    ("拓也", "タクヤ", "takuya"),
    ("智子", "トモコ", "tomoko"),
    ("隆", "タカシ", "takashi"),
    ("彩", "アヤ", "aya"),
    ("和也", "カズヤ", "kazuya"),
    ("真由美", "マユミ", "mayumi"),
    ("修", "オサム", "osamu"),
    ("久美子", "クミコ", "kumiko"),
    ("大樹", "ダイキ", "daiki"),
    ("陽子", "ヨウコ", "yoko"),
    ("悠真", "ユウマ", "yuma"),
    ("明美", "アケミ", "akemi"),
    ("剛", "ツヨシ", "tsuyoshi"),
];

fn values(list: &[(&str, &str, &str)]) -> String {
    list.iter()
        .enumerate()
        .map(|(k, (kanji, kana, romaji))| format!("({k}, '{kanji}', '{kana}', '{romaji}')"))
        .collect::<Vec<_>>()
        .join(", ")
}

const DAY_MS: i64 = 86_400_000;

/// The statements, in order; `{…}` are filled in by [`statements`].
const STEPS: &[(&str, &str)] = &[
    (
        "offices",
        "INSERT INTO offices (number, name, created_at) \
         SELECT lpad(((i - 1) % 47 + 1)::text, 2, '0') || lpad((((i - 1) / 47) * 10 + 10)::text, 3, '0'), \
           'ハローワーク' || i, {t0} FROM generate_series(1, {offices}) AS i",
    ),
    (
        "job seekers",
        "WITH family(k, kanji, kana, romaji) AS (VALUES {family}), \
              given(k, kanji, kana, romaji) AS (VALUES {given}), \
              office AS (SELECT id, number, row_number() OVER (ORDER BY id) - 1 AS k FROM offices), \
              s AS (SELECT i, (i * 2654435761) % 4294967296 AS h FROM generate_series(1, {seekers}) AS i) \
         INSERT INTO job_seekers (number, name, name_kana, birth_date, office_id, email, email_registered_on, \
           registered_on, valid_until, created_at, updated_at) \
         SELECT o.number || '-' || lpad(((s.i - 1) / {offices} + 1)::text, 8, '0'), \
           f.kanji || ' ' || g.kanji, f.kana || ' ' || g.kana, \
           to_char(date '1956-04-02' + (s.h % 17000)::int, 'YYYY-MM-DD'), o.id, \
           CASE WHEN s.i % 5 <> 0 THEN f.romaji || '.' || g.romaji || s.i || '@' \
             || (ARRAY['example.jp', 'example.ne.jp', 'example.com', 'example.co.jp'])[1 + (s.h / 7) % 4] END, \
           CASE WHEN s.i % 5 <> 0 THEN to_char(date '{today}' - (s.h % 730)::int, 'YYYY-MM-DD') END, \
           to_char(date '{today}' - (s.h % 730)::int, 'YYYY-MM-DD'), \
           to_char(date '{today}' - (s.h % 730)::int + 365, 'YYYY-MM-DD'), \
           {t0} - (s.h % 730) * {day}, {t0} - (s.h % 730) * {day} \
         FROM s JOIN office o ON o.k = (s.i - 1) % {offices} \
           JOIN family f ON f.k = s.h % {family_n} JOIN given g ON g.k = (s.h / {family_n}) % {given_n}",
    ),
    (
        "accounts",
        "INSERT INTO accounts (job_seeker_id, email, password_hash, privacy_version, terms_version, consented_at, \
           lang, created_at, password_changed_at) \
         SELECT id, COALESCE(email, 'seeker' || id || '@example.jp'), '{password_hash}', 1, 1, created_at + {day}, \
           'ja', created_at + {day}, created_at + {day} \
         FROM job_seekers WHERE id % {account_every} = 0",
    ),
    (
        "account codes",
        "INSERT INTO account_codes (job_seeker_id, code_hash, issued_at, expires_at, used_at, issued_by) \
         SELECT js.id, md5(js.id::text || random()::text), js.created_at, js.created_at + 5 * {day}, \
           CASE WHEN js.id % {account_every} = 0 THEN js.created_at + {day} END, 'staff:' || js.office_id \
         FROM job_seekers js",
    ),
    (
        "audit log",
        "INSERT INTO audit_events (at, actor, kind, job_seeker_id, detail, client_addr) \
         SELECT at, actor, kind, job_seeker_id, '', client_addr FROM ( \
           SELECT created_at AS at, 'staff:' || office_id AS actor, 'code.issued' AS kind, id AS job_seeker_id, \
             '192.0.2.' || (office_id % 250 + 1) AS client_addr FROM job_seekers \
           UNION ALL \
           SELECT created_at, 'job_seeker:' || job_seeker_id, 'account.opened', job_seeker_id, \
             '203.0.113.' || (id % 250 + 1) FROM accounts \
           UNION ALL \
           SELECT a.created_at + n * (({t0} - a.created_at) / 4), 'job_seeker:' || a.job_seeker_id, 'login.succeeded', \
             a.job_seeker_id, '198.51.100.' || ((a.id + n) % 250 + 1) \
           FROM accounts a CROSS JOIN generate_series(1, 3) AS n \
         ) AS e ORDER BY at",
    ),
    (
        "mail log",
        "INSERT INTO outbox (kind, to_addr, subject, body, job_seeker_id, created_at, attempts, next_attempt_at, sent_at) \
         SELECT kind, to_addr, '', '', job_seeker_id, at, 1, at, at + 2000 FROM ( \
           SELECT 'auth_key.v1' AS kind, email AS to_addr, job_seeker_id, created_at - 600000 AS at FROM accounts \
           UNION ALL SELECT 'account_opened.v1', email, job_seeker_id, created_at FROM accounts \
           UNION ALL SELECT 'one_time_password.v1', email, job_seeker_id, created_at + ({t0} - created_at) / 2 \
             FROM accounts \
         ) AS m ORDER BY at",
    ),
    (
        "logins",
        "INSERT INTO logins (account_id, at, method, user_agent, client_addr) \
         SELECT a.id, a.created_at + n * (({t0} - a.created_at) / 4), CASE WHEN n = 1 THEN 'otp' ELSE 'remembered' END, \
           'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)', '198.51.100.' || ((a.id + n) % 250 + 1) \
         FROM accounts a CROSS JOIN generate_series(1, 3) AS n ORDER BY 2",
    ),
    (
        "remembered browsers",
        "INSERT INTO remembered_browsers (account_id, token_hash, user_agent, created_at, last_used_at, expires_at) \
         SELECT id, md5(id::text || random()::text), 'iPhone Safari', {t0} - 10 * {day}, {t0} - {day}, \
           {t0} + 80 * {day} FROM accounts WHERE id % 4 = 0",
    ),
    (
        "attempt log",
        "INSERT INTO attempt_log (scope, subject, at) \
         SELECT (ARRAY['apply.client', 'login.client', 'apply.birth_date'])[1 + i % 3], \
           CASE WHEN i % 3 = 2 THEN (SELECT number FROM job_seekers WHERE id = 1 + (i * 7919) % {seekers}) \
             ELSE '10.' || (i % 200) || '.' || (i / 200 % 250) || '.' || (i % 7) END, \
           {t0} - (i * 7) % 3600000 FROM generate_series(CAST(1 AS BIGINT), {attempts}) AS i",
    ),
    (
        "limit subjects",
        "INSERT INTO limit_subjects (scope, subject, touched_at) \
         SELECT scope, subject, MAX(at) FROM attempt_log GROUP BY scope, subject",
    ),
];

fn statements(sizes: &Sizes, t0: i64, today: &str, password_hash: &str) -> Vec<(&'static str, String)> {
    STEPS
        .iter()
        .map(|(name, sql)| {
            let sql = sql
                .replace("{family}", &values(FAMILY))
                .replace("{given}", &values(GIVEN))
                .replace("{family_n}", &FAMILY.len().to_string())
                .replace("{given_n}", &GIVEN.len().to_string())
                .replace("{seekers}", &sizes.seekers.to_string())
                .replace("{offices}", &sizes.offices.to_string())
                .replace("{account_every}", &sizes.account_every.max(1).to_string())
                .replace("{attempts}", &sizes.attempts.to_string())
                .replace("{password_hash}", password_hash)
                .replace("{today}", today)
                .replace("{day}", &format!("CAST({DAY_MS} AS BIGINT)"))
                .replace("{t0}", &t0.to_string());
            (*name, sql)
        })
        .collect()
}

/// Tables the load fills.
const TABLES: &[&str] = &[
    "job_seekers",
    "accounts",
    "account_codes",
    "audit_events",
    "outbox",
    "logins",
    "remembered_browsers",
    "attempt_log",
    "limit_subjects",
    "sessions",
];

pub async fn run(state: &AppState, url: &str, secret: &str, sizes: &Sizes) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut conn = PgConnection::connect(url).await?;
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM job_seekers").fetch_one(&mut conn).await?;
    if existing > 0 {
        anyhow::bail!("the database already has {existing} job seekers; seed a fresh one (dropdb/createdb)");
    }
    // One password for everyone, hashed as the service hashes (argon2id PHC string).
    let password_hash = state.hasher.hash(&Secret::new("bench-password-0000".to_owned())).await?;
    let now = state.now();
    let t0 = now.as_millisecond();
    let today = mypage_domain::jst::to_jst(now).date().to_string();
    conn.execute("SET synchronous_commit = off; SET maintenance_work_mem = '512MB'; SET work_mem = '256MB'").await?;

    // Secondary indexes that no constraint needs, dropped for the load and rebuilt after it.
    let tables: Vec<String> = TABLES.iter().map(|t| (*t).to_owned()).collect();
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.indexname::text, i.indexdef FROM pg_indexes i \
         WHERE i.schemaname = current_schema() AND i.tablename = ANY($1) \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass) \
         ORDER BY i.tablename, i.indexname",
    )
    .bind(&tables)
    .fetch_all(&mut conn)
    .await?;
    for (name, _) in &indexes {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP INDEX {name}"))).execute(&mut conn).await?;
    }

    for (name, sql) in statements(sizes, t0, &today, &password_hash) {
        let step = Instant::now();
        let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await?;
        println!("{name:>20}: {:>9} rows in {:>6.1} s", done.rows_affected(), step.elapsed().as_secs_f64());
    }

    let step = Instant::now();
    let sessions = seed_sessions(state, url, sizes.sessions, t0).await?;
    println!("{:>20}: {sessions:>9} rows in {:>6.1} s", "sessions", step.elapsed().as_secs_f64());

    let step = Instant::now();
    for (_, definition) in &indexes {
        sqlx::raw_sql(sqlx::AssertSqlSafe(definition.clone())).execute(&mut conn).await?;
    }
    println!("{:>20}: {:>9} built in {:>6.1} s", "indexes", indexes.len(), step.elapsed().as_secs_f64());
    let step = Instant::now();
    conn.execute("VACUUM (ANALYZE)").await?;
    println!("{:>20}: {:>9}    in {:>6.1} s", "vacuum analyze", "", step.elapsed().as_secs_f64());

    let size: String =
        sqlx::query_scalar("SELECT pg_size_pretty(pg_database_size(current_database()))").fetch_one(&mut conn).await?;
    println!("seeded in {:.1} s; database size {size}", started.elapsed().as_secs_f64());
    println!("password of every account: bench-password-0000; server secret: the one given ({} chars)", secret.len());
    Ok(())
}

/// Live sessions with real keyed hashes of `bench-session-<n>`, bound to accounts in turn.
async fn seed_sessions(state: &AppState, url: &str, count: i64, t0: i64) -> anyhow::Result<i64> {
    let pool = PgPoolOptions::new().max_connections(2).connect(url).await?;
    let accounts: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM accounts ORDER BY id LIMIT $1").bind(count).fetch_all(&pool).await?;
    if accounts.is_empty() {
        return Ok(0);
    }
    let mut done = 0;
    for chunk in (0..count).collect::<Vec<_>>().chunks(20_000) {
        let hashes: Vec<String> = chunk.iter().map(|n| state.keys.hash(Purpose::Session, &session_token(*n))).collect();
        let owners: Vec<i64> = chunk.iter().map(|n| accounts[*n as usize % accounts.len()]).collect();
        // Idle for half a day rather than 30 minutes, so a later `measure` still finds them live.
        let result = sqlx::query(
            "INSERT INTO sessions (id_hash, csrf_token, account_id, data, created_at, last_seen_at, \
             idle_expires_at, abs_expires_at, realm) \
             SELECT h, md5(h), a, '{}', $3, $3, $3 + 43200000, $3 + 43200000, 'public' \
             FROM unnest($1::text[], $2::bigint[]) AS t(h, a)",
        )
        .bind(&hashes)
        .bind(&owners)
        .bind(t0)
        .execute(&pool)
        .await?;
        done += result.rows_affected() as i64;
    }
    pool.close().await;
    Ok(done)
}
