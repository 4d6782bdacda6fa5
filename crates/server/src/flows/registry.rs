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
