//! `mypage`: the one binary operators run. Its commands are an interface scripts rely on: exit 0
//! on success, non-zero with a one-line reason on stderr otherwise.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use mypage::config::{Layers, LogFormat, Settings};
use mypage::flows::codes::{self, IssueRefusal};
use mypage::flows::registry::{self, AddOffice, OfficeNumber};
use mypage::flows::staff::{self, CreateRefusal, Role};
use mypage::flows::staff_lock;
use mypage::i18n::{Lang, catalog};
use mypage::import::{self, RowOutcome};
use mypage::state::AppState;
use mypage::{startup, store};
use mypage_domain::clock::SystemClock;
use mypage_domain::job_seeker_number::JobSeekerNumber;
use mypage_domain::jst;

#[derive(Parser)]
#[command(name = "mypage", version, about = "求職者マイページ: the job-seeker account service")]
struct Cli {
    /// A TOML file of settings (names as in MYPAGE_*, lower case, without the prefix).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Overrides MYPAGE_DATABASE_URL.
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve {
        /// Overrides MYPAGE_BIND.
        #[arg(long)]
        bind: Option<String>,
    },
    /// Run on a fresh SQLite database (or the empty PostgreSQL one given with --database-url)
    /// with a demo office and job seeker; mail goes to files.
    Demo {
        #[arg(long)]
        bind: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Copy the live SQLite database into a new FILE (mode 0600); PostgreSQL: use pg_dump.
    Backup {
        /// Where to write the copy; must not exist yet.
        file: PathBuf,
    },
    /// Offices (安定所).
    Offices {
        #[command(subcommand)]
        command: OfficesCommand,
    },
    /// Job seekers registered at the counter.
    Seekers {
        #[command(subcommand)]
        command: SeekersCommand,
    },
    /// Account creation codes.
    Code {
        #[command(subcommand)]
        command: CodeCommand,
    },
    /// Staff administrators.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Staff members.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Lift a staff member's password lock (and clear the failure count).
    Unlock {
        /// The staff ID.
        id: String,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin; prints a one-time password and the TOTP otpauth:// URL.
    Create {
        /// The staff ID to log in with (3–32 of a-z 0-9 . _ -).
        #[arg(long)]
        id: String,
        /// The admin's office number (5 digits).
        #[arg(long)]
        office: String,
        /// Print `{"password": ..., "otpauth_url": ...}`.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum OfficesCommand {
    /// Add an office: `offices add --number 01010 --name ハローワーク釧路 [--notice TEXT]`.
    Add {
        #[arg(long)]
        number: String,
        #[arg(long)]
        name: String,
        /// Printed on the code slips (e.g. the office's Wi-Fi).
        #[arg(long)]
        notice: Option<String>,
    },
}

#[derive(Subcommand)]
enum SeekersCommand {
    /// Import job seekers from CSV (UTF-8 or Shift_JIS); prints a per-row report.
    Import { file: PathBuf },
}

#[derive(Subcommand)]
enum CodeCommand {
    /// Issue an account creation code (voids earlier unused codes).
    Issue {
        /// 求職番号, e.g. 60049-58004503.
        number: String,
        /// Print `{"code": "...", "expires_at": "<RFC 3339>"}`.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("{e:#}")),
    }
}

fn fail(reason: &str) -> ExitCode {
    eprintln!("mypage: {}", reason.replace('\n', " "));
    ExitCode::FAILURE
}

fn settings(cli: &Cli, bind: Option<&String>) -> anyhow::Result<Settings> {
    let mut layers = Layers::load(cli.config.as_deref(), std::env::vars())?;
    if let Some(url) = &cli.database_url {
        layers.set_flag("database_url", url.clone());
    }
    if let Some(bind) = bind {
        layers.set_flag("bind", bind.clone());
    }
    Ok(layers.settings()?)
}

fn init_logging(format: LogFormat) {
    let builder = tracing_subscriber::fmt().with_max_level(tracing::Level::INFO).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

async fn state_for(settings: Settings) -> anyhow::Result<AppState> {
    startup::build_state(settings, Arc::new(SystemClock)).await
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Serve { bind } => {
            let settings = settings(&cli, bind.as_ref())?;
            init_logging(settings.log);
            serve(state_for(settings).await?).await
        }
        Command::Demo { bind } => {
            let mut settings = settings(&cli, bind.as_ref())?;
            init_logging(settings.log);
            // An explicit PostgreSQL URL (an empty database, e.g. for the bench) is used as given.
            let keep_database = cli.database_url.is_some() && !settings.database_url.is_sqlite();
            demo(&mut settings, keep_database).await
        }
        Command::Migrate => {
            let settings = settings(&cli, None)?;
            let store = store::Store::connect(&settings.database_url, settings.db_acquire_timeout).await?;
            store.migrate().await?;
            println!("migrations applied to {}", settings.database_url.redacted());
            Ok(())
        }
        Command::Backup { file } => {
            let settings = settings(&cli, None)?;
            let copy = mypage::backup::backup(&settings.database_url, file).await?;
            println!(
                "backup of {} written to {} ({} bytes, integrity ok)",
                settings.database_url.redacted(),
                copy.file.display(),
                copy.bytes
            );
            Ok(())
        }
        Command::Offices { command: OfficesCommand::Add { number, name, notice } } => {
            let state = state_for(settings(&cli, None)?).await?;
            let number = OfficeNumber::parse(number).map_err(anyhow::Error::msg)?;
            match registry::add_office(&state, &number, name.trim(), notice.as_deref(), "cli").await? {
                AddOffice::Added(_) => println!("office {} {} added", number.as_str(), name.trim()),
                AddOffice::NumberTaken => anyhow::bail!("office {} already exists", number.as_str()),
            }
            Ok(())
        }
        Command::Seekers { command: SeekersCommand::Import { file } } => {
            let state = state_for(settings(&cli, None)?).await?;
            let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let report = import::import(&state, &bytes, "cli", None).await?;
            print_report(&report);
            Ok(())
        }
        Command::Admin { command: AdminCommand::Create { id, office, json } } => {
            let state = state_for(settings(&cli, None)?).await?;
            create_admin(&state, id, office, *json).await
        }
        Command::Staff { command: StaffCommand::Unlock { id } } => {
            let state = state_for(settings(&cli, None)?).await?;
            if !staff_lock::unlock_login_id(&state, id, "cli").await? {
                anyhow::bail!("no staff member with staff ID {id:?}");
            }
            println!("staff {id} unlocked");
            Ok(())
        }
        Command::Code { command: CodeCommand::Issue { number, json } } => {
            let state = state_for(settings(&cli, None)?).await?;
            let number = JobSeekerNumber::parse(number)
                .map_err(|_| anyhow::anyhow!("{number:?} is not a 求職番号 (5 digits, a hyphen, 1 to 8 digits)"))?;
            match codes::issue(&state, &number, "cli", None).await? {
                Ok(issued) => {
                    if *json {
                        let out = serde_json::json!({
                            "code": issued.code.as_str(),
                            "expires_at": issued.expires_at.to_string(),
                        });
                        println!("{out}");
                    } else {
                        println!("{}", issued.code.grouped());
                        println!("{}まで有効", jst::format_ja_datetime(issued.expires_at));
                    }
                    Ok(())
                }
                Err(IssueRefusal::UnknownJobSeeker) => anyhow::bail!("no job seeker with 求職番号 {}", number.as_str()),
                Err(IssueRefusal::AlreadyOpened) => {
                    anyhow::bail!("the job seeker {} has already opened an account", number.as_str())
                }
            }
        }
    }
}

async fn create_admin(state: &AppState, id: &str, office: &str, json: bool) -> anyhow::Result<()> {
    let office = OfficeNumber::parse(office).map_err(anyhow::Error::msg)?;
    match staff::create(state, id, id, Role::Admin, office.as_str(), "cli").await? {
        Ok(credentials) => {
            // The operator of this command is the admin being created: the one person who may
            // see the TOTP secret besides the enrolment page (SPEC §7).
            let otpauth_url = staff::enrolment_url(state, credentials.staff_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the new admin's TOTP secret cannot be read"))?;
            if json {
                let out = serde_json::json!({
                    "password": credentials.password.expose(),
                    "otpauth_url": otpauth_url,
                });
                println!("{out}");
            } else {
                println!("staff ID:           {id}");
                println!("one-time password:  {}", credentials.password.expose());
                println!("TOTP (add to an authenticator app; also shown as a QR code at first login):");
                println!("  {otpauth_url}");
                println!("Log in at /staff/login; the password must be changed at first login.");
            }
            Ok(())
        }
        Err(CreateRefusal::BadLoginId) => anyhow::bail!("{id:?} is not a staff ID (3–32 of a-z 0-9 . _ -)"),
        Err(CreateRefusal::LoginIdTaken) => anyhow::bail!("staff ID {id} already exists"),
        Err(CreateRefusal::UnknownOffice) => {
            anyhow::bail!("office {} does not exist (add it with `mypage offices add`)", office.as_str())
        }
    }
}

fn print_report(report: &import::ImportReport) {
    let t = catalog(Lang::Ja);
    for row in &report.rows {
        let line = match &row.outcome {
            RowOutcome::Added => t.get("import.outcome.added"),
            RowOutcome::Updated => t.get("import.outcome.updated"),
            RowOutcome::Unchanged => t.get("import.outcome.unchanged"),
            RowOutcome::Refused(problems) => format!(
                "{}: {}",
                t.get("import.outcome.refused"),
                problems.iter().map(|p| t.get(p.key())).collect::<Vec<_>>().join("、")
            ),
        };
        println!("line {}\t{}\t{}", row.line, row.number, line);
    }
    println!(
        "added {}, updated {}, unchanged {}, refused {}",
        report.count(|o| *o == RowOutcome::Added),
        report.count(|o| *o == RowOutcome::Updated),
        report.count(|o| *o == RowOutcome::Unchanged),
        report.count(|o| matches!(o, RowOutcome::Refused(_))),
    );
}

async fn serve(state: AppState) -> anyhow::Result<()> {
    let bind = state.settings.bind;
    tracing::info!(
        bind = %bind,
        base_url = state.settings.base_url.as_str(),
        database = %state.settings.database_url.redacted(),
        mail = ?state.settings.mail,
        "mypage serving"
    );
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e} (set MYPAGE_BIND or --bind)"))?;
    let running = startup::start(state.clone(), listener, true).await?;
    startup::shutdown_signal().await;
    let grace = state.settings.shutdown_grace;
    tracing::info!(grace = ?grace, "shutting down: no new connections; finishing requests and the current mail");
    if running.stop(grace).await {
        tracing::info!("stopped");
    }
    state.store.close().await;
    Ok(())
}

/// The demo: a fresh database under `data/demo/` (or the empty PostgreSQL database given with
/// `--database-url`), one office and one job seeker with a code.
async fn demo(settings: &mut Settings, keep_database: bool) -> anyhow::Result<()> {
    let dir = settings.data_dir.join("demo");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    mypage::private_fs::create_dir(&dir)?;
    if !keep_database {
        settings.database_url =
            mypage::config::DatabaseUrl::new(format!("sqlite://{}", dir.join("mypage.db").display()));
    }
    settings.mail = mypage::config::MailTransport::File(dir.join("mail"));
    // Links in mail and the QR code should reach this demo even when it listens elsewhere.
    if settings.base_url.as_str() == "http://localhost:8080" {
        settings.base_url = mypage::config::BaseUrl::parse(&format!("http://localhost:{}", settings.bind.port()))
            .map_err(anyhow::Error::msg)?;
    }
    let state = state_for(settings.clone()).await?;
    let number = OfficeNumber::parse("01010").map_err(anyhow::Error::msg)?;
    let notice = "ハローワーク釧路内では Free WiFi が使えます → kushiro_anteisyo (パスワード:86098609)";
    registry::add_office(&state, &number, "ハローワーク釧路", Some(notice), "demo").await?;
    let csv = "job_seeker_number,name,name_kana,birth_date,office_number,email,email_registered_on\n\
               60049-58004503,釧路 太郎,クシロ タロウ,1990-04-15,01010,,\n\
               01010-2024,根室 花子,ネムロ ハナコ,1985-01-02,01010,hanako@example.jp,2026-03-01\n";
    import::import(&state, csv.as_bytes(), "demo", None).await?;
    let seeker = JobSeekerNumber::parse("60049-58004503").map_err(|e| anyhow::anyhow!("{e}"))?;
    let admin = staff::create(&state, "admin", "admin", Role::Admin, "01010", "demo")
        .await?
        .map_err(|e| anyhow::anyhow!("demo admin not created: {e:?}"))?;
    let admin_totp = staff::enrolment_url(&state, admin.staff_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo admin's TOTP secret cannot be read"))?;
    let issued = codes::issue(&state, &seeker, "demo", None)
        .await?
        .map_err(|e| anyhow::anyhow!("demo code not issued: {e:?}"))?;
    println!("求職者マイページ demo");
    println!("  URL:                    {}", state.settings.base_url.as_str());
    println!("  求職番号:               {}", seeker.as_str());
    println!("  生年月日:               1990-04-15 (1990年4月15日)");
    println!("  アカウント作成コード:   {}", issued.code.grouped());
    println!("  有効期限:               {}まで", jst::format_ja_datetime(issued.expires_at));
    println!("  mail (auth keys) in:    {}", dir.join("mail").display());
    println!("Staff console {}/staff/login:", state.settings.base_url.as_str());
    println!("  staff ID:               admin");
    println!("  one-time password:      {}", admin.password.expose());
    println!("  TOTP:                   {admin_totp}");
    println!("Registered before the cutoff, no account yet (opens via 「パスワードをお忘れの方」):");
    println!("  メールアドレス:         hanako@example.jp");
    println!("  求職番号:               01010-2024");
    println!("  生年月日:               1985-01-02 (1985年1月2日)");
    println!("Press Ctrl-C to stop.");
    serve(state).await
}
