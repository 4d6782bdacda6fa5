//! Every form and query string the service decodes, by name, through the same extractors the
//! handlers use. For the fuzz targets only: not an interface of the service.

use axum::body::Body;
use axum::extract::{FromRequest, Query, Request};
use serde::de::DeserializeOwned;

use super::form::{CsrfForm, Form};
use super::password_step::PasswordStepForm;
use super::{login, mypage, opening, staff};

macro_rules! decoders {
    ($list:ident, $decode:ident: $($name:literal => $ty:ty),* $(,)?) => {
        /// The types' names, in the order the decoder answers.
        pub const $list: &[&str] = &[$($name),*];

        /// For each type, whether it accepts the input.
        pub async fn $decode(input: &[u8]) -> Vec<bool> {
            vec![$(accepts::<$ty>(input).await),*]
        }
    };
}

decoders!(FORMS, decode_forms:
    "CsrfForm" => Form<CsrfForm>,
    "PasswordStepForm" => Form<PasswordStepForm>,
    "opening::ConsentForm" => Form<opening::consent::ConsentForm>,
    "opening::ApplyForm" => Form<opening::apply::ApplyForm>,
    "login::LoginForm" => Form<login::password::LoginForm>,
    "login::OtpForm" => Form<login::otp::OtpForm>,
    "login::ForgotForm" => Form<login::forgot::ForgotForm>,
    "mypage::PasswordForm" => Form<mypage::settings::PasswordForm>,
    "mypage::EmailForm" => Form<mypage::settings::email::EmailForm>,
    "mypage::CodeForm" => Form<mypage::settings::email::CodeForm>,
    "staff::LoginForm" => Form<staff::auth::LoginForm>,
    "staff::CodeForm" => Form<staff::auth::CodeForm>,
    "staff::PasswordForm" => Form<staff::auth::PasswordForm>,
    "staff::NewSeekerForm" => Form<staff::seekers::NewSeekerForm>,
    "staff::EmailForm" => Form<staff::seeker_page::EmailForm>,
    "staff::MemberForm" => Form<staff::members::MemberForm>,
    "staff::OfficeForm" => Form<staff::admin::OfficeForm>,
    "staff::DocumentForm" => Form<staff::admin::DocumentForm>,
);

decoders!(QUERIES, decode_queries:
    "opening::DocumentQuery" => QueryOf<opening::consent::DocumentQuery>,
    "login::LoginQuery" => QueryOf<login::password::LoginQuery>,
    "mypage::SettingsQuery" => QueryOf<mypage::settings::SettingsQuery>,
    "staff::SearchQuery" => QueryOf<staff::seekers::SearchQuery>,
    "staff::DetailQuery" => QueryOf<staff::seeker_page::DetailQuery>,
    "staff::MembersQuery" => QueryOf<staff::members::MembersQuery>,
    "staff::AuditQuery" => QueryOf<staff::admin::AuditQuery>,
);

/// A way of reading one type from raw input: a form body, or a query string.
trait Decoder {
    async fn accepts(input: &[u8]) -> bool;
}

impl<T: DeserializeOwned> Decoder for Form<T> {
    async fn accepts(input: &[u8]) -> bool {
        let request = Request::post("/")
            .header(axum::http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(input.to_vec()));
        match request {
            Ok(request) => Form::<T>::from_request(request, &()).await.is_ok(),
            Err(_) => false,
        }
    }
}

/// The query string of a GET, as `axum::extract::Query` reads it from the URI.
struct QueryOf<T>(std::marker::PhantomData<T>);

impl<T: DeserializeOwned> Decoder for QueryOf<T> {
    async fn accepts(input: &[u8]) -> bool {
        let Ok(query) = std::str::from_utf8(input) else { return false };
        match format!("/?{query}").parse::<axum::http::Uri>() {
            Ok(uri) => Query::<T>::try_from_uri(&uri).is_ok(),
            Err(_) => false,
        }
    }
}

async fn accepts<D: Decoder>(input: &[u8]) -> bool {
    D::accepts(input).await
}
