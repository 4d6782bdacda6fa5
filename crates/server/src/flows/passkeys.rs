//! Passkeys (WebAuthn) of job seekers: adding one in アカウント設定, logging in with a
//! discoverable one, removing one (the holder, the counter, or the account's disabling).
//!
//! A ceremony's state is kept in the database only (`store::passkeys`), bound to the browser's
//! session or pre-session and taken by one guarded statement: any node finishes a ceremony
//! another began, no other browser can, and nobody finishes it twice. A login counts against
//! the same per-client failure budget as a password.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url,
    Uuid, WebauthnError,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use super::FlowError;
use super::login::{LOGIN_FAILURES_PER_CLIENT, Origin};
use crate::config::BaseUrl;
use crate::i18n::Lang;
use crate::mail::{self, Message};
use crate::state::AppState;
use crate::store::passkeys::{self as store_passkeys, NewCeremony, NewPasskey, Purpose};
use crate::store::{self, audit, login};
use crate::tokens::{self, Purpose as KeyPurpose};

/// How long a ceremony may take: the browser's own timeout, with a little to spare.
pub const CEREMONY_TTL: Duration = Duration::from_secs(5 * 60);
/// The longest name a passkey can be given.
pub const NAME_MAX_CHARS: usize = 40;
/// What the product calls itself to the authenticator (shown beside the passkey).
pub const RP_NAME: &str = "ハローワーク 求職者マイページ";

/// The relying party of `base_url`: its host is the RP ID, its origin the only one accepted.
/// `None` where WebAuthn cannot work (an IP address is no valid RP ID): passkeys are then not
/// offered at all.
pub fn relying_party(base_url: &BaseUrl) -> Option<Arc<Webauthn>> {
    let origin = Url::parse(base_url.origin()).ok()?;
    let rp_id = origin.domain()?.to_owned();
    match WebauthnBuilder::new(&rp_id, &origin).and_then(|b| b.rp_name(RP_NAME).build()) {
        Ok(webauthn) => Some(Arc::new(webauthn)),
        Err(e) => {
            tracing::warn!(error = %e, "passkeys are off: the base URL is not a valid relying party");
            None
        }
    }
}

/// A ceremony begun: the ID the browser carries back, and the options for
/// `navigator.credentials.create/get` as JSON.
#[derive(Debug)]
pub struct Begun {
    pub ceremony: String,
    pub options: serde_json::Value,
}

pub(crate) fn webauthn(state: &AppState) -> Result<&Webauthn, FlowError> {
    state.webauthn.as_deref().ok_or_else(|| FlowError::Webauthn("passkeys are not available".into()))
}

pub(crate) fn serial<T: serde::Serialize>(value: &T) -> Result<String, FlowError> {
    serde_json::to_string(value).map_err(|e| FlowError::Store(store::StoreError::Corrupt(e.to_string())))
}

pub(crate) fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, FlowError> {
    serde_json::from_str(json).map_err(|e| FlowError::Store(store::StoreError::Corrupt(e.to_string())))
}

async fn store_ceremony(
    state: &AppState,
    purpose: Purpose,
    binding: &str,
    account_id: Option<i64>,
    name: &str,
    ceremony_state: &str,
) -> Result<String, FlowError> {
    let ceremony = tokens::random_token()?;
    let now = state.now();
    let id_hash = state.keys.hash(KeyPurpose::Ceremony, &ceremony);
    let row = NewCeremony {
        id_hash: &id_hash,
        purpose,
        binding,
        account_id,
        name,
        state: ceremony_state,
        created_at: store::ms(now),
        expires_at: store::ms(now + CEREMONY_TTL),
    };
    store_passkeys::insert_ceremony(state.store.pool(), &row).await?;
    Ok(ceremony)
}

/// The audit event of a ceremony, in its own statement (a refused ceremony writes nothing else).
async fn record(
    state: &AppState,
    job_seeker_id: Option<i64>,
    kind: &str,
    detail: &str,
    origin: &Origin<'_>,
) -> Result<(), FlowError> {
    let actor = job_seeker_id.map_or_else(|| "anonymous".to_owned(), |id| format!("job_seeker:{id}"));
    let event = audit::Event { actor: &actor, kind, job_seeker_id, detail, client_addr: Some(origin.client) };
    audit::record(state.store.pool(), &event, store::ms(state.now())).await?;
    Ok(())
}

