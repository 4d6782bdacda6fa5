//! Typed settings: defaults, then an optional TOML file, then `MYPAGE_*` environment variables,
//! then command-line flags. Every value is parsed once here; a bad one stops start-up with a
//! message naming the variable. Secrets (database password, SMTP password) never print.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use mypage_domain::duration::parse_duration;

/// Every setting's name (as in `MYPAGE_<NAME>` and the TOML file) with its default.
const DEFAULTS: &[(&str, &str)] = &[
    ("database_url", "sqlite://data/mypage.db"),
    ("bind", "127.0.0.1:8080"),
    ("base_url", "http://localhost:8080"),
    ("mail", "file:data/mail"),
    ("mail_from", "MyPage <no-reply@localhost>"),
    ("trusted_proxy", ""),
    ("client_ipv6_prefix", "64"),
    ("log", "text"),
    ("data_dir", "data"),
    ("secret", ""),
    ("code_ttl", "5d"),
    ("code_max_failures", "10"),
    ("auth_key_ttl", "30m"),
    ("otp_ttl", "10m"),
    ("remember_ttl", "90d"),
    ("login_lock", "30m"),
    ("legacy_cutoff", "2026-03-22"),
    ("hash_workers", "2"),
    ("hash_queue", "32"),
    ("mail_retry_first", "30s"),
    ("mail_retry_max", "1h"),
    ("mail_retry_for", "48h"),
    ("mail_claim", "15s"),
    ("shutdown_grace", "10s"),
    ("db_acquire_timeout", "5s"),
];

/// Where a setting came from, so errors can name exactly what to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Default,
    File,
    Env,
    Flag,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}: {reason}")]
    Invalid { name: String, reason: String },
    #[error("cannot read config file {path}: {reason}")]
    File { path: String, reason: String },
}

/// The database location. Debug hides any password in the URL.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_sqlite(&self) -> bool {
        self.0.starts_with("sqlite:")
    }
    /// The URL with any `user:password@` part replaced, for logs.
    pub fn redacted(&self) -> String {
        redact_userinfo(&self.0)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

fn redact_userinfo(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://[redacted]@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// The public URL: links in mail, the QR code on the slip, and whether cookies need `Secure`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    url: String,
    https: bool,
    host: String,
}

impl BaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = raw.trim_end_matches('/');
        let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err("must start with http:// or https://".into());
        };
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() || authority.contains('@') {
            return Err("must name a host, like https://mypage.example.jp".into());
        }
        let host = match authority.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || port.parse::<u16>().is_ok() => host,
            _ => authority,
        };
        Ok(Self { url: url.to_owned(), https, host: host.to_owned() })
    }
    pub fn as_str(&self) -> &str {
        &self.url
    }
    pub fn is_https(&self) -> bool {
        self.https
    }
    /// `scheme://host[:port]`, compared with the `Origin` header of form posts.
    pub fn origin(&self) -> &str {
        let after_scheme = self.url.find("://").map_or(0, |i| i + 3);
        match self.url[after_scheme..].find('/') {
            Some(slash) => &self.url[..after_scheme + slash],
            None => &self.url,
        }
    }
    /// Browsers treat https and loopback hosts as secure contexts, where `Secure` cookies (and so
    /// the `__Host-` prefix) work even over plain HTTP.
    pub fn secure_cookies(&self) -> bool {
        self.https || matches!(self.host.as_str(), "localhost" | "127.0.0.1" | "[::1]")
    }
}

/// How mail leaves the service.
#[derive(Clone, PartialEq, Eq)]
pub enum MailTransport {
    /// Each message becomes an `.eml` file in this folder.
    File(PathBuf),
    Smtp(SmtpSettings),
}

#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub credentials: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtp://`: upgrade with STARTTLS when the server offers it.
    Opportunistic,
    /// `smtp+starttls://`: refuse to send unless STARTTLS succeeds.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Tls,
}

