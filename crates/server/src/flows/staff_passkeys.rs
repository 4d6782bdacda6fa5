//! Passkeys of staff members: adding one on the console page of their own account, and removing
//! one (the member, or an admin's reset or disabling, which removes them all). The ceremony is
//! kept in the database and bound to the console session, as for job seekers
//! (`flows::passkeys`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use webauthn_rs::prelude::{Passkey, PasskeyRegistration, RegisterPublicKeyCredential};

use super::FlowError;
use super::passkeys::{Begun, CEREMONY_TTL, Registered, parse, random_uuid, serial, uuid_of, webauthn};
use crate::state::AppState;
use crate::store::staff_passkeys::{self as store_passkeys, NewPasskey};
use crate::store::{self, audit};
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
    let webauthn = webauthn(state)?;
    let pool = state.store.pool();
    let handle = match store_passkeys::user_handle(pool, staff_id).await? {
        Some(handle) => handle,
        None => URL_SAFE_NO_PAD.encode(random_uuid()?.as_bytes()),
    };
    let uuid = uuid_of(&handle).ok_or_else(|| FlowError::Store(store::StoreError::Corrupt("user handle".into())))?;
    let existing: Vec<Passkey> =
        store_passkeys::passkey_states(pool, staff_id).await?.iter().filter_map(|j| parse(j).ok()).collect();
    let exclude = existing.iter().map(|p| p.cred_id().clone()).collect::<Vec<_>>();
    let (options, registration) = webauthn
        .start_passkey_registration(uuid, login_id, login_id, Some(exclude))
        .map_err(|e| FlowError::Webauthn(e.to_string()))?;
    let options = serde_json::to_value(&options).map_err(|e| FlowError::Webauthn(e.to_string()))?;
    let kept = serial(&(handle, registration))?;
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

/// Removes one passkey of the member, audited as `staff.passkey_removed`. False when it is not
/// theirs (or already gone).
pub async fn remove(
    state: &AppState,
    staff_id: i64,
    passkey_id: i64,
    actor: &str,
    client: &str,
) -> Result<bool, FlowError> {
    let mut tx = state.store.begin_write().await?;
    let Some(name) = store_passkeys::delete(&mut *tx, staff_id, passkey_id).await? else {
        return Ok(false);
    };
    let event = audit::Event {
        actor,
        kind: "staff.passkey_removed",
        job_seeker_id: None,
        detail: &name,
        client_addr: Some(client),
    };
    audit::record(&mut *tx, &event, store::ms(state.now())).await?;
    tx.commit().await?;
    Ok(true)
}
