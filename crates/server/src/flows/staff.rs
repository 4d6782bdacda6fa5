//! Staff accounts (SPEC §4): creating them (the first admin from the CLI), logging in with staff
//! ID + password + TOTP, first-login enrolment and the forced password change.

use std::time::Duration;

use mypage_domain::password::{NewPassword, PasswordContext, PasswordRule};
use mypage_domain::secret::Secret;

use super::FlowError;
use super::limits::Limit;
use crate::state::AppState;
use crate::store::{self, audit, offices, staff};
use crate::tokens;
use crate::totp::TotpSecret;

pub const LOCK_THRESHOLD: i64 = 10;
pub const STAFF_FAILURES_PER_CLIENT: Limit =
    Limit { scope: "staff.client", max: 50, window: Duration::from_secs(3600) };
/// The issuer shown in authenticator apps.
pub const TOTP_ISSUER: &str = "求職者マイページ 職員";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Counter,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "counter" => Some(Self::Counter),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Admin => "admin",
        }
    }
}

/// The logged-in staff member every console action is checked against.
#[derive(Debug, Clone)]
pub struct StaffMember {
    pub id: i64,
    pub login_id: String,
    pub name: String,
    pub role: Role,
    pub office_id: i64,
}

impl StaffMember {
    pub fn from_row(row: &staff::StaffRow) -> Option<Self> {
        Some(Self {
            id: row.id,
            login_id: row.login_id.clone(),
            name: row.name.clone(),
            role: Role::parse(&row.role)?,
            office_id: row.office_id,
        })
    }
    /// The audit log's name for this actor.
    pub fn actor(&self) -> String {
        format!("staff:{}", self.login_id)
    }
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
    /// Counter staff act only on their own office's job seekers; admins on all.
    pub fn may_act_on(&self, office_id: i64) -> bool {
        self.is_admin() || self.office_id == office_id
    }
    /// The office filter for searches: none for admins.
    pub fn scope(&self) -> Option<i64> {
        if self.is_admin() { None } else { Some(self.office_id) }
    }
}

/// A staff login ID: 3–32 of `a-z 0-9 . _ -`.
pub fn parse_login_id(raw: &str) -> Option<String> {
    let s = mypage_domain::text::normalize(raw).to_ascii_lowercase();
    let ok = (3..=32).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    ok.then_some(s)
}

