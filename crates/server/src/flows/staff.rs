//! Staff accounts (SPEC §4): creating them (the first admin from the CLI), logging in with staff
//! ID + password + TOTP, first-login enrolment and the forced password change.

use std::time::Duration;

use mypage_domain::secret::Secret;

use super::FlowError;
use super::limits::Limit;
use super::staff_lock;
use crate::state::AppState;
use crate::store::staff_passkeys as store_passkeys;
use crate::store::{self, audit, offices, staff};
use crate::tokens::{self, Purpose};
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
    /// The member's office requires passkeys (in force where [`super::staff_passkeys::required`]).
    pub passkeys_required: bool,
}

impl StaffMember {
    pub fn from_row(row: &staff::StaffRow) -> Option<Self> {
        Some(Self {
            id: row.id,
            login_id: row.login_id.clone(),
            name: row.name.clone(),
            role: Role::parse(&row.role)?,
            office_id: row.office_id,
            passkeys_required: row.passkeys_required,
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

/// What the admin hands a new (or reset) staff member once: the one-time password, never stored
/// in clear. Deliberately no TOTP secret: that is shown only to the member, at their own first
/// login ([`enrolment_url`]), so nobody else ever holds their second factor.
#[derive(Debug)]
pub struct Credentials {
    pub staff_id: i64,
    pub password: Secret,
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
    let staff_id = match staff::insert(&mut *tx, &new, now).await {
        Ok(id) => id,
        Err(e) if e.is_unique_violation() => return Ok(Err(CreateRefusal::LoginIdTaken)),
        Err(e) => return Err(e.into()),
    };
    let detail = format!("staff {login_id} ({}) created for office {}", role.as_str(), office.number);
    audit::record(
        &mut *tx,
        &audit::Event { actor, kind: "staff.created", job_seeker_id: None, detail: &detail, client_addr: None },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(Credentials { staff_id, password }))
}

/// A new one-time password and a fresh, unconfirmed TOTP secret for a staff member (admin
/// action): the member enrols again at their next login; every session of theirs ends.
pub async fn reset(state: &AppState, staff_id: i64, actor: &str) -> Result<Option<Credentials>, FlowError> {
    let Some(row) = staff::find(state.store.pool(), staff_id).await? else { return Ok(None) };
    let password = one_time_password()?;
    let hash = state.hasher.hash(&password).await?;
    let secret = TotpSecret::generate()?;
    let now = store::ms(state.now());
    let mut tx = state.store.begin_write().await?;
    staff::reset(&mut *tx, row.id, &hash, &secret.seal(&state.keys)?).await?;
    store::sessions::delete_for_staff(&mut *tx, row.id).await?;
    // A reset is for a member whose sign-in is in doubt: their passkeys go with the password.
    let passkeys = store::staff_passkeys::delete_all(&mut *tx, row.id).await?;
    let detail = format!("staff {} reset, {passkeys} passkeys removed", row.login_id);
    audit::record(
        &mut *tx,
        &audit::Event { actor, kind: "staff.reset", job_seeker_id: None, detail: &detail, client_addr: None },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(Credentials { staff_id: row.id, password }))
}

pub async fn set_disabled(state: &AppState, staff_id: i64, disabled: bool, actor: &str) -> Result<bool, FlowError> {
    let Some(row) = staff::find(state.store.pool(), staff_id).await? else { return Ok(false) };
    let now = store::ms(state.now());
    let mut tx = state.store.begin_write().await?;
    staff::set_disabled(&mut *tx, row.id, disabled.then_some(now)).await?;
    let mut detail = format!("staff {}", row.login_id);
    if disabled {
        store::sessions::delete_for_staff(&mut *tx, row.id).await?;
        let passkeys = store::staff_passkeys::delete_all(&mut *tx, row.id).await?;
        detail.push_str(&format!(", {passkeys} passkeys removed"));
    }
    let kind = if disabled { "staff.disabled" } else { "staff.enabled" };
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
    /// `tag` ties the pending enrolment to the credentials the password was checked against.
    NeedsEnrolment {
        staff_id: i64,
        tag: String,
    },
    LoggedIn {
        staff_id: i64,
        must_change_password: bool,
    },
    /// The right password and code, but the member's office requires passkeys and the member
    /// has one: no session, the login is by passkey.
    PasskeyRequired,
}

pub async fn login(
    state: &AppState,
    login_id: &str,
    password: &Secret,
    code: &str,
    client: &str,
) -> Result<LoginOutcome, FlowError> {
    // A full hashing queue answers 503 before anything is counted against anyone.
    let admission = state.hasher.admit()?;
    let Ok(client_slot) = STAFF_FAILURES_PER_CLIENT.reserve(state, client).await? else {
        return Ok(LoginOutcome::ClientLimited);
    };
    let row = match parse_login_id(login_id) {
        Some(id) => staff::find_by_login(state.store.pool(), &id).await?,
        None => None,
    };
    // Counted before the hash, so a burst cannot slip more tries past the lock while hashes run.
    let attempt = match &row {
        Some(r) => staff_lock::reserve(state, r.id, state.now()).await?,
        None => None,
    };
    // Hashed even when nothing was reserved (unknown, locked, disabled): the same time either way.
    let matched = admission.verify(password, row.as_ref().map(|r| r.password_hash.clone())).await?;
    let now = state.now();
    let outcome = match (&row, &attempt) {
        (Some(r), Some(attempt)) if matched => decide(state, r, attempt, code, now).await?,
        _ => LoginOutcome::Rejected,
    };
    if outcome == LoginOutcome::Rejected {
        client_slot.keep();
        staff_lock::record_refusal(state, login_id, row.as_ref(), attempt.as_ref(), client, now).await?;
    } else {
        client_slot.release(state).await?;
    }
    let kind = match &outcome {
        LoginOutcome::LoggedIn { .. } => Some("staff.login"),
        LoginOutcome::PasskeyRequired => Some("staff.login_needs_passkey"),
        _ => None,
    };
    if let (Some(kind), Some(r)) = (kind, &row) {
        let actor = format!("staff:{}", r.login_id);
        let event = audit::Event { actor: &actor, kind, job_seeker_id: None, detail: "", client_addr: Some(client) };
        audit::record(state.store.pool(), &event, store::ms(now)).await?;
    }
    Ok(outcome)
}

/// The right password: the TOTP code (unless the app is still to be enrolled), then the guarded
/// statement that accepts the login only if no other request's failure has locked it meanwhile.
async fn decide(
    state: &AppState,
    r: &staff::StaffRow,
    attempt: &staff_lock::Attempt,
    code: &str,
    now: jiff::Timestamp,
) -> Result<LoginOutcome, FlowError> {
    if r.totp_confirmed_at.is_none() {
        let accepted = staff_lock::accept(state, r.id, attempt, None, now).await?;
        return Ok(if accepted {
            LoginOutcome::NeedsEnrolment { staff_id: r.id, tag: enrolment_tag(state, r) }
        } else {
            LoginOutcome::Rejected
        });
    }
    let secret = TotpSecret::open(&r.totp_secret, &state.keys);
    match secret.and_then(|s| s.verify(code.trim(), now, r.totp_last_step)) {
        // Accepted even when a passkey is required: the code is spent and the password was right.
        Some(step) if staff_lock::accept(state, r.id, attempt, Some(step), now).await? => {
            if super::staff_passkeys::required(state, r.passkeys_required)
                && store_passkeys::count(state.store.pool(), r.id).await? > 0
            {
                return Ok(LoginOutcome::PasskeyRequired);
            }
            Ok(LoginOutcome::LoggedIn { staff_id: r.id, must_change_password: r.must_change_password == 1 })
        }
        _ => Ok(LoginOutcome::Rejected),
    }
}

/// The otpauth URL of a staff member's TOTP secret. Only the member's own enrolment page (after
/// their password was accepted, see [`pending_enrolment_url`]) and the CLI that creates the first
/// admin (whose operator is that admin, SPEC §7) show it.
pub async fn enrolment_url(state: &AppState, staff_id: i64) -> Result<Option<String>, FlowError> {
    let Some(row) = staff::find(state.store.pool(), staff_id).await? else { return Ok(None) };
    Ok(TotpSecret::open(&row.totp_secret, &state.keys).map(|s| s.otpauth_url(TOTP_ISSUER, &row.login_id)))
}

/// Ties a pending enrolment to the credentials it was granted under. A reissue seals a new
/// secret, so a browser that logged in with the old one-time password can no longer enrol (and
/// thereby take over) the new secret.
fn enrolment_tag(state: &AppState, row: &staff::StaffRow) -> String {
    state.keys.hash(Purpose::Session, &format!("staff-enrolment:{}:{}", row.id, row.totp_secret.text))
}

/// The member of a pending enrolment, while it is still theirs to complete.
async fn pending_member(state: &AppState, staff_id: i64, tag: &str) -> Result<Option<staff::StaffRow>, FlowError> {
    let row = staff::find(state.store.pool(), staff_id).await?;
    Ok(row.filter(|r| r.disabled_at.is_none() && r.totp_confirmed_at.is_none() && enrolment_tag(state, r) == tag))
}

/// The first login's enrolment: the otpauth URL to show as a QR code, or `None` when the
/// enrolment is void (reissued, disabled or done meanwhile).
pub async fn pending_enrolment_url(state: &AppState, staff_id: i64, tag: &str) -> Result<Option<String>, FlowError> {
    let Some(row) = pending_member(state, staff_id, tag).await? else { return Ok(None) };
    Ok(TotpSecret::open(&row.totp_secret, &state.keys).map(|s| s.otpauth_url(TOTP_ISSUER, &row.login_id)))
}

/// Confirms enrolment with a first code from the app. Returns whether a password change is due,
/// or `None` when the code is wrong or the enrolment void.
pub async fn confirm_enrolment(
    state: &AppState,
    staff_id: i64,
    tag: &str,
    code: &str,
    client: &str,
) -> Result<Option<bool>, FlowError> {
    let Some(row) = pending_member(state, staff_id, tag).await? else { return Ok(None) };
    let now = state.now();
    let step =
        TotpSecret::open(&row.totp_secret, &state.keys).and_then(|s| s.verify(code.trim(), now, row.totp_last_step));
    let Some(step) = step else { return Ok(None) };
    // The second factor and its audit event commit together: a new authenticator is what an
    // investigation of a staff account asks about first.
    let mut tx = state.store.begin_write().await?;
    if !staff::accept_step(&mut *tx, row.id, step, store::ms(now)).await? {
        return Ok(None);
    }
    let actor = format!("staff:{}", row.login_id);
    let event = audit::Event {
        actor: &actor,
        kind: "staff.enrolled",
        job_seeker_id: None,
        detail: "authenticator app enrolled",
        client_addr: Some(client),
    };
    audit::record(&mut *tx, &event, store::ms(now)).await?;
    tx.commit().await?;
    Ok(Some(row.must_change_password == 1))
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
    // This node's consent page shows it at once; the others within `current_documents::FRESH_FOR`.
    state.documents.invalidate();
    Ok(Publish::Published { version })
}
