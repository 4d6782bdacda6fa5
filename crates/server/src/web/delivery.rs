//! Where the mail someone waits for is, on the screen that waits for it: the state as of the
//! page's load with a reload link, and `GET /mail-status?for=…` for the small script that polls.
//! The endpoint answers only for a mail of the requesting session's own flow (the session
//! names the secret, the secret names its mail); nothing in the URL identifies a mail.
//! Also the carrier guidance: where the job seeker's phone allows mail from our domain.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mypage_domain::carrier::Carrier;
use serde::{Deserialize, Serialize};

use crate::i18n::{Catalog, catalog, request_lang};
use crate::state::AppState;
use crate::store::mail_links::{self, Waiter};
use crate::store::outbox::{self, Delivery};
use crate::web::error::AppError;
use crate::web::session::{self, FlowData};

/// The sender's domain (from `MYPAGE_MAIL_FROM`): the one to allow in a domain filter.
pub fn sender_domain(state: &AppState) -> String {
    let from = &state.settings.mail_from;
    let addr = from.rsplit_once('<').map_or(from.as_str(), |(_, a)| a.trim_end_matches('>'));
    addr.rsplit_once('@').map_or_else(String::new, |(_, d)| d.to_owned())
}

/// What to do so that mail from `sender` reaches an address at `domain`: the carrier's setting
/// when the domain is a mobile carrier's, the general advice otherwise.
pub fn guidance(t: &Catalog, domain: &str, sender: &str) -> String {
    let key = Carrier::of_domain(&domain.to_ascii_lowercase()).map_or("general", Carrier::key);
    t.fmt(&format!("carrier.{key}"), &[("domain", sender)])
}

/// The guidance for a whole address.
pub fn guidance_for_address(t: &Catalog, address: &str, sender: &str) -> String {
    guidance(t, address.rsplit_once('@').map_or("", |(_, d)| d), sender)
}

/// The guidance for the slip, which is read before any address is typed: the carrier's alone when
/// the registered address is a carrier's, otherwise the general advice and every carrier's.
pub fn slip_guidance(t: &Catalog, registered: Option<&str>, sender: &str) -> Vec<String> {
    let domain = registered.and_then(|a| a.rsplit_once('@')).map(|(_, d)| d.to_ascii_lowercase());
    match domain.as_deref().and_then(Carrier::of_domain) {
        Some(carrier) => vec![t.fmt(&format!("carrier.{}", carrier.key()), &[("domain", sender)])],
        None => std::iter::once(t.fmt("carrier.general", &[("domain", sender)]))
            .chain(Carrier::ALL.iter().map(|c| t.fmt(&format!("carrier.{}", c.key()), &[("domain", sender)])))
            .collect(),
    }
}

/// A mail's state in the words of the screen.
#[derive(Debug, Clone, Serialize)]
pub struct MailState {
    /// `waiting`, `retrying`, `handed`, `refused`, `expired` or `given_up`.
    pub state: &'static str,
    pub message: String,
    /// No further change will come: the script stops asking.
    pub settled: bool,
}

impl MailState {
    pub fn of(t: &Catalog, delivery: &Delivery) -> Self {
        let (state, message, settled) = match delivery {
            Delivery::Waiting => ("waiting", t.get("delivery.waiting"), false),
            Delivery::Retrying { .. } => ("retrying", t.get("delivery.retrying"), false),
            Delivery::Handed { at } => ("handed", t.fmt("delivery.handed", &[("time", &hh_mm(*at))]), true),
            Delivery::Refused { .. } => ("refused", t.get("delivery.refused"), true),
            Delivery::Expired => ("expired", t.get("delivery.expired"), true),
            Delivery::GivenUp { .. } => ("given_up", t.get("delivery.given_up"), true),
        };
        Self { state, message, settled }
    }
}

/// An instant (ms) as `HH:MM` in JST.
pub fn hh_mm(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|ts| mypage_domain::jst::to_jst(ts).strftime("%H:%M").to_string())
        .unwrap_or_default()
}

/// The state of the mail that carries `waiter`'s secret; `None` when no mail was written for it
/// (a send cap was full) or it is gone.
pub async fn state_of(state: &AppState, t: &Catalog, waiter: Waiter) -> Result<Option<MailState>, AppError> {
    let pool = state.store.pool();
    let Some(mail_id) = mail_links::mail_of(pool, waiter).await? else { return Ok(None) };
    Ok(outbox::find(pool, mail_id).await?.map(|row| MailState::of(t, &row.delivery())))
}

/// Which of the session's flows a waiting screen belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    Opening,
    Login,
    Reset,
    Email,
}

impl Flow {
    fn as_str(self) -> &'static str {
        match self {
            Self::Opening => "opening",
            Self::Login => "login",
            Self::Reset => "reset",
            Self::Email => "email",
        }
    }

    /// The secret this session waits for in this flow, if any.
    fn waiter(self, data: &FlowData) -> Option<Waiter> {
        match self {
            Self::Opening => data.pending.as_ref().map(|p| Waiter::AuthKey(p.auth_key_id)),
            Self::Login => data.pending_login.as_ref().map(|p| Waiter::Challenge(p.challenge_id)),
            Self::Reset => data.pending_reset.as_ref().map(|p| Waiter::Recovery(p.request_id)),
            Self::Email => data.email_change.as_ref().map(|(id, _)| Waiter::EmailChange(*id)),
        }
    }
}

