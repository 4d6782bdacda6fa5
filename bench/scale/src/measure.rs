//! Each step of the request path that does not hash a password, run by `concurrency` tasks at
//! once for `seconds`, through the service's own store and flow functions (its SQL, its pool of
//! 16 connections). Inputs are drawn at random from a sample of seeded job seekers, so the
//! database serves rows from all over its tables, not one hot row.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mypage::flows::limits::{APPLY_FAILURES_PER_CLIENT, BIRTH_DATE_MISMATCHES};
use mypage::flows::staff::{Role, StaffMember};
use mypage::state::AppState;
use mypage::store::{accounts, audit, codes, job_seekers, login, sessions};
use mypage::tokens::Purpose;
use sqlx::postgres::PgPoolOptions;

use crate::Rng;
use crate::seed::session_token;

#[derive(Debug, clap::Args)]
pub struct Load {
    /// Tasks running each step at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Seconds of each step.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Seeded sessions to load (as `seed --sessions`).
    #[arg(long, default_value_t = 100_000)]
    pub sessions: i64,
    /// Only the steps whose name contains this.
    #[arg(long)]
    pub only: Option<String>,
}

/// A seeded job seeker to ask about.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Person {
    id: i64,
    number: String,
    office_id: i64,
    family_kana: String,
    email: Option<String>,
    login_id: Option<String>,
}

struct Sample {
    people: Vec<Person>,
    with_account: Vec<Person>,
    /// The days (JST midnights, ms) the audit log spans.
    first_day_ms: i64,
    days: usize,
    /// Seeded sessions to draw from.
    sessions: usize,
}

type Step = Arc<dyn Fn(AppState, Arc<Sample>, Rng) -> BoxFuture + Send + Sync>;
type BoxFuture = std::pin::Pin<Box<dyn Future<Output = anyhow::Result<usize>> + Send>>;

fn step<F, Fut>(f: F) -> Step
where
    F: Fn(AppState, Arc<Sample>, Rng) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<usize>> + Send + 'static,
{
    Arc::new(move |state, sample, rng| Box::pin(f(state, sample, rng)))
}

fn pick(rng: &mut Rng, list: &[Person]) -> Person {
    list[rng.below(list.len())].clone()
}

fn counter_of(office_id: i64) -> StaffMember {
    StaffMember {
        id: 0,
        login_id: "bench".into(),
        name: "bench".into(),
        role: Role::Counter,
        office_id,
        passkeys_required: false,
    }
}