impl fmt::Debug for MailTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(dir) => write!(f, "File({})", dir.display()),
            Self::Smtp(s) => write!(
                f,
                "Smtp({:?} {}:{}{})",
                s.security,
                s.host,
                s.port,
                if s.credentials.is_some() { " with credentials" } else { "" }
            ),
        }
    }
}

impl MailTransport {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if let Some(dir) = raw.strip_prefix("file:") {
            if dir.is_empty() {
                return Err("file: needs a folder, like file:data/mail".into());
            }
            return Ok(Self::File(PathBuf::from(dir)));
        }
        let (security, rest, default_port) = if let Some(r) = raw.strip_prefix("smtps://") {
            (SmtpSecurity::Tls, r, 465)
        } else if let Some(r) = raw.strip_prefix("smtp+starttls://") {
            (SmtpSecurity::StartTls, r, 587)
        } else if let Some(r) = raw.strip_prefix("smtp://") {
            (SmtpSecurity::Opportunistic, r, 25)
        } else {
            return Err("must be file:DIR, smtp://host:port, smtp+starttls://… or smtps://…".into());
        };
        let rest = rest.trim_end_matches('/');
        let (credentials, hostport) = match rest.rsplit_once('@') {
            Some((userinfo, hostport)) => {
                let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                (Some((percent_decode(user), percent_decode(pass))), hostport)
            }
            None => (None, rest),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().map_err(|_| format!("port {port:?} is not a number"))?),
            None => (hostport, default_port),
        };
        if host.is_empty() {
            return Err("needs a host name".into());
        }
        Ok(Self::Smtp(SmtpSettings { host: host.to_owned(), port, security, credentials }))
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The settings the service runs with, every one parsed.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    pub bind: SocketAddr,
    pub base_url: BaseUrl,
    pub mail: MailTransport,
    pub mail_from: String,
    pub trusted_proxy: Option<IpAddr>,
    /// IPv6 clients are limited per network of this many leading bits (one host gets a /64).
    pub client_ipv6_prefix: u8,
    pub log: LogFormat,
    pub data_dir: PathBuf,
    /// Server secret for keyed hashes; when absent it is generated into `data_dir`.
    pub secret: Option<Secret>,
    pub code_ttl: Duration,
    pub code_max_failures: u32,
    pub auth_key_ttl: Duration,
    pub otp_ttl: Duration,
    pub remember_ttl: Duration,
    /// How long password login stays locked after too many failures (job seekers and staff).
    pub login_lock: Duration,
    pub legacy_cutoff: jiff::civil::Date,
    pub hash_workers: usize,
    pub hash_queue: usize,
    /// Retries of a mail: the first wait, doubling up to `max`.
    pub mail_retry: MailRetry,
    /// How long a worker's claim on a mail lasts without being renewed (it is renewed while the
    /// send runs, so only a stopped worker's claim lapses).
    pub mail_claim: Duration,
    /// On SIGTERM: how long in-flight requests and the current send may take before they are cut.
    pub shutdown_grace: Duration,
    /// How long a request waits for a database connection before it is answered 503; also how
    /// long a health probe may take.
    pub db_acquire_timeout: Duration,
}

/// The retry timings of the outbox (`MYPAGE_MAIL_RETRY_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailRetry {
    pub first: Duration,
    pub max: Duration,
    /// Notices are retried this long after they were written; a code mail until its code expires.
    pub notices_for: Duration,
}

/// A configured secret; never printed.
#[derive(Clone)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Layers of raw values, later layers winning.
#[derive(Debug, Default)]
pub struct Layers {
    values: BTreeMap<&'static str, (String, Source)>,
}

