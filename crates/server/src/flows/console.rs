//! The counter's actions on job seekers (SPEC §4). Every action first checks that the staff
//! member may act on the job seeker's office; out of scope is answered exactly like "no such
//! job seeker", so a clerk cannot even learn who is registered elsewhere.

use mypage_domain::code_state::{CodeRecord, CodeState};
use mypage_domain::job_seeker_number::JobSeekerNumber;

use super::FlowError;
use super::codes::{self, IssueRefusal, IssuedCode};
use super::staff::StaffMember;
use crate::state::AppState;
use crate::store::{self, accounts, audit, job_seekers, login, offices, outbox};

/// A job seeker the staff member may act on.
#[derive(Debug, Clone)]
pub struct Seeker {
    pub row: job_seekers::JobSeekerRow,
    pub office: offices::OfficeRow,
}

/// The job seeker if it exists and is within the staff member's scope.
pub async fn seeker(state: &AppState, staff: &StaffMember, id: i64) -> Result<Option<Seeker>, FlowError> {
    let Some(row) = job_seekers::find(state.store.pool(), id).await? else { return Ok(None) };
    if !staff.may_act_on(row.office_id) {
        return Ok(None);
    }
    let Some(office) = offices::find(state.store.pool(), row.office_id).await? else { return Ok(None) };
    Ok(Some(Seeker { row, office }))
}

/// Everything the counter needs to see why someone is stuck.
#[derive(Debug)]
pub struct SeekerView {
    pub seeker: Seeker,
    pub code: Option<(store::codes::CodeRow, CodeState)>,
    pub account: Option<(accounts::AccountRow, accounts::LoginState)>,
    pub mails: Vec<outbox::MailLogRow>,
    pub events: Vec<audit::EventRow>,
}

pub async fn view(state: &AppState, staff: &StaffMember, id: i64) -> Result<Option<SeekerView>, FlowError> {
    let Some(seeker) = seeker(state, staff, id).await? else { return Ok(None) };
    let pool = state.store.pool();
    let now = state.now();
    // Four independent reads, each on a connection of its own: the page waits for the slowest,
    // not for the sum.
    let account = async {
        match accounts::find_by_job_seeker(pool, id).await? {
            Some(a) => {
                let login_state = accounts::login_state(pool, a.id, store::ms(now)).await?;
                Ok(Some((a, login_state)))
            }
            None => Ok::<_, store::StoreError>(None),
        }
    };
    let (code, account, mails, mut events) = tokio::try_join!(
        store::codes::latest(pool, id),
        account,
        outbox::for_job_seeker(pool, id),
        audit::for_job_seeker(pool, id),
    )?;
    let code = match code {
        Some(row) => {
            let record = CodeRecord {
                expires_at: store::ts(row.expires_at)?,
                failed_attempts: u32::try_from(row.failed_attempts).unwrap_or(u32::MAX),
                voided_at: row.voided_at.map(store::ts).transpose()?,
                used_at: row.used_at.map(store::ts).transpose()?,
            };
            let code_state = record.state(now, state.settings.code_max_failures);
            Some((row, code_state))
        }
        None => None,
    };
    events.reverse();
    Ok(Some(SeekerView { seeker, code, account, mails, events }))
}

async fn record(
    state: &AppState,
    staff: &StaffMember,
    kind: &str,
    seeker_id: i64,
    detail: &str,
    client: &str,
) -> Result<(), FlowError> {
    let event =
        audit::Event { actor: &staff.actor(), kind, job_seeker_id: Some(seeker_id), detail, client_addr: Some(client) };
    audit::record(state.store.pool(), &event, store::ms(state.now())).await?;
    Ok(())
}

/// Issues (or reissues) a code; the caller prints the slip from the returned code at once.
pub async fn issue_code(
    state: &AppState,
    staff: &StaffMember,
    id: i64,
    client: &str,
) -> Result<Option<Result<(Seeker, IssuedCode), IssueRefusal>>, FlowError> {
    let Some(seeker) = seeker(state, staff, id).await? else { return Ok(None) };
    let number = JobSeekerNumber::parse(&seeker.row.number)
        .map_err(|e| FlowError::Store(store::StoreError::Corrupt(e.to_string())))?;
    Ok(Some(codes::issue(state, &number, &staff.actor(), Some(client)).await?.map(|code| (seeker, code))))
}

/// One of the counter's fixes on an opened account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountAction {
    Unlock,
    RevokeBrowsers,
    Disable,
    Enable,
}

