//! Building the application (store, secrets, hashing pool, mail transport) and running it:
//! the HTTP server, the mail worker and periodic maintenance, until a shutdown signal.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mypage_domain::clock::Clock;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Settings;
use crate::hashing::PasswordHasher;
use crate::mail::transport::Transport;
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::store::{self, Store, attempts, documents, recovery_requests, server_facts, sessions};
use crate::tokens::Keys;
use crate::{mail, web};

/// The documents that ship with the product, inserted as version 1 on first start.
const FIRST_DOCUMENTS: &[(&str, &str)] =
    &[("privacy", include_str!("../content/privacy.v1.txt")), ("terms", include_str!("../content/terms.v1.txt"))];

/// Connects, migrates, seeds the first documents and assembles the state.
pub async fn build_state(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
    // A catalog that does not parse would show every text as missing: refuse to start instead.
    crate::i18n::I18n::load().map_err(|e| anyhow::anyhow!("message catalog: {e}"))?;
    let store = Store::connect(&settings.database_url).await?;
    store.migrate().await?;
    let now = store::ms(clock.now());
    for (kind, text) in FIRST_DOCUMENTS {
        let (title, body) = text.split_once('\n').unwrap_or((text, ""));
        documents::insert_first(store.pool(), kind, title.trim(), body.trim(), now).await?;
    }
    let keys = match &settings.secret {
        Some(secret) => Keys::from_secret(&secret.0),
        None => Keys::load_or_create(&settings.data_dir)?,
    };
    check_secret(&store, &keys).await?;
    let store = store.with_outbox_sealer(keys.sealer(mail::OUTBOX_SEAL_LABEL));
    let hasher = PasswordHasher::new(settings.hash_workers, settings.hash_queue)?;
    let transport = Transport::new(&settings.mail)?;
    Ok(AppState {
        settings: Arc::new(settings),
        store,
        clock,
        keys,
        hasher,
        metrics: Arc::new(Metrics::default()),
        transport: Arc::new(transport),
        mail_wakeup: Arc::new(tokio::sync::Notify::new()),
    })
}

/// Refuses to run with a server secret other than the one the database was first used with:
/// codes, sessions and TOTP secrets made by one node would fail on another, without a word.
async fn check_secret(store: &Store, keys: &Keys) -> anyhow::Result<()> {
    let mine = keys.fingerprint();
    server_facts::insert_if_absent(store.pool(), server_facts::SECRET_FINGERPRINT, &mine).await?;
    let recorded = server_facts::get(store.pool(), server_facts::SECRET_FINGERPRINT).await?;
    if recorded.as_deref() != Some(mine.as_str()) {
        anyhow::bail!(
            "MYPAGE_SECRET: this node's server secret differs from the one this database was first used with; \
             set the same MYPAGE_SECRET on every node (a node without it uses secret.key in its MYPAGE_DATA_DIR)"
        );
    }
    Ok(())
}

/// A running server; dropping the shutdown sender (or sending `true`) stops it.
pub struct Running {
    pub addr: SocketAddr,
    pub shutdown: watch::Sender<bool>,
    pub server: tokio::task::JoinHandle<()>,
}

/// Serves on `listener`. With `workers`, also runs the mail worker and maintenance on this node.
pub async fn start(state: AppState, listener: TcpListener, workers: bool) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    let (shutdown, rx) = watch::channel(false);
    if workers {
        tokio::spawn(mail::worker::run(state.clone(), rx.clone()));
        tokio::spawn(maintenance(state.clone(), rx.clone()));
    }
    let app = web::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let mut stop = rx;
    let server = tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "server stopped with an error");
        }
    });
    Ok(Running { addr, shutdown, server })
}

/// Purges expired sessions, old attempt-log rows and old recovery requests every few minutes.
async fn maintenance(state: AppState, mut shutdown: watch::Receiver<bool>) {
    loop {
        let now = store::ms(state.now());
        let keep = Duration::from_secs(2 * 24 * 3600).as_millis() as i64;
        if let Err(e) = sessions::purge_expired(state.store.pool(), now).await {
            tracing::warn!(error = %e, "session purge failed");
        }
        if let Err(e) = attempts::purge_before(state.store.pool(), now - keep).await {
            tracing::warn!(error = %e, "attempt log purge failed");
        }
        if let Err(e) = recovery_requests::purge_before(state.store.pool(), now - keep).await {
            tracing::warn!(error = %e, "recovery request purge failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(300)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
