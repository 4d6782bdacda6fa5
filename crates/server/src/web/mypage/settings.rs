//! 「アカウント設定」: change the login ID (the current password, then a code to the new address),
//! change the password, see and revoke remembered browsers, see recent logins, log out everywhere.

pub(crate) mod email;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use mypage_domain::secret::Secret;
use mypage_domain::user_agent::{approximate_address, describe};
use serde::Deserialize;

pub use self::email::{confirm_email, show_confirm, start_email};
use super::CurrentAccount;
use crate::flows::opening;
use crate::flows::settings::{self as flow, PasswordChange};
use crate::i18n::{Catalog, catalog, request_lang};
use crate::state::AppState;
use crate::store::{self, accounts, settings as store_settings};
use crate::web::client::ClientAddr;
use crate::web::error::AppError;
use crate::web::form::{CsrfForm, Form};
use crate::web::page::{self, Errors, echo};
use crate::web::session::{self, Realm};

/// "Safari on iPhone", in the page's language.
fn device(t: &Catalog, user_agent: &str) -> String {
    let (browser, os) = describe(user_agent);
    t.fmt(
        "device.describe",
        &[("browser", &t.get(&format!("browser.{}", browser.key()))), ("os", &t.get(&format!("os.{}", os.key())))],
    )
}

#[derive(Template)]
#[template(path = "mypage/settings.html")]
struct SettingsPage<'a> {
    t: &'a Catalog,
    csrf: String,
    current_email: String,
    new_email: String,
    /// id, device, first use, last use, expiry
    browsers: Vec<(i64, String, String, String, String)>,
    /// when, device, method, approximate address
    logins: Vec<(String, String, String, String)>,
    /// Whether passkeys can be added here (the base URL makes a relying party).
    passkeys_offered: bool,
    /// id, name, added, last used, label of its remove button
    passkeys: Vec<(i64, String, String, String, String)>,
    passkey_name: String,
    errors: Errors,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct SettingsQuery {
    #[serde(default)]
    done: Option<String>,
}

pub(super) async fn render(
    state: &AppState,
    current: &CurrentAccount,
    new_email: &str,
    errors: Errors,
    notice: Option<String>,
) -> Result<Response, AppError> {
    render_with(state, current, new_email, "", errors, notice).await
}

/// The page with what was typed into the email and passkey name fields.
pub(crate) async fn render_with(
    state: &AppState,
    current: &CurrentAccount,
    new_email: &str,
    passkey_name: &str,
    errors: Errors,
    notice: Option<String>,
) -> Result<Response, AppError> {
    let t = catalog(request_lang());
    let pool = state.store.pool();
    let account = accounts::find(pool, current.account_id).await?.ok_or(AppError::NotFound)?;
    let now = store::ms(state.now());
    let browsers = store_settings::remembered(pool, current.account_id, now)
        .await?
        .into_iter()
        .map(|b| {
            (
                b.id,
                device(t, &b.user_agent),
                crate::i18n::datetime_ms(b.created_at),
                crate::i18n::datetime_ms(b.last_used_at),
                crate::i18n::datetime_ms(b.expires_at),
            )
        })
        .collect();
    let logins = store_settings::recent_logins(pool, current.account_id)
        .await?
        .into_iter()
        .map(|l| {
            let method = t.get(match l.method.as_str() {
                "otp" => "mypage.settings.method_otp",
                "passkey" => "mypage.settings.method_passkey",
                _ => "mypage.settings.method_remembered",
            });
            (crate::i18n::datetime_ms(l.at), device(t, &l.user_agent), method, approximate_address(&l.client_addr))
        })
        .collect();
    let passkeys = store::passkeys::for_account(pool, current.account_id)
        .await?
        .into_iter()
        .map(|p| {
            let last =
                p.last_used_at.map_or_else(|| t.get("mypage.settings.passkeys.never_used"), crate::i18n::datetime_ms);
            let remove = t.fmt("mypage.settings.passkeys.remove_named", &[("name", &p.name)]);
            (p.id, p.name, crate::i18n::datetime_ms(p.created_at), last, remove)
        })
        .collect();
    let has_errors = !errors.is_empty();
    let page = SettingsPage {
        t,
        csrf: current.session.csrf.clone(),
        current_email: t.fmt("mypage.settings.email_current", &[("email", &account.email)]),
        new_email: echo(new_email),
        browsers,
        logins,
        passkeys_offered: state.webauthn.is_some(),
        passkeys,
        passkey_name: echo(passkey_name),
        errors,
        notice,
    };
    Ok(page::html(page.render()?, has_errors))
}

