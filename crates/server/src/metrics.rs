//! Prometheus metrics, kept per application instance (no process-global recorder, so parallel
//! tests do not see each other's numbers) and rendered in the text exposition format.
//!
//! Every label value comes from a closed set: the method is one of [`Method`]'s variants, the
//! route one of the router's templates (and at most [`MAX_ROUTES`] of them), the status a code
//! the server itself chose. Nothing a client sends can add a series, so memory stays bounded.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Latency bucket bounds in seconds.
const BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// More distinct routes than the router has; past it, routes are counted as [`OTHER_ROUTE`].
pub const MAX_ROUTES: usize = 200;
/// The route label of requests that matched no route (the raw path is never a label).
pub const UNMATCHED: &str = "unmatched";
/// The route label past [`MAX_ROUTES`] (a guard: the router's templates are far fewer).
pub const OTHER_ROUTE: &str = "other";

/// The request method as a label: the standard ones, and `other` for anything a client made up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Patch,
    Options,
    Other,
}

impl Method {
    pub fn of(method: &axum::http::Method) -> Self {
        use axum::http::Method as M;
        match *method {
            M::GET => Self::Get,
            M::HEAD => Self::Head,
            M::POST => Self::Post,
            M::PUT => Self::Put,
            M::DELETE => Self::Delete,
            M::PATCH => Self::Patch,
            M::OPTIONS => Self::Options,
            _ => Self::Other,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Patch => "PATCH",
            Self::Options => "OPTIONS",
            Self::Other => "other",
        }
    }
}

/// A status as a label: the code when it is a real HTTP status (100–599), else 0. The server
/// chooses every status, so this is a guard rather than a filter.
fn status_label(status: u16) -> u16 {
    if (100..600).contains(&status) { status } else { 0 }
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, Method, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    events: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// Counted events: name and help text.
pub const EVENTS: &[(&str, &str)] = &[
    ("mypage_accounts_opened_total", "Accounts opened."),
    ("mypage_code_failures_total", "Wrong account creation code entries counted against a code."),
    ("mypage_codes_voided_total", "Account creation codes voided by wrong entries."),
    ("mypage_auth_key_failures_total", "Wrong auth key entries."),
    ("mypage_logins_total", "Successful logins."),
    ("mypage_login_failures_total", "Failed login steps (password or one-time password)."),
    ("mypage_mail_sent_total", "Mails delivered to the transport."),
    ("mypage_mail_failures_total", "Mail delivery attempts that failed."),
];

impl Metrics {
    /// Counts one request. `route` is the matched route template, or `None` for a request that
    /// matched no route; pass nothing else (never the raw path).
    pub fn observe_request(&self, route: Option<&str>, method: Method, status: u16, elapsed: Duration) {
        let Ok(mut inner) = self.inner.lock() else { return };
        let route = match route {
            None => UNMATCHED,
            Some(r) if inner.latency.contains_key(r) || inner.latency.len() < MAX_ROUTES => r,
            Some(_) => OTHER_ROUTE,
        }
        .to_owned();
        *inner.requests.entry((route.clone(), method, status_label(status))).or_default() += 1;
        let h = inner.latency.entry(route).or_default();
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    pub fn count(&self, event: &'static str) {
        if let Ok(mut inner) = self.inner.lock() {
            *inner.events.entry(event).or_default() += 1;
        }
    }

    pub fn event_total(&self, event: &str) -> u64 {
        self.inner.lock().map(|i| i.events.get(event).copied().unwrap_or(0)).unwrap_or(0)
    }

    /// The exposition text, with the given gauges (name, help, value) appended.
    pub fn render(&self, gauges: &[(&str, &str, i64)]) -> String {
        let mut out = String::new();
        let Ok(inner) = self.inner.lock() else { return out };
        out.push_str("# HELP mypage_http_requests_total HTTP requests by route, method and status.\n");
        out.push_str("# TYPE mypage_http_requests_total counter\n");
        for ((route, method, status), n) in &inner.requests {
            let method = method.label();
            let _ = writeln!(
                out,
                "mypage_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP mypage_http_request_duration_seconds Request latency by route.\n");
        out.push_str("# TYPE mypage_http_request_duration_seconds histogram\n");
        for (route, h) in &inner.latency {
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "mypage_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "mypage_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "mypage_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", h.sum);
            let _ = writeln!(out, "mypage_http_request_duration_seconds_count{{route=\"{route}\"}} {}", h.count);
        }
        for (name, help) in EVENTS {
            let n = inner.events.get(name).copied().unwrap_or(0);
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {n}");
        }
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_share_one_label_and_routes_stop_growing_at_the_cap() {
        let m = Metrics::default();
        for i in 0..50 {
            let method = axum::http::Method::from_bytes(format!("X{i}").as_bytes()).unwrap();
            m.observe_request(Some("/"), Method::of(&method), 405, Duration::ZERO);
        }
        for i in 0..MAX_ROUTES + 50 {
            m.observe_request(Some(&format!("/r{i}")), Method::Get, 200, Duration::ZERO);
        }
        m.observe_request(None, Method::Get, 404, Duration::ZERO);
        let text = m.render(&[]);
        assert!(text.contains("route=\"/\",method=\"other\",status=\"405\"} 50"), "{text}");
        // "/" took one of the MAX_ROUTES places, so 51 of the 250 made-up routes went over.
        assert!(text.contains("route=\"other\",method=\"GET\",status=\"200\"} 51"), "{text}");
        assert!(text.contains("route=\"unmatched\",method=\"GET\",status=\"404\"} 1"), "{text}");
        let series = text.lines().filter(|l| l.starts_with("mypage_http_requests_total{")).count();
        assert_eq!(series, MAX_ROUTES + 2, "the cap holds, plus `other` and `unmatched`");
    }
}
