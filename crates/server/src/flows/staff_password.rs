//! A staff member's own password change (SPEC §4, §6): the current password is required every
//! time, also for the forced change after a one-time password; the member's other staff
//! sessions end, this one stays; audited.

use mypage_domain::password::{NewPassword, PasswordContext, PasswordRule};
use mypage_domain::secret::Secret;

use super::FlowError;
use super::limits::CURRENT_PASSWORD_FAILURES;
use crate::state::AppState;
use crate::store::{self, audit, sessions, staff};

/// What the form asked for, when it was refused; both parts are shown at once.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordChange {
    Changed,
    Refused {
        /// The current password (or, at first login, the one-time password) was not right.
        wrong_current: bool,
        /// Rules of the password policy (SPEC §3.4) the new password does not meet.
        unmet: Vec<PasswordRule>,
    },
    /// Too many wrong current passwords within the hour: nothing was checked.
    Limited,
}

/// The form as typed.
#[derive(Debug)]
pub struct ChangeRequest<'a> {
    pub current: &'a Secret,
    pub password: Secret,
    pub confirmation: &'a Secret,
}

/// Verifies a staff member's current password before a change that outlives the session (a new
/// passkey), within the same budget of wrong current passwords as the change of password.
pub async fn verify_current(
    state: &AppState,
    staff_id: i64,
    current: &Secret,
) -> Result<super::settings::CurrentPassword, FlowError> {
    use super::settings::CurrentPassword;
    let Some(row) = staff::find(state.store.pool(), staff_id).await? else { return Ok(CurrentPassword::Wrong) };
    let Ok(slot) = CURRENT_PASSWORD_FAILURES.reserve(state, &format!("staff:{}", row.id)).await? else {
        return Ok(CurrentPassword::Limited);
    };
    if state.hasher.verify(current, Some(row.password_hash.clone())).await? {
        slot.release(state).await?;
        Ok(CurrentPassword::Right)
    } else {
        slot.keep();
        Ok(CurrentPassword::Wrong)
    }
}

/// Changes the password of staff member `staff_id` from their session `session_hash`.
pub async fn change_password(
    state: &AppState,
    staff_id: i64,
    session_hash: &str,
    request: ChangeRequest<'_>,
    client: &str,
) -> Result<PasswordChange, FlowError> {
    let Some(row) = staff::find(state.store.pool(), staff_id).await? else {
        return Ok(PasswordChange::Refused { wrong_current: true, unmet: Vec::new() });
    };
    // Reserved before the hash: a borrowed session guesses the current password no faster here
    // than at the login.
    let Ok(slot) = CURRENT_PASSWORD_FAILURES.reserve(state, &format!("staff:{}", row.id)).await? else {
        return Ok(PasswordChange::Limited);
    };
    // Checked even when the new password is refused anyway, so both answers come at once.
    let right = state.hasher.verify(request.current, Some(row.password_hash.clone())).await?;
    if right {
        slot.release(state).await?;
    } else {
        slot.keep();
    }
    let new = NewPassword::parse(request.password, request.confirmation, &PasswordContext::default());
    let new = match (right, new) {
        (true, Ok(new)) => new,
        (right, new) => {
            let unmet = new.err().unwrap_or_default();
            return Ok(PasswordChange::Refused { wrong_current: !right, unmet });
        }
    };
    let hash = state.hasher.hash(new.secret()).await?;
    let now = store::ms(state.now());
    let mut tx = state.store.begin_write().await?;
    staff::set_password(&mut *tx, row.id, &hash).await?;
    let ended = sessions::delete_other_for_staff(&mut *tx, row.id, session_hash).await?;
    let actor = format!("staff:{}", row.login_id);
    let detail = format!("other sessions ended: {ended}");
    let event = audit::Event {
        actor: &actor,
        kind: "staff.password_changed",
        job_seeker_id: None,
        detail: &detail,
        client_addr: Some(client),
    };
    audit::record(&mut *tx, &event, now).await?;
    tx.commit().await?;
    Ok(PasswordChange::Changed)
}