/// What the partial `partials/mail_status.html` shows.
#[derive(Debug)]
pub struct WaitingMail {
    pub status: Option<MailState>,
    pub guidance: String,
    /// The status endpoint for this screen's flow.
    pub poll: String,
    /// The page itself, for the reload link.
    pub reload: &'static str,
}

/// The mail panel of a waiting screen for `flow`, sent to `address`, shown at `reload`.
pub async fn waiting_mail(
    state: &AppState,
    data: &FlowData,
    flow: Flow,
    address: &str,
    reload: &'static str,
) -> Result<WaitingMail, AppError> {
    let t = catalog(request_lang());
    let status = match flow.waiter(data) {
        Some(waiter) => state_of(state, t, waiter).await?,
        None => None,
    };
    Ok(WaitingMail {
        status,
        guidance: guidance_for_address(t, address, &sender_domain(state)),
        poll: format!("/mail-status?for={}", flow.as_str()),
        reload,
    })
}

#[derive(Debug, Deserialize)]
pub struct StatusQuery {
    #[serde(rename = "for")]
    flow: Flow,
}

/// `GET /mail-status?for=opening|login|reset|email`: the state of this session's mail in that
/// flow, or 404 when the session waits for none.
pub async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<StatusQuery>,
) -> Result<Response, AppError> {
    let t = catalog(request_lang());
    let waiter = session::load(&state, &headers).await?.and_then(|s| query.flow.waiter(&s.data));
    let found = match waiter {
        Some(waiter) => state_of(&state, t, waiter).await?,
        None => None,
    };
    let (status, body) = match found {
        Some(mail) => (StatusCode::OK, serde_json::to_string(&mail).map_err(|e| AppError::Internal(e.to_string()))?),
        None => (StatusCode::NOT_FOUND, "{}".to_owned()),
    };
    Ok((status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response())
}

#[cfg(test)]
mod tests {
    use mypage_domain::carrier::Carrier;

    use super::*;
    use crate::i18n::Lang;

    /// Where each carrier's setting lives, as its text must name it (in both languages).
    fn setting(carrier: Carrier) -> &'static str {
        match carrier {
            Carrier::Docomo => "受信リスト設定",
            Carrier::Au | Carrier::UqMobile => "受信リスト設定",
            Carrier::Softbank | Carrier::Ymobile => "受信許可リスト",
            Carrier::Rakuten => "迷惑メール対策",
        }
    }

    #[test]
    fn each_carrier_domain_gets_its_carriers_text_in_both_languages() {
        for lang in [Lang::Ja, Lang::En] {
            let t = catalog(lang);
            let general = guidance(t, "example.jp", "mypage.example.jp");
            assert_eq!(general, t.fmt("carrier.general", &[("domain", "mypage.example.jp")]));
            for carrier in Carrier::ALL {
                let text = t.fmt(&format!("carrier.{}", carrier.key()), &[("domain", "mypage.example.jp")]);
                assert!(!text.contains(crate::i18n::MISSING_MARKER), "{lang:?} {carrier:?}");
                assert!(text.contains("「mypage.example.jp」") || text.contains("\"mypage.example.jp\""), "{text}");
                // The Japanese text names the setting as the carrier's menus do; the English one
                // describes it without Japanese (the page's language is English throughout).
                match lang {
                    Lang::Ja => assert!(text.contains(setting(carrier)), "{carrier:?}: {text}"),
                    Lang::En => assert!(!text.chars().any(|c| c > '\u{3000}'), "{carrier:?}: {text}"),
                }
                assert_ne!(text, general);
                for domain in carrier.domains() {
                    assert_eq!(guidance(t, domain, "mypage.example.jp"), text, "{lang:?} {domain}");
                    let upper = format!("Taro.@{}", domain.to_uppercase());
                    assert_eq!(guidance_for_address(t, &upper, "mypage.example.jp"), text, "{lang:?} {upper}");
                }
            }
        }
    }

    #[test]
    fn the_slip_names_the_registered_carrier_alone_or_every_carrier() {
        let t = catalog(Lang::Ja);
        let one = slip_guidance(t, Some("taro@docomo.ne.jp"), "mypage.example.jp");
        assert_eq!(one, vec![guidance(t, "docomo.ne.jp", "mypage.example.jp")]);
        let all = slip_guidance(t, None, "mypage.example.jp");
        assert_eq!(all.len(), 1 + Carrier::ALL.len());
        assert_eq!(all, slip_guidance(t, Some("taro@example.jp"), "mypage.example.jp"));
    }

    #[test]
    fn every_state_has_its_words_and_the_handed_time_is_jst() {
        let t = catalog(Lang::Ja);
        // 2026-11-25 01:05 UTC is 10:05 in Japan.
        let at = 1_764_032_700_000;
        let handed = MailState::of(t, &Delivery::Handed { at });
        assert_eq!((handed.state, handed.settled), ("handed", true));
        assert!(handed.message.starts_with("10:05に"), "{}", handed.message);
        for (delivery, state, settled) in [
            (Delivery::Waiting, "waiting", false),
            (Delivery::Retrying { error: "x".into() }, "retrying", false),
            (Delivery::Refused { answer: "550".into() }, "refused", true),
            (Delivery::Expired, "expired", true),
            (Delivery::GivenUp { error: "x".into() }, "given_up", true),
        ] {
            let shown = MailState::of(t, &delivery);
            assert_eq!((shown.state, shown.settled), (state, settled));
            assert!(!shown.message.contains("550") && !shown.message.contains(crate::i18n::MISSING_MARKER));
        }
    }
}