/// Begins adding a passkey called `name` to the account. Its user handle is the one its other
/// passkeys carry (one per account), or a new random one: it says nothing about the account.
pub async fn begin_registration(
    state: &AppState,
    account_id: i64,
    email: &str,
    binding: &str,
    name: &str,
) -> Result<Begun, FlowError> {
    let pool = state.store.pool();
    let handle = store_passkeys::user_handle(pool, account_id).await?;
    let states = store_passkeys::passkey_states(pool, account_id).await?;
    let (options, kept) = start_registration(state, handle, &states, email)?;
    let ceremony = store_ceremony(state, Purpose::Register, binding, Some(account_id), name, &kept).await?;
    Ok(Begun { ceremony, options })
}

/// The options of a new registration for an owner (a job seeker's account or a staff member),
/// and the state to keep until it is finished: the owner's user handle (or a new random one:
/// it says nothing about the owner), with their passkeys excluded.
pub(crate) fn start_registration(
    state: &AppState,
    handle: Option<String>,
    passkey_states: &[String],
    user_name: &str,
) -> Result<(serde_json::Value, String), FlowError> {
    let webauthn = webauthn(state)?;
    let handle = match handle {
        Some(handle) => handle,
        None => URL_SAFE_NO_PAD.encode(random_uuid()?.as_bytes()),
    };
    let uuid = uuid_of(&handle).ok_or_else(|| FlowError::Store(store::StoreError::Corrupt("user handle".into())))?;
    let existing: Vec<Passkey> = passkey_states.iter().filter_map(|j| parse(j).ok()).collect();
    let exclude = existing.iter().map(|p| p.cred_id().clone()).collect::<Vec<_>>();
    let (options, registration) = webauthn
        .start_passkey_registration(uuid, user_name, user_name, Some(exclude))
        .map_err(|e| FlowError::Webauthn(e.to_string()))?;
    let mut options = serde_json::to_value(&options).map_err(|e| FlowError::Webauthn(e.to_string()))?;
    // Login is by discoverable credential (no credential named first), so the authenticator must
    // keep it; the verification does not depend on this hint.
    if let Some(selection) = options.pointer_mut("/publicKey/authenticatorSelection") {
        selection["residentKey"] = "required".into();
        selection["requireResidentKey"] = true.into();
    }
    Ok((options, serial(&(handle, registration))?))
}

#[derive(Debug, PartialEq, Eq)]
pub enum Registered {
    Added {
        name: String,
    },
    /// The ceremony is used, expired, another browser's, or the authenticator's answer does not
    /// verify.
    Refused,
    /// This authenticator's passkey is already registered.
    Duplicate,
}

/// Finishes adding a passkey: verified, stored, audited, and its owner told by mail.
pub async fn finish_registration(
    state: &AppState,
    account_id: i64,
    binding: &str,
    ceremony: &str,
    credential: &str,
    origin: &Origin<'_>,
) -> Result<Registered, FlowError> {
    let webauthn = webauthn(state)?;
    let pool = state.store.pool();
    let Some(account) = login::find_by_id(pool, account_id).await? else { return Ok(Registered::Refused) };
    let seeker = Some(account.job_seeker_id);
    let now = state.now();
    let id_hash = state.keys.hash(KeyPurpose::Ceremony, ceremony);
    let taken = store_passkeys::take_ceremony(pool, &id_hash, Purpose::Register, binding, store::ms(now)).await?;
    let Some(taken) = taken.filter(|t| t.account_id == Some(account_id)) else {
        record(state, seeker, "passkey.add_refused", "ceremony used, expired or not this browser's", origin).await?;
        return Ok(Registered::Refused);
    };
    let (handle, registration): (String, PasskeyRegistration) = parse(&taken.state)?;
    let verified = serde_json::from_str::<RegisterPublicKeyCredential>(credential)
        .map_err(|e| e.to_string())
        .and_then(|reg| webauthn.finish_passkey_registration(&reg, &registration).map_err(|e| e.to_string()));
    let passkey = match verified {
        Ok(passkey) => passkey,
        Err(reason) => {
            record(state, seeker, "passkey.add_refused", &reason, origin).await?;
            return Ok(Registered::Refused);
        }
    };
    let credential_id = URL_SAFE_NO_PAD.encode(passkey.cred_id().as_slice());
    let json = serial(&passkey)?;
    let mut tx = state.store.begin_write().await?;
    let row = NewPasskey {
        credential_id: &credential_id,
        user_handle: &handle,
        account_id,
        passkey: &json,
        sign_count: 0,
        name: &taken.name,
        created_at: store::ms(now),
    };
    match store_passkeys::insert(&mut *tx, &row).await {
        Ok(_) => {}
        Err(e) if e.is_unique_violation() => {
            drop(tx);
            record(state, seeker, "passkey.add_refused", "credential already registered", origin).await?;
            return Ok(Registered::Duplicate);
        }
        Err(e) => return Err(e.into()),
    }
    let t = crate::i18n::catalog(Lang::parse(&account.lang).unwrap_or(Lang::Ja));
    let message = Message::PasskeyAddedV1 { name: &taken.name, at: now };
    mail::enqueue(&mut tx, t, state.settings.base_url.as_str(), &account.email, seeker, &message, now).await?;
    let actor = format!("job_seeker:{}", account.job_seeker_id);
    let event = audit::Event {
        actor: &actor,
        kind: "passkey.added",
        job_seeker_id: seeker,
        detail: &taken.name,
        client_addr: Some(origin.client),
    };
    audit::record(&mut *tx, &event, store::ms(now)).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(Registered::Added { name: taken.name })
}

