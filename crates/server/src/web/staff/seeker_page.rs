//! The job seeker's page (why are they stuck?), issuing a code with its printable slip, and the
//! counter's fixes.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use mypage_domain::clock::today_jst;
use mypage_domain::code_state::CodeState;
use mypage_domain::email::Email;
use serde::Deserialize;

use super::{CurrentStaff, Nav};
use crate::flows::codes::IssueRefusal;
use crate::flows::console::{self, AccountAction};
use crate::flows::console_email::{self, EmailChange};
use crate::flows::resend::{self, ResendOutcome};
use crate::i18n::{Catalog, catalog, request_lang};
use crate::state::AppState;
use crate::store;
use crate::store::outbox::Delivery;
use crate::web::client::ClientAddr;
use crate::web::delivery;
use crate::web::error::AppError;
use crate::web::form::{CsrfForm, Form};
use crate::web::page;
use crate::web::session::{self, Realm};

/// One line of the job seeker's page: a label and what to show.
pub struct Fact {
    pub label: String,
    pub value: String,
    /// Marks a value that explains why someone is stuck (void, expired, locked, failing mail).
    pub alert: bool,
}

#[derive(Template)]
#[template(path = "staff/seeker.html")]
struct SeekerPage<'a> {
    t: &'a Catalog,
    nav: Nav,
    id: i64,
    name: String,
    person: Vec<Fact>,
    code: Vec<Fact>,
    account: Vec<Fact>,
    opened: bool,
    disabled: bool,
    mails: Vec<MailLine>,
    guidance: Option<String>,
    events: Vec<Fact>,
    notice: Option<String>,
    email: String,
    /// id, name, added, last used, label of its remove button
    passkeys: Vec<(i64, String, String, String, String)>,
}

/// One mail of the log: when, what, to whom, where it is, the mail server's answer, and
/// whether 「再送」 is offered (a code mail whose code is still valid).
pub struct MailLine {
    pub label: String,
    pub value: String,
    pub answer: Option<String>,
    pub alert: bool,
    pub resend: Option<i64>,
}

#[derive(Deserialize)]
pub struct DetailQuery {
    #[serde(default)]
    done: Option<String>,
}

fn fact(label: String, value: String, alert: bool) -> Fact {
    Fact { label, value, alert }
}

