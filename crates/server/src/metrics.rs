//! Prometheus metrics, kept per application instance (no process-global recorder, so parallel
//! tests do not see each other's numbers) and rendered in the text exposition format.
//!
//! Every label value comes from a closed set: the method is one of [`Method`]'s variants, the
//! route one of the router's templates (and at most [`MAX_ROUTES`] of them), the status one of
//! [`STATUSES`] or `other`. Nothing a client sends can add a series, so memory stays bounded.
//!
//! Recording takes no lock and allocates nothing: each route has a slot of atomic counters in a
//! fixed table, found by hashing the template; the slot's name is set once, on the route's first
//! request (the only allocation, one per route for the life of the process).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

/// Latency bucket bounds in seconds.
const BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
/// The same bounds in microseconds, for the comparison on the request path.
const BUCKETS_US: [u64; 10] =
    [5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000];

/// More distinct routes than the router has; past it, routes are counted as [`OTHER_ROUTE`].
pub const MAX_ROUTES: usize = 200;
/// The route label of requests that matched no route (the raw path is never a label).
pub const UNMATCHED: &str = "unmatched";
/// The route label past [`MAX_ROUTES`] (a guard: the router's templates are far fewer).
pub const OTHER_ROUTE: &str = "other";

/// The statuses the service answers with, each with its own series; any other is `other`.
pub const STATUSES: [u16; 21] =
    [200, 204, 301, 302, 303, 304, 400, 401, 403, 404, 405, 408, 409, 413, 415, 422, 429, 500, 502, 503, 504];
const STATUS_SLOTS: usize = STATUSES.len() + 1;
const METHODS: usize = 8;
/// Slots in the table: routes, `unmatched` and `other`, with room so probes stay short.
const SLOTS: usize = 512;

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

fn status_index(status: u16) -> usize {
    STATUSES.iter().position(|s| *s == status).unwrap_or(STATUSES.len())
}

fn status_label(index: usize) -> String {
    STATUSES.get(index).map_or_else(|| "other".to_owned(), u16::to_string)
}

/// One route's counters.
struct Slot {
    name: OnceLock<Box<str>>,
    requests: [[AtomicU64; STATUS_SLOTS]; METHODS],
    /// Per bucket (not cumulative: rendering adds them up), then +Inf.
    buckets: [AtomicU64; BUCKETS_US.len() + 1],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Default for Slot {
    fn default() -> Self {
        Self {
            name: OnceLock::new(),
            requests: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
        }
    }
}

pub struct Metrics {
    slots: Box<[Slot]>,
    /// Routes given a slot so far (the cap's counter).
    routes: AtomicUsize,
    events: [AtomicU64; EVENTS.len()],
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("routes", &self.routes.load(Relaxed)).finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            slots: (0..SLOTS).map(|_| Slot::default()).collect(),
            routes: AtomicUsize::new(0),
            events: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// FNV-1a: a fixed, cheap hash of the route template.
fn hash(name: &str) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h as usize
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
    /// The slot named `name`, taking a free one if it is new and `new_ok`; `None` when the table
    /// has no room (cannot happen below [`MAX_ROUTES`]: the table is more than twice that).
    fn slot(&self, name: &str, new_ok: bool) -> Option<&Slot> {
        let start = hash(name);
        for i in 0..SLOTS {
            let slot = &self.slots[(start + i) % SLOTS];
            match slot.name.get() {
                Some(existing) if &**existing == name => return Some(slot),
                Some(_) => continue,
                None if !new_ok => return None,
                None => {
                    // Concurrent first requests of two routes may race for this slot: one wins,
                    // the other probes on.
                    if &**slot.name.get_or_init(|| name.into()) == name {
                        return Some(slot);
                    }
                }
            }
        }
        None
    }

    fn route_slot(&self, route: Option<&str>) -> Option<&Slot> {
        let Some(route) = route else { return self.slot(UNMATCHED, true) };
        if let Some(slot) = self.slot(route, false) {
            return Some(slot);
        }
        if self.routes.fetch_add(1, Relaxed) < MAX_ROUTES {
            self.slot(route, true)
        } else {
            self.routes.fetch_sub(1, Relaxed);
            self.slot(OTHER_ROUTE, true)
        }
    }