impl Layers {
    /// Defaults, then the TOML file (if any), then the environment.
    pub fn load(
        file: Option<&std::path::Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut layers = Self::defaults();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ConfigError::File { path: path.display().to_string(), reason: e.to_string() })?;
            layers
                .apply_toml(&text)
                .map_err(|reason| ConfigError::File { path: path.display().to_string(), reason })?;
        }
        layers.apply_env(env)?;
        Ok(layers)
    }

    /// Defaults, then the TOML `text` (what [`Layers::load`] does with the file's contents).
    pub fn with_toml(text: &str) -> Result<Self, String> {
        let mut layers = Self::defaults();
        layers.apply_toml(text)?;
        Ok(layers)
    }

    pub fn defaults() -> Self {
        let values = DEFAULTS.iter().map(|(name, value)| (*name, ((*value).to_owned(), Source::Default)));
        Self { values: values.collect() }
    }

    fn known(name: &str) -> Option<&'static str> {
        DEFAULTS.iter().map(|(n, _)| *n).find(|n| *n == name)
    }

    fn apply_toml(&mut self, text: &str) -> Result<(), String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        for (key, value) in table {
            let name = Self::known(&key).ok_or_else(|| format!("unknown setting {key:?}"))?;
            let raw = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                other => return Err(format!("{key}: expected a string, found {}", other.type_str())),
            };
            self.values.insert(name, (raw, Source::File));
        }
        Ok(())
    }

    fn apply_env(&mut self, env: impl IntoIterator<Item = (String, String)>) -> Result<(), ConfigError> {
        for (key, value) in env {
            let Some(rest) = key.strip_prefix("MYPAGE_") else { continue };
            let lower = rest.to_ascii_lowercase();
            match Self::known(&lower) {
                Some(name) => {
                    self.values.insert(name, (value, Source::Env));
                }
                None => {
                    return Err(ConfigError::Invalid {
                        name: key,
                        reason: "unknown setting (check the spelling)".into(),
                    });
                }
            }
        }
        Ok(())
    }

    /// A value given on the command line.
    pub fn set_flag(&mut self, name: &'static str, value: String) {
        self.values.insert(name, (value, Source::Flag));
    }

    fn raw(&self, name: &'static str) -> (&str, Source) {
        self.values.get(name).map_or(("", Source::Default), |(v, s)| (v.as_str(), *s))
    }

    fn parse<T>(&self, name: &'static str, f: impl FnOnce(&str) -> Result<T, String>) -> Result<T, ConfigError> {
        let (raw, source) = self.raw(name);
        f(raw.trim()).map_err(|reason| ConfigError::Invalid { name: display_name(name, source), reason })
    }

    pub fn settings(&self) -> Result<Settings, ConfigError> {
        let duration = |raw: &str| parse_duration(raw).map_err(|e| format!("{e} (write it like 30s, 10m, 12h or 5d)"));
        Ok(Settings {
            database_url: self.parse("database_url", |raw| {
                if raw.starts_with("sqlite:") || raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
                    Ok(DatabaseUrl::new(raw))
                } else {
                    Err("must start with sqlite:// or postgres://".into())
                }
            })?,
            bind: self.parse("bind", |raw| {
                raw.parse().map_err(|_| "must be an address and port like 127.0.0.1:8080".to_owned())
            })?,
            base_url: self.parse("base_url", BaseUrl::parse)?,
            mail: self.parse("mail", MailTransport::parse)?,
            mail_from: self.parse("mail_from", |raw| {
                raw.parse::<lettre::message::Mailbox>()
                    .map(|_| raw.to_owned())
                    .map_err(|e| format!("not a mail address: {e}"))
            })?,
            trusted_proxy: self.parse("trusted_proxy", |raw| {
                if raw.is_empty() {
                    Ok(None)
                } else {
                    raw.parse().map(Some).map_err(|_| "must be an IP address".to_owned())
                }
            })?,
            client_ipv6_prefix: self.parse("client_ipv6_prefix", |raw| match raw.parse::<u8>() {
                Ok(n) if (32..=128).contains(&n) => Ok(n),
                _ => Err("must be a prefix length from 32 to 128, like 64".into()),
            })?,
            log: self.parse("log", |raw| match raw {
                "text" => Ok(LogFormat::Text),
                "json" => Ok(LogFormat::Json),
                _ => Err("must be text or json".into()),
            })?,
            data_dir: self.parse("data_dir", |raw| Ok(PathBuf::from(raw)))?,
            secret: self.parse("secret", |raw| match raw.len() {
                0 => Ok(None),
                n if n >= 32 => Ok(Some(Secret(raw.to_owned()))),
                _ => Err("must be at least 32 characters of random text".into()),
            })?,
            code_ttl: self.parse("code_ttl", duration)?,
            code_max_failures: self.parse("code_max_failures", positive_u32)?,
            auth_key_ttl: self.parse("auth_key_ttl", duration)?,
            otp_ttl: self.parse("otp_ttl", duration)?,
            remember_ttl: self.parse("remember_ttl", duration)?,
            login_lock: self.parse("login_lock", duration)?,
            legacy_cutoff: self.parse("legacy_cutoff", |raw| {
                raw.parse::<jiff::civil::Date>().map_err(|_| "must be a date like 2026-03-22".to_owned())
            })?,
            hash_workers: self.parse("hash_workers", |raw| positive_u32(raw).map(|n| n as usize))?,
            hash_queue: self.parse("hash_queue", |raw| positive_u32(raw).map(|n| n as usize))?,
            mail_retry: MailRetry {
                first: self.parse("mail_retry_first", |raw| positive(duration(raw)?))?,
                max: self.parse("mail_retry_max", |raw| positive(duration(raw)?))?,
                notices_for: self.parse("mail_retry_for", duration)?,
            },
            mail_claim: self.parse("mail_claim", |raw| {
                let d = duration(raw)?;
                if d < Duration::from_secs(3) {
                    return Err("must be at least 3s: it is renewed every third of it while a mail is sent".into());
                }
                Ok(d)
            })?,
            shutdown_grace: self.parse("shutdown_grace", duration)?,
            db_acquire_timeout: self.parse("db_acquire_timeout", |raw| match duration(raw)? {
                d if d >= Duration::from_millis(100) && d <= Duration::from_secs(60) => Ok(d),
                _ => Err("must be from 100ms to 60s, like 5s".into()),
            })?,
        })
    }
}