/// Applies `action`; `None` when out of scope or no account is open.
pub async fn account_action(
    state: &AppState,
    staff: &StaffMember,
    id: i64,
    action: AccountAction,
    client: &str,
) -> Result<Option<()>, FlowError> {
    if seeker(state, staff, id).await?.is_none() {
        return Ok(None);
    }
    let Some(account) = accounts::find_by_job_seeker(state.store.pool(), id).await? else { return Ok(None) };
    let now = store::ms(state.now());
    let mut tx = state.store.begin_write().await?;
    let kind = match action {
        AccountAction::Unlock => {
            accounts::unlock(&mut *tx, account.id).await?;
            // The counter has seen the person: wrong one-time passwords start over too.
            super::login::OTP_FAILURES.clear(&mut *tx, &account.id.to_string()).await?;
            "account.unlocked"
        }
        AccountAction::RevokeBrowsers => {
            login::revoke_remembered(&mut *tx, account.id, now).await?;
            "account.browsers_revoked"
        }
        AccountAction::Disable => {
            accounts::set_disabled(&mut *tx, account.id, Some(now)).await?;
            store::sessions::delete_for_account(&mut *tx, account.id).await?;
            login::revoke_remembered(&mut *tx, account.id, now).await?;
            // A disabled account keeps no way in: its passkeys go (re-enabling does not bring them back).
            store::passkeys::delete_all(&mut *tx, account.id).await?;
            "account.disabled"
        }
        AccountAction::Enable => {
            accounts::set_disabled(&mut *tx, account.id, None).await?;
            "account.enabled"
        }
    };
    let event =
        audit::Event { actor: &staff.actor(), kind, job_seeker_id: Some(id), detail: "", client_addr: Some(client) };
    audit::record(&mut *tx, &event, now).await?;
    tx.commit().await?;
    Ok(Some(()))
}

/// The counter removes one passkey of a job seeker's account (a lost phone); audited as the
/// holder's own removal is. `None` when the job seeker is not this staff member's to act on.
pub async fn revoke_passkey(
    state: &AppState,
    staff: &StaffMember,
    id: i64,
    passkey_id: i64,
    client: &str,
) -> Result<Option<bool>, FlowError> {
    if seeker(state, staff, id).await?.is_none() {
        return Ok(None);
    }
    let Some(account) = accounts::find_by_job_seeker(state.store.pool(), id).await? else { return Ok(None) };
    Ok(Some(super::passkeys::remove(state, account.id, id, passkey_id, &staff.actor(), client).await?))
}

/// Records that a staff member looked at a job seeker (reading personal data is audited too).
pub async fn record_view(state: &AppState, staff: &StaffMember, id: i64, client: &str) -> Result<(), FlowError> {
    record(state, staff, "job_seeker.viewed", id, "", client).await
}

#[derive(Debug, PartialEq, Eq)]
pub enum RegisterRefusal {
    NumberTaken,
    /// A counter clerk may register job seekers of their own office only.
    OtherOffice,
}

/// Registers one job seeker at the counter.
pub async fn register(
    state: &AppState,
    staff: &StaffMember,
    new: &job_seekers::NewJobSeeker,
    client: &str,
) -> Result<Result<i64, RegisterRefusal>, FlowError> {
    if !staff.may_act_on(new.office_id) {
        return Ok(Err(RegisterRefusal::OtherOffice));
    }
    let now = store::ms(state.now());
    let mut tx = state.store.begin_write().await?;
    let id = match job_seekers::insert(&mut *tx, new, now).await {
        Ok(id) => id,
        Err(e) if e.is_unique_violation() => return Ok(Err(RegisterRefusal::NumberTaken)),
        Err(e) => return Err(e.into()),
    };
    let event = audit::Event {
        actor: &staff.actor(),
        kind: "job_seeker.registered",
        job_seeker_id: Some(id),
        detail: &new.number,
        client_addr: Some(client),
    };
    audit::record(&mut *tx, &event, now).await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// Corrects a job seeker's registration (the 求職番号 stays). Counter staff cannot move a job
/// seeker to another office.
pub async fn edit(
    state: &AppState,
    staff: &StaffMember,
    id: i64,
    new: &job_seekers::NewJobSeeker,
    client: &str,
) -> Result<Option<Result<(), RegisterRefusal>>, FlowError> {
    let Some(existing) = seeker(state, staff, id).await? else { return Ok(None) };
    if !staff.may_act_on(new.office_id) {
        return Ok(Some(Err(RegisterRefusal::OtherOffice)));
    }
    let now = store::ms(state.now());
    let mut tx = state.store.begin_write().await?;
    job_seekers::update(&mut *tx, existing.row.id, new, now).await?;
    let event = audit::Event {
        actor: &staff.actor(),
        kind: "job_seeker.edited",
        job_seeker_id: Some(id),
        detail: "",
        client_addr: Some(client),
    };
    audit::record(&mut *tx, &event, now).await?;
    tx.commit().await?;
    Ok(Some(Ok(())))
}
