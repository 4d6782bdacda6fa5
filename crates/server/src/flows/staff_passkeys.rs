//! Passkeys of staff members: adding one on the console page of their own account, logging in
//! with staff ID + passkey instead of password + TOTP, and removing one (the member, or an
//! admin's reset or disabling, which removes them all). The ceremony is kept in the database
//! and bound to the console session or pre-session, as for job seekers (`flows::passkeys`).
//!
//! The login is discoverable: its options name no credential, so they are the same for every
//! staff ID (nothing tells whether one exists or has passkeys); the typed ID then has to be the
//! owner of the credential the authenticator chose. An attempt is counted against the client's
//! staff budget and the member's lock exactly as a password is.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
};

use super::FlowError;
use super::passkeys::{Begun, CEREMONY_TTL, Registered, parse, serial, start_registration, uuid_of, webauthn};
use super::staff::{LoginOutcome, STAFF_FAILURES_PER_CLIENT, StaffMember, parse_login_id};
use super::staff_lock;
use crate::state::AppState;
use crate::store::passkeys::{self as seeker_passkeys, NewCeremony, Purpose};
use crate::store::staff_passkeys::{self as store_passkeys, NewPasskey};
use crate::store::{self, attempts, audit, staff};
use crate::tokens::{self, Purpose as KeyPurpose};

async fn record(state: &AppState, actor: &str, kind: &str, detail: &str, client: &str) -> Result<(), FlowError> {
    let event = audit::Event { actor, kind, job_seeker_id: None, detail, client_addr: Some(client) };
    audit::record(state.store.pool(), &event, store::ms(state.now())).await?;
    Ok(())
}

/// Begins adding a passkey called `name` for the member `staff_id` (`login_id` is what the
/// authenticator shows beside it).
pub async fn begin_registration(
    state: &AppState,
    staff_id: i64,
    login_id: &str,
    binding: &str,
    name: &str,
) -> Result<Begun, FlowError> {
    let pool = state.store.pool();
    let handle = store_passkeys::user_handle(pool, staff_id).await?;
    let states = store_passkeys::passkey_states(pool, staff_id).await?;
    let (options, kept) = start_registration(state, handle, &states, login_id)?;
    let ceremony = tokens::random_token()?;
    let now = state.now();
    let id_hash = state.keys.hash(KeyPurpose::Ceremony, &ceremony);
    let times = (store::ms(now), store::ms(now + CEREMONY_TTL));
    store_passkeys::insert_ceremony(pool, &id_hash, binding, staff_id, name, &kept, times).await?;
    Ok(Begun { ceremony, options })
}

/// Finishes adding a passkey: verified, stored and audited as `staff.passkey_added`.
pub async fn finish_registration(
    state: &AppState,
    staff_id: i64,
    actor: &str,
    binding: &str,
    (ceremony, credential): (&str, &str),
    client: &str,
) -> Result<Registered, FlowError> {
    let webauthn = webauthn(state)?;
    let pool = state.store.pool();
    let now = state.now();
    let id_hash = state.keys.hash(KeyPurpose::Ceremony, ceremony);
    let Some(taken) = store_passkeys::take_ceremony(pool, &id_hash, binding, staff_id, store::ms(now)).await? else {
        record(state, actor, "staff.passkey_add_refused", "ceremony used, expired or not this session's", client)
            .await?;
        return Ok(Registered::Refused);
    };
    let (handle, registration): (String, PasskeyRegistration) = parse(&taken.state)?;
    let verified = serde_json::from_str::<RegisterPublicKeyCredential>(credential)
        .map_err(|e| e.to_string())
        .and_then(|reg| webauthn.finish_passkey_registration(&reg, &registration).map_err(|e| e.to_string()));
    let passkey = match verified {
        Ok(passkey) => passkey,
        Err(reason) => {
            record(state, actor, "staff.passkey_add_refused", &reason, client).await?;
            return Ok(Registered::Refused);
        }
    };
    let credential_id = URL_SAFE_NO_PAD.encode(passkey.cred_id().as_slice());
    let json = serial(&passkey)?;
    let mut tx = state.store.begin_write().await?;
    let row = NewPasskey {
        credential_id: &credential_id,
        user_handle: &handle,
        staff_id,
        passkey: &json,
        name: &taken.name,
        created_at: store::ms(now),
    };
    match store_passkeys::insert(&mut *tx, &row).await {
        Ok(_) => {}
        Err(e) if e.is_unique_violation() => {
            drop(tx);
            record(state, actor, "staff.passkey_add_refused", "credential already registered", client).await?;
            return Ok(Registered::Duplicate);
        }
        Err(e) => return Err(e.into()),
    }
    let event = audit::Event {
        actor,
        kind: "staff.passkey_added",
        job_seeker_id: None,
        detail: &taken.name,
        client_addr: Some(client),
    };
    audit::record(&mut *tx, &event, store::ms(now)).await?;
    tx.commit().await?;
    Ok(Registered::Added { name: taken.name })
}