pub async fn detail(
    State(state): State<AppState>,
    current: CurrentStaff,
    ClientAddr(client): ClientAddr,
    Path(id): Path<i64>,
    Query(query): Query<DetailQuery>,
) -> Result<Response, AppError> {
    let t = catalog(request_lang());
    let view = console::view(&state, &current.member, id).await?.ok_or(AppError::NotFound)?;
    console::record_view(&state, &current.member, id, &client).await?;
    let s = &view.seeker.row;
    let person = vec![
        fact(t.get("staff.seeker.number"), s.number.clone(), false),
        fact(t.get("staff.seeker.kana"), s.name_kana.clone(), false),
        fact(t.get("staff.seeker.birth_date"), s.birth_date.clone(), false),
        fact(t.get("staff.seeker.office"), format!("{} {}", view.seeker.office.number, view.seeker.office.name), false),
        fact(
            t.get("staff.seeker.email"),
            match (&s.email, &s.email_registered_on) {
                (Some(e), Some(on)) => format!("{e} ({on})"),
                (Some(e), None) => e.clone(),
                _ => t.get("staff.none"),
            },
            false,
        ),
        fact(
            t.get("staff.seeker.validity"),
            match (&s.registered_on, &s.valid_until) {
                (Some(from), Some(to)) => format!("{from} 〜 {to}"),
                (None, Some(to)) => format!("〜 {to}"),
                (Some(from), None) => format!("{from} 〜"),
                (None, None) => t.get("staff.none"),
            },
            false,
        ),
    ];
    let code = match &view.code {
        None => vec![fact(t.get("staff.code.state"), t.get("staff.code.none"), true)],
        Some((row, code_state)) => {
            let (key, alert) = match code_state {
                CodeState::Active { .. } => ("staff.code.active", false),
                CodeState::Expired => ("staff.code.expired", true),
                CodeState::Void => ("staff.code.void", true),
                CodeState::Used => ("staff.code.used", false),
            };
            vec![
                fact(t.get("staff.code.state"), t.get(key), alert),
                fact(
                    t.get("staff.code.failures"),
                    format!("{} / {}", row.failed_attempts, state.settings.code_max_failures),
                    row.failed_attempts > 0,
                ),
                fact(t.get("staff.code.issued"), crate::i18n::datetime_ms(row.issued_at), false),
                fact(t.get("staff.code.expires"), crate::i18n::datetime_ms(row.expires_at), false),
            ]
        }
    };
    let now = store::ms(state.now());
    let account = match &view.account {
        None => vec![fact(t.get("staff.account.state"), t.get("staff.account.not_opened"), false)],
        Some((a, login)) => vec![
            fact(
                t.get("staff.account.state"),
                t.get(if a.disabled_at.is_some() { "staff.account.disabled" } else { "staff.account.opened" }),
                a.disabled_at.is_some(),
            ),
            fact(t.get("staff.account.login_id"), a.email.clone(), false),
            fact(t.get("staff.account.opened_at"), crate::i18n::datetime_ms(a.created_at), false),
            fact(
                t.get("staff.account.consent"),
                format!("v{} / v{} ({})", a.privacy_version, a.terms_version, crate::i18n::datetime_ms(a.consented_at)),
                false,
            ),
            fact(
                t.get("staff.account.last_login"),
                login.last_login.map(crate::i18n::datetime_ms).unwrap_or_else(|| t.get("staff.none")),
                false,
            ),
            fact(
                t.get("staff.account.locked_until"),
                login
                    .locked_until
                    .filter(|u| *u > now)
                    .map(crate::i18n::datetime_ms)
                    .unwrap_or_else(|| t.get("staff.none")),
                login.locked_until.is_some_and(|u| u > now),
            ),
            fact(t.get("staff.account.failed_logins"), login.failed_logins.to_string(), login.failed_logins > 0),
            fact(t.get("staff.account.remembered"), login.remembered.to_string(), false),
        ],
    };
    let passkeys = match &view.account {
        Some((a, _)) => store::passkeys::for_account(state.store.pool(), a.id)
            .await?
            .into_iter()
            .map(|p| {
                let last = p.last_used_at.map_or_else(|| t.get("staff.none"), crate::i18n::datetime_ms);
                let remove = t.fmt("staff.account.passkey_revoke_named", &[("name", &p.name)]);
                (p.id, p.name, crate::i18n::datetime_ms(p.created_at), last, remove)
            })
            .collect(),
        None => Vec::new(),
    };
    let mut mails = Vec::with_capacity(view.mails.len());
    for m in &view.mails {
        let (value, answer, alert) = match m.delivery() {
            Delivery::Waiting => (t.get("staff.mail.queued"), None, false),
            Delivery::Handed { at } => {
                (t.fmt("staff.mail.sent", &[("at", &crate::i18n::datetime_ms(at))]), None, false)
            }
            Delivery::Retrying { error } => (
                t.fmt("staff.mail.retrying", &[("attempts", &m.attempts.to_string()), ("error", "")]),
                Some(error),
                true,
            ),
            Delivery::Refused { answer } => (t.get("staff.mail.refused"), Some(answer), true),
            Delivery::Expired => (t.get("staff.mail.expired"), m.last_error.clone(), true),
            Delivery::GivenUp { error } => (t.fmt("staff.mail.failed", &[("error", "")]), Some(error), true),
        };
        let kind = t.get(&format!("staff.mail.kind.{}", m.kind.split('.').next().unwrap_or("")));
        mails.push(MailLine {
            label: format!("{} {kind} → {}", crate::i18n::datetime_ms(m.created_at), m.to_addr),
            value,
            answer: answer.filter(|a| !a.is_empty()),
            alert,
            resend: resend::is_resendable(&state, m).await?.then_some(m.id),
        });
    }
    let address = view.account.as_ref().map(|(a, _)| a.email.clone()).or_else(|| s.email.clone());
    let address = address.or_else(|| view.mails.first().map(|m| m.to_addr.clone()));
    let guidance = address.map(|a| delivery::guidance_for_address(t, &a, &delivery::sender_domain(&state)));
    let events = view
        .events
        .iter()
        .take(50)
        .map(|e| {
            let label = t.try_get(&format!("staff.event.{}", e.kind)).unwrap_or_else(|| t.get("staff.event.other"));
            fact(crate::i18n::datetime_ms(e.at), format!("{label} ({}) {}", e.actor, e.detail), false)
        })
        .collect();
    let notice = query.done.as_deref().and_then(|d| match d {
        "unlock" | "revoke-browsers" | "disable" | "enable" | "email" | "email_invalid" | "email_in_use" | "edit"
        | "resent" | "resend_limited" | "resend_gone" | "passkey_revoked" => Some(t.get(&format!("staff.done.{d}"))),
        _ => None,
    });
    let page = SeekerPage {
        t,
        nav: Nav::of(&current),
        id,
        name: s.name.clone(),
        person,
        code,
        opened: view.account.is_some(),
        disabled: view.account.as_ref().is_some_and(|(a, _)| a.disabled_at.is_some()),
        account,
        mails,
        guidance,
        events,
        notice,
        email: view.account.as_ref().map(|(a, _)| a.email.clone()).or_else(|| s.email.clone()).unwrap_or_default(),
        passkeys,
    };
    Ok(page::html(page.render()?, false))
}