    /// Counts one request. `route` is the matched route template, or `None` for a request that
    /// matched no route; pass nothing else (never the raw path).
    pub fn observe_request(&self, route: Option<&str>, method: Method, status: u16, elapsed: Duration) {
        let Some(slot) = self.route_slot(route) else { return };
        slot.requests[method as usize][status_index(status)].fetch_add(1, Relaxed);
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let bucket = BUCKETS_US.iter().position(|bound| us <= *bound).unwrap_or(BUCKETS_US.len());
        slot.buckets[bucket].fetch_add(1, Relaxed);
        slot.count.fetch_add(1, Relaxed);
        slot.sum_us.fetch_add(us, Relaxed);
    }

    pub fn count(&self, event: &'static str) {
        if let Some(i) = EVENTS.iter().position(|(name, _)| *name == event) {
            self.events[i].fetch_add(1, Relaxed);
        }
    }

    pub fn event_total(&self, event: &str) -> u64 {
        EVENTS.iter().position(|(name, _)| *name == event).map_or(0, |i| self.events[i].load(Relaxed))
    }

    /// The exposition text, with the given gauges (name, help, value) appended.
    pub fn render(&self, gauges: &[(&str, &str, i64)]) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let named: BTreeMap<&str, &Slot> = self.slots.iter().filter_map(|s| s.name.get().map(|n| (&**n, s))).collect();
        const ALL_METHODS: [Method; METHODS] = [
            Method::Get,
            Method::Head,
            Method::Post,
            Method::Put,
            Method::Delete,
            Method::Patch,
            Method::Options,
            Method::Other,
        ];
        out.push_str("# HELP mypage_http_requests_total HTTP requests by route, method and status.\n");
        out.push_str("# TYPE mypage_http_requests_total counter\n");
        for (route, slot) in &named {
            for method in ALL_METHODS {
                for (status, n) in slot.requests[method as usize].iter().enumerate() {
                    let n = n.load(Relaxed);
                    if n > 0 {
                        let (method, status) = (method.label(), status_label(status));
                        let _ = writeln!(
                            out,
                            "mypage_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
                        );
                    }
                }
            }
        }
        out.push_str("# HELP mypage_http_request_duration_seconds Request latency by route.\n");
        out.push_str("# TYPE mypage_http_request_duration_seconds histogram\n");
        for (route, slot) in &named {
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(&slot.buckets) {
                cumulative += n.load(Relaxed);
                let _ = writeln!(
                    out,
                    "mypage_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let count = slot.count.load(Relaxed);
            let sum = slot.sum_us.load(Relaxed) as f64 / 1e6;
            let _ =
                writeln!(out, "mypage_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}");
            let _ = writeln!(out, "mypage_http_request_duration_seconds_sum{{route=\"{route}\"}} {sum}");
            let _ = writeln!(out, "mypage_http_request_duration_seconds_count{{route=\"{route}\"}} {count}");
        }
        for ((name, help), n) in EVENTS.iter().zip(&self.events) {
            let n = n.load(Relaxed);
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

    #[test]
    fn parallel_recording_loses_no_count_and_buckets_add_up() {
        let m = std::sync::Arc::new(Metrics::default());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        let route = if i % 2 == 0 { "/a" } else { "/b" };
                        m.observe_request(Some(route), Method::Get, 200, Duration::from_millis(t * 20));
                        m.count("mypage_logins_total");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = m.render(&[]);
        assert!(text.contains("route=\"/a\",method=\"GET\",status=\"200\"} 2000"), "{text}");
        assert!(text.contains("mypage_http_request_duration_seconds_count{route=\"/b\"} 2000"), "{text}");
        // 0 ms and 20 ms fall within 25 ms; 40 ms and 60 ms do not.
        assert!(text.contains("route=\"/a\",le=\"0.025\"} 1000"), "{text}");
        assert!(text.contains("route=\"/a\",le=\"0.1\"} 2000"), "{text}");
        assert!(text.contains("mypage_logins_total 4000"), "{text}");
        m.observe_request(Some("/a"), Method::Post, 418, Duration::ZERO);
        assert!(m.render(&[]).contains("route=\"/a\",method=\"POST\",status=\"other\"} 1"));
    }
}