/// The steps, each one request's worth of queries. Each returns how many rows it got, so a
/// step that silently finds nothing shows as such.
fn steps() -> Vec<(&'static str, Step)> {
    vec![
        (
            "login lookup (account by login ID)",
            step(|state, sample, mut rng| async move {
                let p = pick(&mut rng, &sample.with_account);
                let email = p.login_id.unwrap_or_default();
                Ok(login::find_by_email(state.store.pool(), &email).await?.iter().count())
            }),
        ),
        (
            "apply: limiter (number paused?, client reserved, number decided, client released)",
            step(|state, sample, mut rng| async move {
                let p = pick(&mut rng, &sample.people);
                let client = format!("10.{}.{}.{}", rng.below(250), rng.below(250), rng.below(250));
                if BIRTH_DATE_MISMATCHES.is_full(&state, &p.number).await? {
                    return Ok(0);
                }
                let mut got = 0;
                // As `flows::opening::apply` with a matched birth date: the client's place is
                // taken, the number's budget only needs a free place (nothing is written), and
                // the client's place is given back because the attempt did not count.
                if let Ok(slot) = APPLY_FAILURES_PER_CLIENT.reserve(&state, &client).await? {
                    got += 1;
                    if BIRTH_DATE_MISMATCHES.decide(&state, &p.number, false).await?.is_ok() {
                        got += 1;
                    }
                    slot.release(&state).await?;
                }
                Ok(got)
            }),
        ),
        (
            "apply: lookups (求職番号, account, latest code)",
            step(|state, sample, mut rng| async move {
                let p = pick(&mut rng, &sample.people);
                let pool = state.store.pool();
                let Some(seeker) = job_seekers::find_by_number(pool, &p.number).await? else { return Ok(0) };
                let account = accounts::find_by_job_seeker(pool, seeker.id).await?;
                let code = codes::latest(pool, seeker.id).await?;
                Ok(1 + usize::from(account.is_some()) + usize::from(code.is_some()))
            }),
        ),
        (
            "session load (keyed hash of the cookie, live row)",
            step(|state, sample, mut rng| async move {
                let n = rng.below(sample.sessions) as i64;
                let hash = state.keys.hash(Purpose::Session, &session_token(n));
                let now = mypage::store::ms(state.now());
                Ok(sessions::find_live(state.store.pool(), "public", &hash, now).await?.iter().count())
            }),
        ),
        (
            "staff search: 求職番号 within the office",
            step(|state, sample, mut rng| async move {
                let p = pick(&mut rng, &sample.people);
                let found =
                    job_seekers::search(state.store.pool(), job_seekers::Search::Number(&p.number), Some(p.office_id))
                        .await?;
                Ok(found.len())
            }),
        ),
        (
            "staff search: kana prefix (family name) within the office",
            step(|state, sample, mut rng| async move {
                let p = pick(&mut rng, &sample.people);
                let search = job_seekers::Search::KanaPrefix(&p.family_kana);
                Ok(job_seekers::search(state.store.pool(), search, Some(p.office_id)).await?.len())
            }),
        ),
        (
            "staff search: email within the office",
            step(|state, sample, mut rng| async move {
                let p = pick(&mut rng, &sample.with_account);
                let email = if rng.below(2) == 0 { p.login_id } else { p.email.or(p.login_id) };
                let email = email.unwrap_or_default();
                let search = job_seekers::Search::Email(&email);
                Ok(job_seekers::search(state.store.pool(), search, Some(p.office_id)).await?.len())
            }),
        ),
        (
            "job seeker page (seeker, office, code, account, login state, mail, events)",
            step(|state, sample, mut rng| async move {
                let p = pick(&mut rng, &sample.people);
                let view = mypage::flows::console::view(&state, &counter_of(p.office_id), p.id)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok(view.map(|v| 1 + v.mails.len() + v.events.len()).unwrap_or(0))
            }),
        ),
        (
            "audit log: newest page, no filter",
            step(|state, _sample, _rng| async move {
                Ok(audit::search(state.store.pool(), &audit::Filter::default()).await?.events.len())
            }),
        ),
        (
            "audit log: one job seeker (求職番号 filter)",
            step(|state, sample, mut rng| async move {
                let p = pick(&mut rng, &sample.people);
                let filter = audit::Filter { job_seeker_id: Some(p.id), ..Default::default() };
                Ok(audit::search(state.store.pool(), &filter).await?.events.len())
            }),
        ),
        (
            "audit log: kind + one day",
            step(|state, sample, mut rng| async move {
                let day = sample.first_day_ms + rng.below(sample.days) as i64 * 86_400_000;
                let kind = ["login.succeeded", "code.issued", "account.opened"][rng.below(3)];
                let filter = audit::Filter {
                    kind: Some(kind),
                    from_ms: Some(day),
                    to_ms: Some(day + 86_400_000),
                    ..Default::default()
                };
                Ok(audit::search(state.store.pool(), &filter).await?.events.len())
            }),
        ),
        (
            "audit log: kind, pages 1-5 (each page timed as one)",
            step(|state, _sample, mut rng| async move {
                // Five page requests in a row; the step's time is per page (see `run_step`).
                let kind = ["login.succeeded", "code.issued", "account.opened"][rng.below(3)];
                let mut filter = audit::Filter { kind: Some(kind), ..Default::default() };
                let mut rows = 0;
                for _ in 0..5 {
                    let page = audit::search(state.store.pool(), &filter).await?;
                    rows += page.events.len();
                    let Some(older) = page.older else { break };
                    filter.before = Some(older);
                }
                Ok(rows)
            }),
        ),
    ]
}