#[derive(Template)]
#[template(path = "staff/slip.html")]
struct SlipPage<'a> {
    t: &'a Catalog,
    office: String,
    notice: Option<String>,
    name: String,
    code: String,
    expires: String,
    qr_svg: String,
    url: String,
    issued: String,
    guidance: Vec<String>,
    id: i64,
}

/// Issues (or reissues) a code and answers with the printable slip: the only moment the code
/// exists in clear, so reprinting means reissuing.
pub async fn issue_code(
    State(state): State<AppState>,
    current: CurrentStaff,
    ClientAddr(client): ClientAddr,
    headers: axum::http::HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    let t = catalog(request_lang());
    let (seeker, issued) = match console::issue_code(&state, &current.member, id, &client).await? {
        None => return Err(AppError::NotFound),
        Some(Err(IssueRefusal::AlreadyOpened | IssueRefusal::UnknownJobSeeker)) => {
            return Ok(page::see_other(&format!("/staff/seekers/{id}")));
        }
        Some(Ok(done)) => done,
    };
    let url = format!("{}/", state.settings.base_url.as_str());
    let page = SlipPage {
        t,
        office: seeker.office.name.clone(),
        notice: seeker.office.slip_notice.clone(),
        name: seeker.row.name.clone(),
        code: issued.code.grouped(),
        expires: t.fmt("staff.slip.expires", &[("expires", &crate::i18n::datetime(request_lang(), issued.expires_at))]),
        qr_svg: super::auth::qr_svg(&url),
        url,
        issued: crate::i18n::datetime(request_lang(), state.now()),
        guidance: delivery::slip_guidance(t, seeker.row.email.as_deref(), &delivery::sender_domain(&state)),
        id,
    };
    Ok(page::html(page.render()?, false))
}

pub async fn account_action(
    State(state): State<AppState>,
    current: CurrentStaff,
    ClientAddr(client): ClientAddr,
    headers: axum::http::HeaderMap,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    let action_kind = match action.as_str() {
        "unlock" => AccountAction::Unlock,
        "revoke-browsers" => AccountAction::RevokeBrowsers,
        "disable" => AccountAction::Disable,
        "enable" => AccountAction::Enable,
        _ => return Err(AppError::NotFound),
    };
    console::account_action(&state, &current.member, id, action_kind, &client).await?.ok_or(AppError::NotFound)?;
    Ok(page::see_other(&format!("/staff/seekers/{id}?done={action}")))
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

pub async fn change_email(
    State(state): State<AppState>,
    current: CurrentStaff,
    ClientAddr(client): ClientAddr,
    headers: axum::http::HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<EmailForm>,
) -> Result<Response, AppError> {
    session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    let Ok(email) = Email::parse(&form.email) else {
        return Ok(page::see_other(&format!("/staff/seekers/{id}?done=email_invalid")));
    };
    let today = today_jst(state.now());
    let done = match console_email::change_email(&state, &current.member, id, &email, today, &client)
        .await?
        .ok_or(AppError::NotFound)?
    {
        EmailChange::Changed => "email",
        EmailChange::InUse => "email_in_use",
    };
    Ok(page::see_other(&format!("/staff/seekers/{id}?done={done}")))
}

/// 「再送」: a code mail whose code is still valid, sent again with a fresh code (`flows/resend.rs`).
pub async fn resend_mail(
    State(state): State<AppState>,
    current: CurrentStaff,
    ClientAddr(client): ClientAddr,
    headers: axum::http::HeaderMap,
    Path((id, mail_id)): Path<(i64, i64)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    let done = match resend::resend(&state, &current.member, id, mail_id, &client).await?.ok_or(AppError::NotFound)? {
        ResendOutcome::Sent => "resent",
        ResendOutcome::Limited => "resend_limited",
        ResendOutcome::NotResendable => "resend_gone",
    };
    Ok(page::see_other(&format!("/staff/seekers/{id}?done={done}")))
}

/// The counter removes one of the job seeker's passkeys.
pub async fn revoke_passkey(
    State(state): State<AppState>,
    current: CurrentStaff,
    ClientAddr(client): ClientAddr,
    headers: axum::http::HeaderMap,
    Path((id, passkey_id)): Path<(i64, i64)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    session::for_post_in(&state, Realm::Staff, &headers, &form.csrf).await?;
    console::revoke_passkey(&state, &current.member, id, passkey_id, &client).await?.ok_or(AppError::NotFound)?;
    Ok(page::see_other(&format!("/staff/seekers/{id}?done=passkey_revoked")))
}
