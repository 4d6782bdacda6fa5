//! Building the application (store, secrets, hashing pool, mail transport) and running it:
//! the HTTP server, the mail worker and periodic maintenance, until a shutdown signal.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mypage_domain::clock::Clock;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Settings;
use crate::drain::{Drain, DrainingListener, Peer};
use crate::hashing::PasswordHasher;
use crate::mail::transport::Transport;
use crate::metrics::Metrics;
use crate::state::{AppState, Shared};
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
    let store = Store::connect(&settings.database_url, settings.db_acquire_timeout).await?;
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
    let node_id = crate::node_id::load_or_create(&settings.data_dir)?;
    let webauthn = crate::flows::passkeys::relying_party(&settings.base_url);
    Ok(AppState::new(Shared {
        webauthn,
        settings: Arc::new(settings),
        store,
        clock,
        keys,
        hasher,
        metrics: Arc::new(Metrics::default()),
        transport: Arc::new(transport),
        mail_wakeup: Arc::new(tokio::sync::Notify::new()),
        node_id: node_id.into(),
        documents: Arc::default(),
    }))
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
    /// The mail worker, when this node runs one.
    pub mail_worker: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting connections, lets in-flight requests and the current send finish within
    /// `grace`, and cuts whatever is left after it (the mail worker gives its claim back itself).
    /// Returns whether everything finished in time.
    pub async fn stop(self, grace: Duration) -> bool {
        let _ = self.shutdown.send(true);
        let deadline = tokio::time::Instant::now() + grace;
        let mut in_time = true;
        let server = self.server;
        tokio::pin!(server);
        if tokio::time::timeout_at(deadline, &mut server).await.is_err() {
            tracing::warn!(grace = ?grace, "requests still running after the shutdown grace; cut");
            server.abort();
            in_time = false;
        }
        if let Some(worker) = self.mail_worker {
            // The worker bounds its own send by the same grace; this margin covers giving back the claim.
            if tokio::time::timeout_at(deadline + Duration::from_secs(2), worker).await.is_err() {
                tracing::warn!("the mail worker did not stop in time");
                in_time = false;
            }
        }
        in_time
    }
}

/// Serves on `listener`. With `workers`, also runs the mail worker and maintenance on this node.
pub async fn start(state: AppState, listener: TcpListener, workers: bool) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    let (shutdown, rx) = watch::channel(false);
    // Connections still open when the grace ends are cut by `Running::stop`; the drain waits no longer.
    let grace = state.settings.shutdown_grace;
    let mut mail_worker = None;
    tokio::spawn(state.store.clone().run_prober(rx.clone()));
    if workers {
        mail_worker = Some(tokio::spawn(mail::worker::run(state.clone(), rx.clone())));
        tokio::spawn(maintenance(state.clone(), rx.clone()));
    }
    // Shutdown drains (see `drain`): queued connections are served, answers say
    // `Connection: close`, and the server ends with its last connection.
    let drain = Arc::new(Drain::default());
    let listener = DrainingListener::new(listener, rx.clone(), drain.clone())?;
    // The edge copies the `Peer` into the `ConnectInfo<SocketAddr>` the handlers read.
    let app = web::router(state, drain.clone()).into_make_service_with_connect_info::<Peer>();
    let mut stop = rx;
    let server = tokio::spawn(async move {
        tokio::select! {
            result = axum::serve(listener, app).into_future() => {
                if let Err(e) = result {
                    tracing::error!(error = %e, "server stopped with an error");
                }
            }
            () = async {
                let _ = stop.wait_for(|s| *s).await;
                drain.finished(grace).await;
            } => {}
        }
    });
    Ok(Running { addr, shutdown, server, mail_worker })
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
        // Ceremonies live minutes; an hour past expiry keeps a replay's refusal explainable.
        if let Err(e) = store::passkeys::purge_ceremonies_before(state.store.pool(), now - 3_600_000).await {
            tracing::warn!(error = %e, "passkey ceremony purge failed");
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
