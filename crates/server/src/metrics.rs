//! Prometheus metrics, kept per application instance (no process-global recorder, so parallel
//! tests do not see each other's numbers) and rendered in the text exposition format.

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

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
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
    pub fn observe_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let Ok(mut inner) = self.inner.lock() else { return };
        *inner.requests.entry((route.to_owned(), method.to_owned(), status)).or_default() += 1;
        let h = inner.latency.entry(route.to_owned()).or_default();
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
