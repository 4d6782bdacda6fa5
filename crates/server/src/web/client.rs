//! The client's address: the TCP peer, or, when the peer is the configured trusted proxy, the
//! address that proxy appended to `X-Forwarded-For`. Nothing else in the request is believed.
//!
//! Per-client limits count a client by its *limit key*, not its exact address: one IPv6 host
//! usually holds a whole /64 and could otherwise take a fresh budget from every address in it.
//! IPv6 clients are keyed by their network (`MYPAGE_CLIENT_IPV6_PREFIX`, default /64), IPv4
//! clients (also when written IPv4-mapped, `::ffff:a.b.c.d`) by their address.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};

use crate::state::AppState;

/// What handlers hand to flows as `client`: the client's limit key, written out
/// (`203.0.113.7`, `2001:db8:1:2::/64`). It is the subject of per-client limits and what the
/// audit log records; the exact IPv6 address is not kept.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

/// A client counted for limits: an IPv4 address, or an IPv6 network of `prefix` bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LimitKey {
    network: IpAddr,
    prefix: u8,
}

impl LimitKey {
    /// The key of `ip` with IPv6 networks of `ipv6_prefix` bits (clamped to 0–128).
    pub fn of(ip: IpAddr, ipv6_prefix: u8) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self { network: IpAddr::V4(v4), prefix: 32 },
            IpAddr::V6(v6) => {
                let prefix = ipv6_prefix.min(128);
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                Self { network: IpAddr::V6(Ipv6Addr::from(v6.to_bits() & mask)), prefix }
            }
        }
    }
}

impl fmt::Display for LimitKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.network {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) if self.prefix == 128 => write!(f, "{v6}"),
            IpAddr::V6(v6) => write!(f, "{v6}/{}", self.prefix),
        }
    }
}

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

/// The limit key of the client that sent a request with these headers and extensions.
pub fn client_key(headers: &HeaderMap, extensions: &Extensions, state: &AppState) -> LimitKey {
    LimitKey::of(client_ip(headers, extensions, state), state.settings.client_ipv6_prefix)
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(client_key(&parts.headers, &parts.extensions, state).to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ip: &str, prefix: u8) -> String {
        LimitKey::of(ip.parse().unwrap(), prefix).to_string()
    }

    #[test]
    fn ipv4_is_keyed_by_its_address() {
        assert_eq!(key("203.0.113.7", 64), "203.0.113.7");
        assert_ne!(key("203.0.113.7", 64), key("203.0.113.8", 64));
    }

    #[test]
    fn ipv6_is_keyed_by_its_network() {
        assert_eq!(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2::1", 64), key("2001:db8:1:2:ffff::9", 64));
        assert_ne!(key("2001:db8:1:2::1", 64), key("2001:db8:1:3::1", 64));
        assert_eq!(key("2001:db8:1:2::1", 48), "2001:db8:1::/48");
        assert_eq!(key("2001:db8:1:ffff::1", 48), key("2001:db8:1:2::1", 48));
        assert_eq!(key("2001:db8:1:2::1", 128), "2001:db8:1:2::1");
        assert_ne!(key("2001:db8:1:2::1", 128), key("2001:db8:1:2::2", 128));
    }

    #[test]
    fn ipv4_mapped_ipv6_is_keyed_as_its_ipv4() {
        assert_eq!(key("::ffff:203.0.113.7", 64), "203.0.113.7");
        assert_eq!(
            LimitKey::of("::ffff:203.0.113.7".parse().unwrap(), 64),
            LimitKey::of("203.0.113.7".parse().unwrap(), 48)
        );
    }
}
