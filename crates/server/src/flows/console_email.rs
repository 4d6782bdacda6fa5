//! The counter's 「登録メールアドレスの変更」 (SPEC §4): the job seeker lost the mailbox, so the
//! registered email, and the login ID of an opened account, change. Everything tied to the old
//! address ends in the same transaction (sessions, remembered browsers, pending auth keys,
//! one-time passwords and email changes), and both addresses are told through the outbox.

use mypage_domain::email::Email;

use super::FlowError;
use super::console;
use super::staff::StaffMember;
use crate::i18n::{Lang, catalog};
use crate::mail::{self, Message};
use crate::state::AppState;
use crate::store::{self, accounts, audit, auth_keys, job_seekers, login, sessions, settings};

#[derive(Debug, PartialEq, Eq)]
pub enum EmailChange {
    Changed,
    /// Another account already has this address as its login ID.
    InUse,
}

/// Changes the registered email of job seeker `id`; `None` when out of the staff member's scope.
/// A job seeker without an account gets no mail (there is no login ID to tell about); their
/// pending auth keys end all the same, since they went to the old address.
pub async fn change_email(
    state: &AppState,
    staff: &StaffMember,
    id: i64,
    email: &Email,
    today: jiff::civil::Date,
    client: &str,
) -> Result<Option<EmailChange>, FlowError> {
    let Some(seeker) = console::seeker(state, staff, id).await? else { return Ok(None) };
    let now = state.now();
    let at = store::ms(now);
    let mut tx = state.store.begin_write().await?;
    let account = accounts::find_by_job_seeker(&mut *tx, id).await?;
    let old = account.as_ref().map(|a| a.email.clone()).or_else(|| seeker.row.email.clone());
    let mut ended = Vec::new();
    if let Some(account) = &account {
        match accounts::set_email(&mut *tx, account.id, email.as_str()).await {
            Ok(()) => {}
            Err(e) if e.is_unique_violation() => return Ok(Some(EmailChange::InUse)),
            Err(e) => return Err(e.into()),
        }
        ended.push(("sessions", sessions::delete_for_account(&mut *tx, account.id).await?));
        ended.push(("remembered browsers", login::revoke_remembered(&mut *tx, account.id, at).await?));
        ended.push(("one-time passwords", login::void_challenges(&mut *tx, account.id, at).await?));
        ended.push(("email changes", settings::void_email_changes(&mut *tx, account.id, at).await?));
    }
    ended.push(("auth keys", auth_keys::void_for_job_seeker(&mut *tx, id, at).await?));
    ended.push(("recovery requests", store::recovery_requests::void_for_job_seeker(&mut *tx, id, at).await?));
    job_seekers::set_email(&mut *tx, id, Some(email.as_str()), Some(&today.to_string()), at).await?;
    if let Some(account) = &account {
        // The holder reads these, not the clerk: the account's language.
        let lang = settings::lang(&mut *tx, account.id).await?.and_then(|l| Lang::parse(&l)).unwrap_or(Lang::Ja);
        let (t, base, office) = (catalog(lang), state.settings.base_url.as_str(), seeker.office.name.as_str());
        if account.email != email.as_str() {
            let to_old = Message::EmailChangedByCounterV1 { office };
            mail::enqueue(&mut tx, t, base, &account.email, Some(id), &to_old, now).await?;
        }
        let to_new = Message::LoginIdSetByCounterV1 { office };
        mail::enqueue(&mut tx, t, base, email.as_str(), Some(id), &to_new, now).await?;
    }
    let ended: Vec<String> = ended.iter().map(|(what, n)| format!("{n} {what}")).collect();
    let detail = format!(
        "registered email changed at the counter from {} to {}; ended: {}",
        old.as_deref().unwrap_or("(none)"),
        email.as_str(),
        ended.join(", ")
    );
    let event = audit::Event {
        actor: &staff.actor(),
        kind: "job_seeker.email_changed",
        job_seeker_id: Some(id),
        detail: &detail,
        client_addr: Some(client),
    };
    audit::record(&mut *tx, &event, at).await?;
    tx.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(Some(EmailChange::Changed))
}