/// Settings wait until a new version of the documents is accepted (SPEC §3.10 notices).
async fn consent_gate(state: &AppState, current: &CurrentAccount) -> Result<Option<Response>, AppError> {
    let home = flow::home(state, current.account_id).await?.ok_or(AppError::NotFound)?;
    Ok(home.consent_due.then(|| page::see_other("/mypage/consent")))
}

pub async fn show(
    State(state): State<AppState>,
    current: CurrentAccount,
    Query(query): Query<SettingsQuery>,
) -> Result<Response, AppError> {
    if let Some(redirect) = consent_gate(&state, &current).await? {
        return Ok(redirect);
    }
    let t = catalog(request_lang());
    let notice = query.done.as_deref().and_then(|d| match d {
        "password" => Some(t.get("mypage.settings.password_changed")),
        "email" => Some(t.get("mypage.settings.email_changed")),
        "revoked" => Some(t.get("mypage.settings.revoked")),
        "passkey_added" => Some(t.get("mypage.settings.passkeys.added_notice")),
        "passkey_removed" => Some(t.get("mypage.settings.passkeys.removed_notice")),
        _ => None,
    });
    render(&state, &current, "", Errors::default(), notice).await
}

/// The current password typed on one of the settings forms (never echoed back), or an error on
/// `field` when it is empty: nothing is hashed or counted for an empty field.
pub(super) fn current_password(raw: &str, field: &'static str, t: &Catalog, errors: &mut Errors) -> Option<Secret> {
    if raw.is_empty() {
        errors.add(field, t.get("mypage.settings.password_current_empty"));
        return None;
    }
    Some(Secret::new(raw.chars().take(256).collect()))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    current: CurrentAccount,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let session = session::for_post(&state, &headers, &form.csrf).await?;
    let t = catalog(request_lang());
    let account = accounts::find(state.store.pool(), current.account_id).await?.ok_or(AppError::NotFound)?;
    let password = Secret::new(form.password.chars().take(256).collect());
    let confirmation = Secret::new(form.password_confirmation.chars().take(256).collect());
    let policy =
        opening::password_policy(&state, Some(account.job_seeker_id), &account.email, password, &confirmation).await?;
    let mut errors = Errors::default();
    let current_password = current_password(&form.current_password, "current_password", t, &mut errors);
    let new = policy.map_err(|unmet| page::password_errors(&mut errors, t, unmet)).ok();
    let (Some(current_password), Some(new)) = (current_password, new) else {
        return render(&state, &current, "", errors, None).await;
    };
    let lang = request_lang();
    let id_hash = session.id_hash();
    let message =
        match flow::change_password(&state, current.account_id, id_hash, &current_password, &new, &client, lang).await?
        {
            PasswordChange::Changed => return Ok(page::see_other("/mypage/settings?done=password")),
            PasswordChange::WrongCurrent => "mypage.settings.password_wrong_current",
            PasswordChange::CurrentLimited => "mypage.settings.password_limited",
        };
    errors.add("current_password", t.get(message));
    render(&state, &current, "", errors, None).await
}

pub async fn revoke_browser(
    State(state): State<AppState>,
    current: CurrentAccount,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    session::for_post(&state, &headers, &form.csrf).await?;
    flow::revoke_browsers(&state, current.account_id, Some(id)).await?;
    Ok(page::see_other("/mypage/settings?done=revoked"))
}

pub async fn revoke_all(
    State(state): State<AppState>,
    current: CurrentAccount,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    session::for_post(&state, &headers, &form.csrf).await?;
    flow::revoke_browsers(&state, current.account_id, None).await?;
    Ok(page::see_other("/mypage/settings?done=revoked"))
}

pub async fn logout_everywhere(
    State(state): State<AppState>,
    current: CurrentAccount,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    session::for_post(&state, &headers, &form.csrf).await?;
    flow::logout_everywhere(&state, current.account_id).await?;
    let clear = session::clear_cookie(&state, Realm::Public)?;
    Ok(page::with_cookie(page::see_other("/login?notice=logged_out_everywhere"), Some(clear)))
}