/// Whether a member of an office that requires passkeys (`office_requires`) must use one. Not
/// where passkeys cannot be offered (a base URL that makes no relying party): the member could
/// never add one.
pub fn required(state: &AppState, office_requires: bool) -> bool {
    office_requires && state.webauthn.is_some()
}

/// What became of a request to remove one of a member's passkeys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    Removed,
    /// Not the member's, or already gone.
    NotFound,
    /// The member's office requires passkeys and this is the member's last one.
    LastOneRequired,
}

/// Removes one passkey of the member, audited as `staff.passkey_removed`. Where the office
/// requires passkeys the last one stays (the member would be left with the password path only).
/// Removals of one member take the member's lock row first, so two parallel removals of the last
/// two passkeys cannot both see the other one still there.
pub async fn remove(
    state: &AppState,
    member: &StaffMember,
    passkey_id: i64,
    client: &str,
) -> Result<Removal, FlowError> {
    let now = store::ms(state.now());
    let mut tx = state.store.begin_write().await?;
    attempts::lock_subject(&mut *tx, "staff.passkeys", &member.id.to_string(), now).await?;
    if required(state, member.passkeys_required) && store_passkeys::count(&mut *tx, member.id).await? <= 1 {
        let owned = store_passkeys::for_staff(&mut *tx, member.id).await?.iter().any(|p| p.id == passkey_id);
        drop(tx);
        return Ok(if owned { Removal::LastOneRequired } else { Removal::NotFound });
    }
    let Some(name) = store_passkeys::delete(&mut *tx, member.id, passkey_id).await? else {
        return Ok(Removal::NotFound);
    };
    let actor = member.actor();
    let event = audit::Event {
        actor: &actor,
        kind: "staff.passkey_removed",
        job_seeker_id: None,
        detail: &name,
        client_addr: Some(client),
    };
    audit::record(&mut *tx, &event, now).await?;
    tx.commit().await?;
    Ok(Removal::Removed)
}

/// Begins a staff ID + passkey login. The options do not depend on `login_id` (kept with the
/// ceremony for its finish). `None` when the client's staff failure budget is used up.
pub async fn begin_login(
    state: &AppState,
    binding: &str,
    login_id: &str,
    client: &str,
) -> Result<Option<Begun>, FlowError> {
    let webauthn = webauthn(state)?;
    if STAFF_FAILURES_PER_CLIENT.is_full(state, client).await? {
        return Ok(None);
    }
    let (mut options, authentication) =
        webauthn.start_discoverable_authentication().map_err(|e| FlowError::Webauthn(e.to_string()))?;
    options.mediation = None;
    let typed: String = login_id.chars().take(64).collect();
    let kept = serial(&(typed, authentication))?;
    let ceremony = tokens::random_token()?;
    let now = state.now();
    let id_hash = state.keys.hash(KeyPurpose::Ceremony, &ceremony);
    let row = NewCeremony {
        id_hash: &id_hash,
        purpose: Purpose::Login,
        binding,
        account_id: None,
        name: "",
        state: &kept,
        created_at: store::ms(now),
        expires_at: store::ms(now + CEREMONY_TTL),
    };
    seeker_passkeys::insert_ceremony(state.store.pool(), &row).await?;
    let options = serde_json::to_value(&options).map_err(|e| FlowError::Webauthn(e.to_string()))?;
    Ok(Some(Begun { ceremony, options }))
}

