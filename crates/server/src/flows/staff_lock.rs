//! The staff password lock (SPEC §4, §6). Every attempt on a known staff ID is reserved in the
//! database before its password is hashed, and a login is decided by a guarded update, so N
//! parallel attempts on any number of nodes never get more done than the same N one at a time:
//! the tenth counted failure locks, failures during the lock are neither counted nor extend it,
//! and a right password decided after someone else's failure locked the account is refused.
//! Also the audit of refused logins and locks, and unlocking by an admin or the CLI.

use jiff::Timestamp;

use super::FlowError;
use super::staff::{LOCK_THRESHOLD, parse_login_id};
use crate::state::AppState;
use crate::store::{self, audit, staff};

/// One attempt counted before its password was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// Consecutive failures including this attempt (it counts as one until accepted).
    pub count: i64,
    /// The lock this attempt set because its count reached the threshold: provisional, lifted
    /// again by [`accept`] if the attempt turns out right.
    pub own_lock: Option<i64>,
}

/// Reserves an attempt on staff member `staff_id`; `None` while locked or disabled (nothing is
/// counted then, and the caller refuses whatever was typed).
pub async fn reserve(state: &AppState, staff_id: i64, now: Timestamp) -> Result<Option<Attempt>, FlowError> {
    let until = store::ms(now + state.settings.login_lock);
    let count = staff::reserve_attempt(state.store.pool(), staff_id, store::ms(now), until, LOCK_THRESHOLD).await?;
    Ok(count.map(|count| Attempt { count, own_lock: (count >= LOCK_THRESHOLD).then_some(until) }))
}

/// Decides an attempt whose password (and TOTP `step`, when enrolled) was right. False when
/// another request's failure locked the member meanwhile, or the step was used already.
pub async fn accept(
    state: &AppState,
    staff_id: i64,
    attempt: &Attempt,
    step: Option<i64>,
    now: Timestamp,
) -> Result<bool, FlowError> {
    let pool = state.store.pool();
    Ok(staff::accept_login(pool, staff_id, step, attempt.own_lock, LOCK_THRESHOLD, store::ms(now)).await?)
}

/// The typed staff ID as the audit log may show it: at most 32 printable ASCII characters, the
/// rest replaced, so neither control characters nor a long paste (a password typed into the
/// wrong field) lands whole in the log.
pub fn loggable_login_id(raw: &str) -> String {
    let normalized = mypage_domain::text::normalize(raw);
    let mut shown: String = normalized.chars().take(32).map(|c| if c.is_ascii_graphic() { c } else { '?' }).collect();
    if normalized.chars().count() > 32 {
        shown.push('…');
    }
    shown
}

/// Audits a refused login: `staff.login_failed` always (unknown IDs too, as `staff:?`), and
/// `staff.locked` when this attempt's failure is the one that set the lock, so there is exactly
/// one such event per lock.
pub async fn record_refusal(
    state: &AppState,
    typed_login_id: &str,
    row: Option<&staff::StaffRow>,
    attempt: Option<&Attempt>,
    client: &str,
    now: Timestamp,
) -> Result<(), FlowError> {
    let (actor, detail) = match (row, attempt) {
        (None, _) => ("staff:?".to_owned(), format!("unknown staff ID \"{}\"", loggable_login_id(typed_login_id))),
        (Some(r), None) if r.disabled_at.is_some() => (actor_of(r), "not counted: disabled".to_owned()),
        (Some(r), None) => (actor_of(r), "not counted: locked".to_owned()),
        (Some(r), Some(a)) => (actor_of(r), format!("attempt {} of {LOCK_THRESHOLD}", a.count)),
    };
    let at = store::ms(now);
    let mut tx = state.store.begin_write().await?;
    let failed = audit::Event {
        actor: &actor,
        kind: "staff.login_failed",
        job_seeker_id: None,
        detail: &detail,
        client_addr: Some(client),
    };
    audit::record(&mut *tx, &failed, at).await?;
    if let Some(until) = attempt.and_then(|a| a.own_lock) {
        let until = mypage_domain::jst::to_jst(store::ts(until)?).strftime("%Y-%m-%d %H:%M JST").to_string();
        let detail = format!("{LOCK_THRESHOLD} failed attempts; locked until {until}");
        let locked = audit::Event {
            actor: &actor,
            kind: "staff.locked",
            job_seeker_id: None,
            detail: &detail,
            client_addr: Some(client),
        };
        audit::record(&mut *tx, &locked, at).await?;
    }
    tx.commit().await?;
    Ok(())
}

fn actor_of(row: &staff::StaffRow) -> String {
    format!("staff:{}", row.login_id)
}

/// Lifts a staff member's lock and clears the failure count. False for an unknown id.
pub async fn unlock(state: &AppState, staff_id: i64, actor: &str) -> Result<bool, FlowError> {
    let Some(row) = staff::find(state.store.pool(), staff_id).await? else { return Ok(false) };
    let now = store::ms(state.now());
    let mut tx = state.store.begin_write().await?;
    staff::unlock(&mut *tx, row.id).await?;
    let detail = format!("staff {}", row.login_id);
    let event = audit::Event { actor, kind: "staff.unlocked", job_seeker_id: None, detail: &detail, client_addr: None };
    audit::record(&mut *tx, &event, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// [`unlock`] by staff ID (the CLI). False when no staff member has that ID.
pub async fn unlock_login_id(state: &AppState, login_id: &str, actor: &str) -> Result<bool, FlowError> {
    let Some(login_id) = parse_login_id(login_id) else { return Ok(false) };
    let Some(row) = staff::find_by_login(state.store.pool(), &login_id).await? else { return Ok(false) };
    unlock(state, row.id, actor).await
}

#[cfg(test)]
mod tests {
    use super::loggable_login_id;

    #[test]
    fn a_typed_staff_id_is_logged_short_and_printable() {
        assert_eq!(loggable_login_id(" ＡＤＭＩＮ "), "ADMIN");
        assert_eq!(loggable_login_id("a\u{7}b\nc"), "a?b?c");
        assert_eq!(loggable_login_id("山田"), "??");
        let long = "x".repeat(40);
        assert_eq!(loggable_login_id(&long), format!("{}…", "x".repeat(32)));
    }
}