fn positive(d: Duration) -> Result<Duration, String> {
    if d.is_zero() { Err("must be longer than 0s".into()) } else { Ok(d) }
}

fn positive_u32(raw: &str) -> Result<u32, String> {
    match raw.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("must be a whole number above 0".into()),
    }
}

fn display_name(name: &str, source: Source) -> String {
    match source {
        Source::Env | Source::Default => format!("MYPAGE_{}", name.to_ascii_uppercase()),
        Source::File => format!("{name} (in the config file)"),
        Source::Flag => format!("--{}", name.replace('_', "-")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_match_the_spec() {
        let s = Layers::defaults().settings().unwrap();
        assert_eq!(s.database_url.expose(), "sqlite://data/mypage.db");
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.code_ttl, Duration::from_secs(5 * 86400));
        assert_eq!(s.code_max_failures, 10);
        assert_eq!(s.auth_key_ttl, Duration::from_secs(30 * 60));
        assert_eq!(s.otp_ttl, Duration::from_secs(600));
        assert_eq!(s.remember_ttl, Duration::from_secs(90 * 86400));
        assert_eq!(s.login_lock, Duration::from_secs(30 * 60));
        assert_eq!(s.legacy_cutoff.to_string(), "2026-03-22");
        assert_eq!(s.mail, MailTransport::File(PathBuf::from("data/mail")));
        assert_eq!(s.client_ipv6_prefix, 64);
        assert_eq!(s.mail_retry.notices_for, Duration::from_secs(48 * 3600));
        assert_eq!(s.mail_claim, Duration::from_secs(15));
        assert_eq!(s.shutdown_grace, Duration::from_secs(10));
        assert_eq!(s.db_acquire_timeout, Duration::from_secs(5));
    }

    #[test]
    fn a_claim_shorter_than_three_seconds_is_refused() {
        let mut layers = Layers::defaults();
        layers.apply_env(env(&[("MYPAGE_MAIL_CLAIM", "1s")])).unwrap();
        let err = layers.settings().unwrap_err().to_string();
        assert!(err.starts_with("MYPAGE_MAIL_CLAIM:"), "{err}");
    }

    #[test]
    fn the_ipv6_prefix_must_be_from_32_to_128() {
        for (raw, ok) in [("48", true), ("128", true), ("32", true), ("31", false), ("129", false), ("/64", false)] {
            let mut layers = Layers::defaults();
            layers.apply_env(env(&[("MYPAGE_CLIENT_IPV6_PREFIX", raw)])).unwrap();
            let result = layers.settings();
            assert_eq!(result.is_ok(), ok, "{raw}");
            if let Err(e) = result {
                assert!(e.to_string().starts_with("MYPAGE_CLIENT_IPV6_PREFIX:"), "{e}");
            }
        }
    }

    #[test]
    fn environment_overrides_the_file_which_overrides_defaults() {
        let mut layers = Layers::defaults();
        layers.apply_toml("code_ttl = \"3d\"\nbind = \"0.0.0.0:9000\"").unwrap();
        layers.apply_env(env(&[("MYPAGE_CODE_TTL", "2d"), ("PATH", "/bin")])).unwrap();
        let s = layers.settings().unwrap();
        assert_eq!(s.code_ttl, Duration::from_secs(2 * 86400));
        assert_eq!(s.bind.to_string(), "0.0.0.0:9000");
        layers.set_flag("bind", "127.0.0.1:1".into());
        assert_eq!(layers.settings().unwrap().bind.to_string(), "127.0.0.1:1");
    }

    #[test]
    fn a_bad_duration_names_the_variable() {
        let mut layers = Layers::defaults();
        layers.apply_env(env(&[("MYPAGE_OTP_TTL", "ten minutes")])).unwrap();
        let err = layers.settings().unwrap_err().to_string();
        assert!(err.starts_with("MYPAGE_OTP_TTL:"), "{err}");
    }

    #[test]
    fn an_unknown_variable_is_refused() {
        let mut layers = Layers::defaults();
        let err = layers.apply_env(env(&[("MYPAGE_CODE_TTLL", "5d")])).unwrap_err();
        assert!(err.to_string().contains("MYPAGE_CODE_TTLL"));
    }

    #[test]
    fn smtp_urls_parse_with_credentials_and_security() {
        let MailTransport::Smtp(s) = MailTransport::parse("smtps://user%40x:p%3Ass@mail.example.jp").unwrap() else {
            unreachable!()
        };
        assert_eq!((s.host.as_str(), s.port, s.security), ("mail.example.jp", 465, SmtpSecurity::Tls));
        assert_eq!(s.credentials, Some(("user@x".into(), "p:ss".into())));
        let debug = format!("{:?}", MailTransport::Smtp(s));
        assert!(!debug.contains("p:ss"), "{debug}");
        assert!(MailTransport::parse("ftp://x").is_err());
    }

    #[test]
    fn database_url_debug_hides_the_password() {
        let url = DatabaseUrl::new("postgres://app:hunter2@db:5432/mypage");
        assert!(!format!("{url:?}").contains("hunter2"));
    }

    #[test]
    fn base_url_knows_its_origin_and_cookie_security() {
        let b = BaseUrl::parse("http://localhost:8080/").unwrap();
        assert_eq!(b.origin(), "http://localhost:8080");
        assert!(b.secure_cookies());
        let lan = BaseUrl::parse("http://192.168.1.5:8080").unwrap();
        assert!(!lan.secure_cookies());
        assert!(BaseUrl::parse("https://mypage.example.jp/app").unwrap().is_https());
        assert_eq!(BaseUrl::parse("https://mypage.example.jp/app").unwrap().origin(), "https://mypage.example.jp");
    }
}
