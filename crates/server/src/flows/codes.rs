//! Issuing an account creation code, as the counter does: valid for `code_ttl`, voiding every
//! earlier unused code of the job seeker in the same transaction.

use jiff::Timestamp;
use mypage_domain::account_code::AccountCode;
use mypage_domain::job_seeker_number::JobSeekerNumber;

use super::FlowError;
use crate::state::AppState;
use crate::store::{self, accounts, attempts, audit, codes, job_seekers};
use crate::tokens::{self, Purpose};

#[derive(Debug)]
pub struct IssuedCode {
    pub code: AccountCode,
    pub expires_at: Timestamp,
    pub job_seeker_id: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum IssueRefusal {
    UnknownJobSeeker,
    AlreadyOpened,
}

/// Issues a new code. `issued_by` names the actor for the audit log (`cli`, `staff:<id>`).
pub async fn issue(
    state: &AppState,
    number: &JobSeekerNumber,
    issued_by: &str,
    client: Option<&str>,
) -> Result<Result<IssuedCode, IssueRefusal>, FlowError> {
    let Some(seeker) = job_seekers::find_by_number(state.store.pool(), number.as_str()).await? else {
        return Ok(Err(IssueRefusal::UnknownJobSeeker));
    };
    if accounts::find_by_job_seeker(state.store.pool(), seeker.id).await?.is_some() {
        return Ok(Err(IssueRefusal::AlreadyOpened));
    }
    let code = tokens::random_account_code()?;
    let now = state.now();
    let expires_at = now + state.settings.code_ttl;
    let mut tx = state.store.begin_write().await?;
    // Serializes reissues per job seeker (two counters at once, or a double click), so the
    // void-then-insert below never leaves two live codes.
    attempts::lock_subject(&mut *tx, "code.issue", &seeker.id.to_string(), store::ms(now)).await?;
    let voided = codes::void_unused(&mut *tx, seeker.id, store::ms(now)).await?;
    codes::insert(
        &mut *tx,
        seeker.id,
        &state.keys.hash(Purpose::AccountCode, code.as_str()),
        store::ms(now),
        store::ms(expires_at),
        issued_by,
    )
    .await?;
    let detail = if voided > 0 { "code reissued; earlier code voided" } else { "code issued" };
    let event = audit::Event {
        actor: issued_by,
        kind: "code.issued",
        job_seeker_id: Some(seeker.id),
        detail,
        client_addr: client,
    };
    audit::record(&mut *tx, &event, store::ms(now)).await?;
    tx.commit().await?;
    Ok(Ok(IssuedCode { code, expires_at, job_seeker_id: seeker.id }))
}
