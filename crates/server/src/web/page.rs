//! Pieces every page shares: the field errors and their summary, and responses that carry a
//! session cookie.

use axum::http::{HeaderValue, StatusCode, header};
use mypage_domain::password::{PasswordRule, check_each};

use crate::i18n::Catalog;
use axum::response::{Html, IntoResponse, Redirect, Response};

/// One error shown next to its field and, linked, in the summary at the top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The id of the input it belongs to (the summary links to `#id`).
    pub field: &'static str,
    pub message: String,
}

/// The errors of one form submission.
#[derive(Debug, Clone, Default)]
pub struct Errors {
    pub list: Vec<FieldError>,
}

impl Errors {
    pub fn add(&mut self, field: &'static str, message: String) {
        self.list.push(FieldError { field, message });
    }
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
    /// The messages for one field (for the markup next to it).
    pub fn for_field(&self, field: &str) -> Vec<&str> {
        self.list.iter().filter(|e| e.field == field).map(|e| e.message.as_str()).collect()
    }
    pub fn has(&self, field: &str) -> bool {
        self.list.iter().any(|e| e.field == field)
    }
}

/// A rendered page: 200, or 422 when it shows the errors of a submission.
pub fn html(body: String, has_errors: bool) -> Response {
    let status = if has_errors { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    (status, Html(body)).into_response()
}

/// A rendered page with another status (a refused form post: 403).
pub fn with_status(body: String, status: StatusCode) -> Response {
    (status, Html(body)).into_response()
}

/// 303 See Other: where a successful POST goes.
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Adds a `Set-Cookie` header when there is one.
pub fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// Strips control characters from a value echoed back into a form.
pub fn echo(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).take(300).collect()
}

/// The password policy's character rules as listed before typing, each with whether `password`
/// meets it (all unmet while it is empty): (rule id, label, met).
pub fn password_rules(t: &Catalog, password: &str) -> Vec<(&'static str, String, bool)> {
    check_each(password)
        .into_iter()
        .map(|(rule, met)| (rule.key(), t.get(&format!("password.rule.{}", rule.key())), met && !password.is_empty()))
        .collect()
}

/// Each unmet password rule as an error on its field (the confirmation's on the confirmation).
pub fn password_errors(errors: &mut Errors, t: &Catalog, unmet: Vec<PasswordRule>) {
    for rule in unmet {
        let field = if rule == PasswordRule::ConfirmationMismatch { "password_confirmation" } else { "password" };
        errors.add(field, t.get(&format!("password.error.{}", rule.key())));
    }
}

/// Runs `work` in its own task, so it finishes even when the client goes away mid-request.
pub async fn to_completion<T: Send + 'static>(
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T, crate::web::error::AppError> {
    tokio::spawn(work).await.map_err(|e| crate::web::error::AppError::Internal(e.to_string()))
}