pub async fn run(state: &AppState, url: &str, load: &Load) -> anyhow::Result<()> {
    let sample = Arc::new(sample(url, usize::try_from(load.sessions).unwrap_or(1).max(1)).await?);
    println!(
        "{} job seekers sampled ({} with an account); {} tasks per step, {} s each, pool of 16 connections",
        sample.people.len(),
        sample.with_account.len(),
        load.concurrency,
        load.seconds
    );
    println!("| step | requests | req/s | p50 ms | p99 ms | max ms | rows/request |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (name, f) in steps() {
        if load.only.as_deref().is_some_and(|only| !name.contains(only)) {
            continue;
        }
        let pages = if name.contains("pages 1-5") { 5 } else { 1 };
        let stats = run_step(state, &sample, f, load, pages).await?;
        println!(
            "| {name} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} |",
            stats.count,
            stats.count as f64 / load.seconds as f64,
            ms(stats.p50),
            ms(stats.p99),
            ms(stats.max),
            stats.rows as f64 / stats.count.max(1) as f64
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Stats {
    count: usize,
    rows: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

/// Runs `f` from `concurrency` tasks until the time is up; every call's latency (divided by
/// `per_call` requests when one call makes several) goes into one distribution.
async fn run_step(
    state: &AppState,
    sample: &Arc<Sample>,
    f: Step,
    load: &Load,
    per_call: u32,
) -> anyhow::Result<Stats> {
    // A short warm-up so the first connections and plans are not measured.
    let warm_until = Instant::now() + Duration::from_millis(500);
    let mut warm = Rng::new(7);
    while Instant::now() < warm_until {
        f(state.clone(), sample.clone(), Rng::new(warm.next_u64())).await?;
    }
    let deadline = Instant::now() + Duration::from_secs(load.seconds);
    let mut tasks = Vec::new();
    for t in 0..load.concurrency {
        let (state, sample, f) = (state.clone(), sample.clone(), f.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(0x5EED + t as u64);
            let mut latencies = Vec::new();
            let mut rows = 0;
            while Instant::now() < deadline {
                let started = Instant::now();
                rows += f(state.clone(), sample.clone(), Rng::new(rng.next_u64())).await?;
                latencies.push(started.elapsed() / per_call);
            }
            anyhow::Ok((latencies, rows))
        }));
    }
    let mut all = Vec::new();
    let mut rows = 0;
    for task in tasks {
        let (latencies, r) = task.await??;
        all.extend(latencies);
        rows += r;
    }
    all.sort_unstable();
    let at = |q: f64| all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1))).copied();
    Ok(Stats {
        count: all.len() * per_call as usize,
        rows,
        p50: at(0.50).unwrap_or_default(),
        p99: at(0.99).unwrap_or_default(),
        max: all.last().copied().unwrap_or_default(),
    })
}

/// 20,000 job seekers at random (half of them with an account), and the audit log's span.
async fn sample(url: &str, sessions: usize) -> anyhow::Result<Sample> {
    let pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
    let people: Vec<Person> = sqlx::query_as(
        "SELECT js.id, js.number, js.office_id, split_part(js.name_kana, ' ', 1) AS family_kana, js.email, \
         a.email AS login_id FROM job_seekers js TABLESAMPLE SYSTEM (2) LEFT JOIN accounts a ON a.job_seeker_id = js.id \
         LIMIT 20000",
    )
    .fetch_all(&pool)
    .await?;
    if people.is_empty() {
        anyhow::bail!("no job seekers: run `bench-scale seed` first");
    }
    let with_account: Vec<Person> = people.iter().filter(|p| p.login_id.is_some()).cloned().collect();
    if with_account.is_empty() {
        anyhow::bail!("no accounts in the sample: seed with accounts");
    }
    let (min_at, max_at): (Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT MIN(at), MAX(at) FROM audit_events").fetch_one(&pool).await?;
    let (min_at, max_at) = (min_at.unwrap_or(0), max_at.unwrap_or(0));
    let first_day_ms = min_at - min_at.rem_euclid(86_400_000);
    let days = usize::try_from((max_at - first_day_ms) / 86_400_000 + 1).unwrap_or(1);
    pool.close().await;
    Ok(Sample { people, with_account, first_day_ms, days, sessions })
}