/// Finishes a staff ID + passkey login: `LoggedIn`, or the password path's one `Rejected` for
/// every failure (used or foreign ceremony, unknown ID, another member's or a removed passkey,
/// bad signature, locked or disabled member), which counts as a wrong password does.
pub async fn finish_login(
    state: &AppState,
    binding: &str,
    (ceremony, credential): (&str, &str),
    client: &str,
) -> Result<LoginOutcome, FlowError> {
    let webauthn = webauthn(state)?;
    let Ok(client_slot) = STAFF_FAILURES_PER_CLIENT.reserve(state, client).await? else {
        return Ok(LoginOutcome::ClientLimited);
    };
    let pool = state.store.pool();
    let now = state.now();
    let id_hash = state.keys.hash(KeyPurpose::Ceremony, ceremony);
    let taken = seeker_passkeys::take_ceremony(pool, &id_hash, Purpose::Login, binding, store::ms(now)).await?;
    let kept = taken.and_then(|t| parse::<(String, DiscoverableAuthentication)>(&t.state).ok());
    let Some((login_id, authentication)) = kept else {
        client_slot.keep();
        record_refused(state, "staff:?", "ceremony used, expired or not this browser's", client).await?;
        staff_lock::record_refusal(state, "", None, None, client, now).await?;
        return Ok(LoginOutcome::Rejected);
    };
    let row = match parse_login_id(&login_id) {
        Some(id) => staff::find_by_login(pool, &id).await?,
        None => None,
    };
    // Counted before the assertion is checked, as a password is before it is hashed.
    let attempt = match &row {
        Some(r) => staff_lock::reserve(state, r.id, now).await?,
        None => None,
    };
    let verdict = match (&row, &attempt) {
        (Some(r), Some(_)) => check_assertion(state, webauthn, r.id, authentication, credential).await?,
        (Some(_), None) => Err("member locked or disabled".to_owned()),
        (None, _) => Err("unknown staff ID".to_owned()),
    };
    let accepted = match (&verdict, &row, &attempt) {
        (Ok(()), Some(r), Some(attempt)) => staff_lock::accept(state, r.id, attempt, None, now).await?,
        _ => false,
    };
    let actor = row.as_ref().map_or_else(|| "staff:?".to_owned(), |r| format!("staff:{}", r.login_id));
    match (accepted, &row) {
        (true, Some(r)) => {
            client_slot.release(state).await?;
            let event = audit::Event {
                actor: &actor,
                kind: "staff.login",
                job_seeker_id: None,
                detail: "passkey",
                client_addr: Some(client),
            };
            audit::record(pool, &event, store::ms(now)).await?;
            Ok(LoginOutcome::LoggedIn { staff_id: r.id, must_change_password: r.must_change_password == 1 })
        }
        _ => {
            client_slot.keep();
            let reason = verdict.err().unwrap_or_else(|| "locked meanwhile".to_owned());
            record_refused(state, &actor, &reason, client).await?;
            staff_lock::record_refusal(state, &login_id, row.as_ref(), attempt.as_ref(), client, now).await?;
            Ok(LoginOutcome::Rejected)
        }
    }
}

/// Why a passkey login was refused (beside the `staff.login_failed` every refusal writes).
async fn record_refused(state: &AppState, actor: &str, reason: &str, client: &str) -> Result<(), FlowError> {
    record(state, actor, "staff.passkey_login_refused", reason, client).await
}

/// The assertion verifies against a passkey of member `staff_id`, with a sign counter that grew.
async fn check_assertion(
    state: &AppState,
    webauthn: &webauthn_rs::Webauthn,
    staff_id: i64,
    authentication: DiscoverableAuthentication,
    credential: &str,
) -> Result<Result<(), String>, FlowError> {
    let pool = state.store.pool();
    let Ok(assertion) = serde_json::from_str::<PublicKeyCredential>(credential) else {
        return Ok(Err("malformed assertion".into()));
    };
    let Ok((user, credential_id)) = webauthn.identify_discoverable_authentication(&assertion) else {
        return Ok(Err("no user handle".into()));
    };
    let credential_id = URL_SAFE_NO_PAD.encode(credential_id);
    let Some(stored) = store_passkeys::find_by_credential(pool, &credential_id).await? else {
        return Ok(Err("unknown credential".into()));
    };
    if stored.staff_id != Some(staff_id) {
        return Ok(Err("not this member's passkey".into()));
    }
    if uuid_of(&stored.user_handle) != Some(user) {
        return Ok(Err("user handle is not the credential owner's".into()));
    }
    let mut passkey: Passkey = parse(&stored.passkey)?;
    let result = match webauthn.finish_discoverable_authentication_v2(&assertion, authentication, &passkey) {
        Ok(result) => result,
        Err(e) => return Ok(Err(format!("{}: {e}", stored.name))),
    };
    passkey.update_credential(&result);
    let counter = i64::from(result.counter());
    let now = store::ms(state.now());
    if !seeker_passkeys::record_use(pool, stored.id, counter, &serial(&passkey)?, now).await? {
        return Ok(Err(format!("sign counter did not grow ({}: {counter})", stored.name)));
    }
    Ok(Ok(()))
}
