//! The client's address: the TCP peer, or, when the peer is the configured trusted proxy, the
//! address that proxy appended to `X-Forwarded-For`. Nothing else in the request is believed.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};

use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

/// The address of the client that sent a request with these headers and extensions.
pub fn client_ip(headers: &HeaderMap, extensions: &Extensions, state: &AppState) -> IpAddr {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let forwarded = || {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .and_then(|a| a.trim().parse::<IpAddr>().ok())
    };
    match (peer, state.settings.trusted_proxy) {
        (Some(peer), Some(proxy)) if peer == proxy => forwarded().unwrap_or(peer),
        (Some(peer), _) => peer,
        (None, _) => IpAddr::from([0, 0, 0, 0]),
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(client_ip(&parts.headers, &parts.extensions, state).to_string()))
    }
}