/// Begins a login with a discoverable passkey: nothing about any account is needed or told.
/// `None` when the client's login failure budget is used up: the finish would be refused.
pub async fn begin_login(state: &AppState, binding: &str, client: &str) -> Result<Option<Begun>, FlowError> {
    let webauthn = webauthn(state)?;
    if LOGIN_FAILURES_PER_CLIENT.is_full(state, client).await? {
        return Ok(None);
    }
    let (mut options, authentication) =
        webauthn.start_discoverable_authentication().map_err(|e| FlowError::Webauthn(e.to_string()))?;
    // The button asks at once; conditional mediation (autofill) is not used.
    options.mediation = None;
    let kept = serial(&authentication)?;
    let ceremony = store_ceremony(state, Purpose::Login, binding, None, "", &kept).await?;
    let options = serde_json::to_value(&options).map_err(|e| FlowError::Webauthn(e.to_string()))?;
    Ok(Some(Begun { ceremony, options }))
}

#[derive(Debug, PartialEq, Eq)]
pub enum LoginOutcome {
    LoggedIn {
        account_id: i64,
    },
    /// One answer for every failure (used or foreign ceremony, unknown or removed passkey,
    /// bad signature, counter gone back, disabled account): none can be told apart.
    Rejected,
    ClientLimited,
}

/// Finishes a passkey login. The attempt takes a place in the client's failure budget first
/// (as a password does) and gives it back only when it succeeds.
pub async fn finish_login(
    state: &AppState,
    binding: &str,
    ceremony: &str,
    credential: &str,
    origin: &Origin<'_>,
) -> Result<LoginOutcome, FlowError> {
    let webauthn = webauthn(state)?;
    if LOGIN_FAILURES_PER_CLIENT.is_full(state, origin.client).await? {
        return Ok(LoginOutcome::ClientLimited);
    }
    let now = state.now();
    let mut tx = state.store.begin_write().await?;
    let Ok(client_slot) = LOGIN_FAILURES_PER_CLIENT.reserve_in(&mut tx, now, origin.client, None).await? else {
        return Ok(LoginOutcome::ClientLimited);
    };
    tx.commit().await?;
    match check_assertion(state, webauthn, binding, ceremony, credential).await? {
        Ok((account_id, job_seeker_id)) => {
            client_slot.release(state).await?;
            record_login(state, account_id, job_seeker_id, origin).await?;
            Ok(LoginOutcome::LoggedIn { account_id })
        }
        Err(failure) => {
            client_slot.keep();
            state.metrics.count("mypage_login_failures_total");
            record(state, failure.job_seeker_id, failure.kind, &failure.detail, origin).await?;
            Ok(LoginOutcome::Rejected)
        }
    }
}

/// Why an assertion was refused, for the audit log.
struct Failure {
    job_seeker_id: Option<i64>,
    kind: &'static str,
    detail: String,
}

fn failure(job_seeker_id: Option<i64>, kind: &'static str, detail: impl Into<String>) -> Failure {
    Failure { job_seeker_id, kind, detail: detail.into() }
}

