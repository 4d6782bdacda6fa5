//! `bench-scale`: a country's job seekers on one PostgreSQL database, and how fast the request
//! path's queries are on it.
//!
//! `seed` fills a fresh database (migrated by the service's own code, with the given server
//! secret) set-based: offices, job seekers, opened accounts, codes, the audit log, the mail log,
//! logins, remembered browsers, live sessions and a busy hour of the attempt log. `measure` runs
//! each request-path step that does not hash a password through the service's own store and flow
//! functions from many tasks at once and reports p50/p99 per step.

mod measure;
mod seed;

use std::sync::Arc;

use clap::{Parser, Subcommand};
use mypage::config::{DatabaseUrl, Layers, MailTransport, Secret};
use mypage::state::AppState;
use mypage_domain::clock::SystemClock;

#[derive(Parser)]
#[command(name = "bench-scale", about = "Seed PostgreSQL at national scale and measure the request path on it")]
struct Cli {
    /// A PostgreSQL database for the benchmark alone (seed refuses one that has job seekers).
    #[arg(long, env = "BENCH_DATABASE_URL")]
    database_url: String,
    /// The server secret (≥ 32 characters) the service will run with: session hashes are keyed with it.
    #[arg(long, env = "MYPAGE_SECRET")]
    secret: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fill the database.
    Seed(seed::Sizes),
    /// Measure every step that does not hash, under concurrent load.
    Measure(measure::Load),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if cli.secret.len() < 32 {
        anyhow::bail!("--secret (MYPAGE_SECRET) must be at least 32 characters");
    }
    if !cli.database_url.starts_with("postgres") {
        anyhow::bail!("--database-url must be a postgres:// URL (the benchmark is for PostgreSQL)");
    }
    let state = app_state(&cli.database_url, &cli.secret).await?;
    match cli.command {
        Command::Seed(sizes) => seed::run(&state, &cli.database_url, &cli.secret, &sizes).await,
        Command::Measure(load) => measure::run(&state, &cli.database_url, &load).await,
    }
}

/// The service's own state on the database: migrated, its documents published, the secret's
/// fingerprint recorded, so the seeded database is one `mypage serve` runs on with this secret.
async fn app_state(database_url: &str, secret: &str) -> anyhow::Result<AppState> {
    let mut settings = Layers::defaults().settings()?;
    settings.database_url = DatabaseUrl::new(database_url);
    settings.secret = Some(Secret(secret.to_owned()));
    let dir = std::env::temp_dir().join("mypage-bench-scale");
    settings.data_dir = dir.clone();
    settings.mail = MailTransport::File(dir.join("mail"));
    mypage::startup::build_state(settings, Arc::new(SystemClock)).await
}

/// A fast deterministic generator for picking samples (splitmix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}
