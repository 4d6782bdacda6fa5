//! The counter's registry: offices and job seekers.

use super::FlowError;
use crate::state::AppState;
use crate::store::{self, audit, offices};

/// A five-digit office number (安定所番号).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeNumber(String);

impl OfficeNumber {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = mypage_domain::text::normalize(raw);
        if s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s))
        } else {
            Err("an office number is 5 digits, like 01010")
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum AddOffice {
    Added(i64),
    NumberTaken,
}

pub async fn add_office(
    state: &AppState,
    number: &OfficeNumber,
    name: &str,
    notice: Option<&str>,
    actor: &str,
) -> Result<AddOffice, FlowError> {
    let now = store::ms(state.now());
    let mut tx = state.store.begin_write().await?;
    let id = match offices::insert(&mut *tx, number.as_str(), name, notice, now).await {
        Ok(id) => id,
        Err(e) if e.is_unique_violation() => return Ok(AddOffice::NumberTaken),
        Err(e) => return Err(e.into()),
    };
    let detail = format!("office {} {name}", number.as_str());
    let event = audit::Event { actor, kind: "office.added", job_seeker_id: None, detail: &detail, client_addr: None };
    audit::record(&mut *tx, &event, now).await?;
    tx.commit().await?;
    Ok(AddOffice::Added(id))
}

/// What an admin sets of an office on 「安定所」.
pub struct OfficeUpdate<'a> {
    pub name: &'a str,
    pub notice: Option<&'a str>,
    /// `None` where passkeys cannot be offered (the form had no such checkbox).
    pub staff_passkeys_required: Option<bool>,
}

/// Saves an office's name and slip notice (`office.updated`), and whether its staff must log in
/// with a passkey, audited as `office.staff_passkeys_required` / `_optional` when that changes.
pub async fn update_office(state: &AppState, id: i64, update: &OfficeUpdate<'_>, actor: &str) -> Result<(), FlowError> {
    let now = store::ms(state.now());
    let mut tx = state.store.begin_write().await?;
    offices::update(&mut *tx, id, update.name, update.notice).await?;
    let record = |kind| audit::Event { actor, kind, job_seeker_id: None, detail: update.name, client_addr: None };
    audit::record(&mut *tx, &record("office.updated"), now).await?;
    if let Some(required) = update.staff_passkeys_required
        && offices::set_passkeys_required(&mut *tx, id, required).await?
    {
        let kind = if required { "office.staff_passkeys_required" } else { "office.staff_passkeys_optional" };
        audit::record(&mut *tx, &record(kind), now).await?;
    }
    tx.commit().await?;
    Ok(())
}