async fn check_assertion(
    state: &AppState,
    webauthn: &Webauthn,
    binding: &str,
    ceremony: &str,
    credential: &str,
) -> Result<Result<(i64, i64), Failure>, FlowError> {
    let pool = state.store.pool();
    let now = store::ms(state.now());
    let id_hash = state.keys.hash(KeyPurpose::Ceremony, ceremony);
    let Some(taken) = store_passkeys::take_ceremony(pool, &id_hash, Purpose::Login, binding, now).await? else {
        return Ok(Err(failure(None, "passkey.login_refused", "ceremony used, expired or not this browser's")));
    };
    let authentication: DiscoverableAuthentication = parse(&taken.state)?;
    let Ok(assertion) = serde_json::from_str::<PublicKeyCredential>(credential) else {
        return Ok(Err(failure(None, "passkey.login_refused", "malformed assertion")));
    };
    let Ok((user, credential_id)) = webauthn.identify_discoverable_authentication(&assertion) else {
        return Ok(Err(failure(None, "passkey.login_refused", "no user handle")));
    };
    let credential_id = URL_SAFE_NO_PAD.encode(credential_id);
    let Some(stored) = store_passkeys::find_by_credential(pool, &credential_id).await? else {
        return Ok(Err(failure(None, "passkey.login_refused", "unknown credential")));
    };
    let Some(account_id) = stored.account_id else {
        return Ok(Err(failure(None, "passkey.login_refused", "not a job seeker's passkey")));
    };
    let Some(account) = store::accounts::find(pool, account_id).await? else {
        return Ok(Err(failure(None, "passkey.login_refused", "no account")));
    };
    let seeker = Some(account.job_seeker_id);
    // The user handle is the owner's: a credential presented under another account's handle is
    // refused, whatever the signature says.
    if uuid_of(&stored.user_handle) != Some(user) {
        return Ok(Err(failure(seeker, "passkey.login_refused", "user handle is not the credential owner's")));
    }
    if account.disabled_at.is_some() {
        return Ok(Err(failure(seeker, "passkey.login_refused", "account disabled")));
    }
    let mut passkey: Passkey = parse(&stored.passkey)?;
    let result = match webauthn.finish_discoverable_authentication_v2(&assertion, authentication, &passkey) {
        Ok(result) => result,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            let detail = format!("sign counter did not grow ({}: stored {})", stored.name, stored.sign_count);
            return Ok(Err(failure(seeker, "passkey.counter_regressed", detail)));
        }
        Err(e) => return Ok(Err(failure(seeker, "passkey.login_refused", e.to_string()))),
    };
    passkey.update_credential(&result);
    let counter = i64::from(result.counter());
    if !store_passkeys::record_use(pool, stored.id, counter, &serial(&passkey)?, now).await? {
        // Another assertion with this counter was accepted first: a cloned authenticator.
        let detail = format!("sign counter did not grow ({}: {counter})", stored.name);
        return Ok(Err(failure(seeker, "passkey.counter_regressed", detail)));
    }
    Ok(Ok((account.id, account.job_seeker_id)))
}

async fn record_login(
    state: &AppState,
    account_id: i64,
    job_seeker_id: i64,
    origin: &Origin<'_>,
) -> Result<(), FlowError> {
    let now = store::ms(state.now());
    let mut tx = state.store.begin_write().await?;
    let user_agent: String = origin.user_agent.chars().take(300).collect();
    login::record_login(&mut *tx, account_id, now, "passkey", &user_agent, origin.client).await?;
    let event = audit::Event {
        actor: &format!("job_seeker:{job_seeker_id}"),
        kind: "login.succeeded",
        job_seeker_id: Some(job_seeker_id),
        detail: "passkey",
        client_addr: Some(origin.client),
    };
    audit::record(&mut *tx, &event, now).await?;
    tx.commit().await?;
    state.metrics.count("mypage_logins_total");
    Ok(())
}

/// Removes one passkey of the account, by its holder (`actor` is `job_seeker:<id>`) or the
/// counter (`staff:<id>`). False when it is not the account's (or already gone).
pub async fn remove(
    state: &AppState,
    account_id: i64,
    job_seeker_id: i64,
    passkey_id: i64,
    actor: &str,
    client: &str,
) -> Result<bool, FlowError> {
    let now = store::ms(state.now());
    let mut tx = state.store.begin_write().await?;
    let Some(name) = store_passkeys::delete(&mut *tx, account_id, passkey_id).await? else {
        return Ok(false);
    };
    let event = audit::Event {
        actor,
        kind: "passkey.removed",
        job_seeker_id: Some(job_seeker_id),
        detail: &name,
        client_addr: Some(client),
    };
    audit::record(&mut *tx, &event, now).await?;
    tx.commit().await?;
    Ok(true)
}

pub(crate) fn random_uuid() -> Result<Uuid, FlowError> {
    let mut bytes = [0u8; 16];
    tokens::fill(&mut bytes)?;
    Ok(Uuid::from_bytes(bytes))
}

pub(crate) fn uuid_of(handle: &str) -> Option<Uuid> {
    URL_SAFE_NO_PAD.decode(handle).ok().and_then(|b| Uuid::from_slice(&b).ok())
}