/// What the new (or reset) staff member is handed once: never stored in clear.
#[derive(Debug)]
pub struct Credentials {
    pub password: Secret,
    pub otpauth_url: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum CreateRefusal {
    BadLoginId,
    LoginIdTaken,
    UnknownOffice,
}

/// A one-time password from the CSPRNG: 16 characters, always meeting the policy.
fn one_time_password() -> Result<Secret, FlowError> {
    let token = tokens::random_token()?;
    Ok(Secret::new(format!("{}#7a", &token[..13])))
}

pub async fn create(
    state: &AppState,
    login_id: &str,
    name: &str,
    role: Role,
    office_number: &str,
    actor: &str,
) -> Result<Result<Credentials, CreateRefusal>, FlowError> {
    let Some(login_id) = parse_login_id(login_id) else { return Ok(Err(CreateRefusal::BadLoginId)) };
    let Some(office) = offices::find_by_number(state.store.pool(), office_number).await? else {
        return Ok(Err(CreateRefusal::UnknownOffice));
    };
    let password = one_time_password()?;
    let hash = state.hasher.hash(&password).await?;
    let secret = TotpSecret::generate()?;
    let now = store::ms(state.now());
    let mut tx = state.store.begin_write().await?;
    let new = staff::NewStaff {
        login_id: &login_id,
        name,
        role: role.as_str(),
        office_id: office.id,
        password_hash: &hash,
        totp_secret: &secret.seal(&state.keys)?,
    };
    match staff::insert(&mut *tx, &new, now).await {
        Ok(_) => {}
        Err(e) if e.is_unique_violation() => return Ok(Err(CreateRefusal::LoginIdTaken)),
        Err(e) => return Err(e.into()),
    }
    let detail = format!("staff {login_id} ({}) created for office {}", role.as_str(), office.number);
    audit::record(
        &mut *tx,
        &audit::Event { actor, kind: "staff.created", job_seeker_id: None, detail: &detail, client_addr: None },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(Credentials { password, otpauth_url: secret.otpauth_url(TOTP_ISSUER, &login_id) }))
}

/// A new one-time password and TOTP secret for a staff member (admin action).
pub async fn reset(state: &AppState, staff_id: i64, actor: &str) -> Result<Option<Credentials>, FlowError> {
    let Some(row) = staff::find(state.store.pool(), staff_id).await? else { return Ok(None) };
    let password = one_time_password()?;
    let hash = state.hasher.hash(&password).await?;
    let secret = TotpSecret::generate()?;
    let now = store::ms(state.now());
    let mut tx = state.store.begin_write().await?;
    staff::reset(&mut *tx, row.id, &hash, &secret.seal(&state.keys)?).await?;
    store::sessions::delete_for_staff(&mut *tx, row.id).await?;
    let detail = format!("staff {} reset", row.login_id);
    audit::record(
        &mut *tx,
        &audit::Event { actor, kind: "staff.reset", job_seeker_id: None, detail: &detail, client_addr: None },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(Credentials { password, otpauth_url: secret.otpauth_url(TOTP_ISSUER, &row.login_id) }))
}

pub async fn set_disabled(state: &AppState, staff_id: i64, disabled: bool, actor: &str) -> Result<bool, FlowError> {
    let Some(row) = staff::find(state.store.pool(), staff_id).await? else { return Ok(false) };
    let now = store::ms(state.now());
    let mut tx = state.store.begin_write().await?;
    staff::set_disabled(&mut *tx, row.id, disabled.then_some(now)).await?;
    if disabled {
        store::sessions::delete_for_staff(&mut *tx, row.id).await?;
    }
    let kind = if disabled { "staff.disabled" } else { "staff.enabled" };
    let detail = format!("staff {}", row.login_id);
    audit::record(
        &mut *tx,
        &audit::Event { actor, kind, job_seeker_id: None, detail: &detail, client_addr: None },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

#[derive(Debug, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Wrong ID, password or TOTP code, a replayed code, locked or disabled: one answer.
    Rejected,
    ClientLimited,
    /// First login: the authenticator app must be enrolled (QR code) before anything else.
    NeedsEnrolment {
        staff_id: i64,
    },
    LoggedIn {
        staff_id: i64,
        must_change_password: bool,
    },
}

pub async fn login(
    state: &AppState,
    login_id: &str,
    password: &Secret,
    code: &str,
    client: &str,
) -> Result<LoginOutcome, FlowError> {
    let Ok(client_slot) = STAFF_FAILURES_PER_CLIENT.reserve(state, client).await? else {
        return Ok(LoginOutcome::ClientLimited);
    };
    let row = match parse_login_id(login_id) {
        Some(id) => staff::find_by_login(state.store.pool(), &id).await?,
        None => None,
    };
    let matched = state.hasher.verify(password, row.as_ref().map(|r| r.password_hash.clone())).await?;
    let now = state.now();
    let usable =
        row.as_ref().filter(|r| r.disabled_at.is_none() && r.locked_until.is_none_or(|until| until <= store::ms(now)));
    let outcome = match (matched, usable) {
        (true, Some(r)) if r.totp_confirmed_at.is_none() => LoginOutcome::NeedsEnrolment { staff_id: r.id },
        (true, Some(r)) => {
            let secret = TotpSecret::open(&r.totp_secret, &state.keys);
            let step = secret.and_then(|s| s.verify(code.trim(), now, r.totp_last_step));
            match step {
                Some(step) if staff::accept_step(state.store.pool(), r.id, step, store::ms(now)).await? => {
                    LoginOutcome::LoggedIn { staff_id: r.id, must_change_password: r.must_change_password == 1 }
                }
                _ => LoginOutcome::Rejected,
            }
        }
        _ => LoginOutcome::Rejected,
    };
    if outcome == LoginOutcome::Rejected {
        client_slot.keep();
        if let Some(r) = &row {
            let until = store::ms(now + state.settings.login_lock);
            staff::record_failure(state.store.pool(), r.id, until, LOCK_THRESHOLD).await?;
        }
    } else {
        client_slot.release(state).await?;
    }
    if let (LoginOutcome::LoggedIn { .. }, Some(r)) = (&outcome, &row) {
        let actor = format!("staff:{}", r.login_id);
        let event = audit::Event {
            actor: &actor,
            kind: "staff.login",
            job_seeker_id: None,
            detail: "",
            client_addr: Some(client),
        };
        audit::record(state.store.pool(), &event, store::ms(now)).await?;
    }
    Ok(outcome)
}

/// The authenticator enrolment of a first login: the otpauth URL to show as a QR code.
pub async fn enrolment_url(state: &AppState, staff_id: i64) -> Result<Option<String>, FlowError> {
    let Some(row) = staff::find(state.store.pool(), staff_id).await? else { return Ok(None) };
    Ok(TotpSecret::open(&row.totp_secret, &state.keys).map(|s| s.otpauth_url(TOTP_ISSUER, &row.login_id)))
}

/// Confirms enrolment with a first code from the app. Returns whether a password change is due,
/// or `None` when the code is wrong.
pub async fn confirm_enrolment(state: &AppState, staff_id: i64, code: &str) -> Result<Option<bool>, FlowError> {
    let Some(row) = staff::find(state.store.pool(), staff_id).await? else { return Ok(None) };
    let now = state.now();
    let step =
        TotpSecret::open(&row.totp_secret, &state.keys).and_then(|s| s.verify(code.trim(), now, row.totp_last_step));
    match step {
        Some(step) if staff::accept_step(state.store.pool(), row.id, step, store::ms(now)).await? => {
            Ok(Some(row.must_change_password == 1))
        }
        _ => Ok(None),
    }
}

/// Sets a staff member's own new password (policy of SPEC §3.4, without job-seeker context).
pub async fn change_password(
    state: &AppState,
    staff_id: i64,
    password: Secret,
    confirmation: &Secret,
) -> Result<Result<(), Vec<PasswordRule>>, FlowError> {
    let new = match NewPassword::parse(password, confirmation, &PasswordContext::default()) {
        Ok(p) => p,
        Err(unmet) => return Ok(Err(unmet)),
    };
    let hash = state.hasher.hash(new.secret()).await?;
    staff::set_password(state.store.pool(), staff_id, &hash).await?;
    Ok(Ok(()))
}

#[derive(Debug, PartialEq, Eq)]
pub enum Publish {
    Published {
        version: i64,
    },
    /// Another admin published the same document at the same moment: reload and check.
    Conflict,
}

/// Publishes a new version of the privacy policy or the terms; account holders are asked to
/// accept it on My Page before they go on.
pub async fn publish_document(
    state: &AppState,
    kind: super::opening::DocumentKind,
    title: &str,
    body: &str,
    actor: &str,
) -> Result<Publish, FlowError> {
    let now = store::ms(state.now());
    let mut tx = state.store.begin_write().await?;
    let version = match store::documents::publish(&mut *tx, kind.as_str(), title, body, now).await {
        Ok(v) => v,
        Err(e) if e.is_unique_violation() => return Ok(Publish::Conflict),
        Err(e) => return Err(e.into()),
    };
    let detail = format!("{} v{version}", kind.as_str());
    let event =
        audit::Event { actor, kind: "document.published", job_seeker_id: None, detail: &detail, client_addr: None };
    audit::record(&mut *tx, &event, now).await?;
    tx.commit().await?;
    Ok(Publish::Published { version })
}
