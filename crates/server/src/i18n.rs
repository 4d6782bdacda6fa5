//! Message catalogs. Every user-visible text, on pages and in mail, is looked up here by a key
//! that names what it means. Japanese is the default and complete; a missing key renders a
//! visible marker (and tests fail on it) instead of silently showing nothing.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// The languages pages and mail can be shown in. Japanese is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Ja,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Ja, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Self::Ja => "ja",
            Self::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "ja" => Some(Self::Ja),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The first of Japanese or English that an `Accept-Language` header prefers (by q-value),
    /// else Japanese.
    pub fn from_accept_language(header: &str) -> Self {
        let mut best: Option<(f32, Self)> = None;
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces.find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.parse::<f32>().ok())).unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            if let Some(lang) = Self::parse(primary)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map_or(Self::Ja, |(_, lang)| lang)
    }
}

tokio::task_local! {
    /// The language of the request being handled (set by the web layer's language middleware).
    static REQUEST_LANG: Lang;
}

/// The current request's language; Japanese outside a request.
pub fn request_lang() -> Lang {
    REQUEST_LANG.try_with(|l| *l).unwrap_or_default()
}

/// Runs `f` with `lang` as the request's language.
pub async fn with_lang<F: std::future::Future>(lang: Lang, f: F) -> F::Output {
    REQUEST_LANG.scope(lang, f).await
}

/// Runs `f` with `lang` as the current language (the web edge, around each poll of a handler).
pub fn in_lang<R>(lang: Lang, f: impl FnOnce() -> R) -> R {
    REQUEST_LANG.sync_scope(lang, f)
}

/// An instant in JST, written the way `lang` writes dates.
pub fn datetime(lang: Lang, ts: jiff::Timestamp) -> String {
    match lang {
        Lang::Ja => mypage_domain::jst::format_ja_datetime(ts),
        Lang::En => mypage_domain::jst::format_en_datetime(ts),
    }
}

/// A stored instant (milliseconds) in the current request's language; empty if out of range.
pub fn datetime_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map(|ts| datetime(request_lang(), ts)).unwrap_or_default()
}

/// A calendar date, written the way `lang` writes dates.
pub fn date(lang: Lang, d: jiff::civil::Date) -> String {
    match lang {
        Lang::Ja => mypage_domain::jst::format_ja_date(d),
        Lang::En => d.strftime("%-d %B %Y").to_string(),
    }
}

/// What a missing key renders as, so it is visible on the page and searchable in tests.
pub const MISSING_MARKER: &str = "⟦missing:";

/// One language's messages.
#[derive(Debug)]
pub struct Catalog {
    lang: Lang,
    messages: BTreeMap<String, Message>,
}

/// A message as written, and as HTML: escaped once when the catalog is loaded, not each time a
/// page shows it.
#[derive(Debug)]
struct Message {
    text: String,
    html: String,
}

impl Message {
    fn new(text: String) -> Self {
        let html = escape_html(&text);
        Self { text, html }
    }
}

fn escape_html(text: &str) -> String {
    let Ok(escaped) = askama::filters::escape(text, askama::filters::Html);
    escaped.to_string()
}

/// A message already escaped for HTML: a template writes it as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Html<'a>(Cow<'a, str>);

impl std::fmt::Display for Html<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl askama::filters::HtmlSafe for Html<'_> {}

impl Catalog {
    /// Parses a TOML catalog; nested tables become dotted keys.
    pub fn parse(lang: Lang, text: &str) -> Result<Self, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut messages = BTreeMap::new();
        flatten("", &table, &mut messages)?;
        let messages = messages.into_iter().map(|(key, text)| (key, Message::new(text))).collect();
        Ok(Self { lang, messages })
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The message for `key`, or a visible marker when the catalog lacks it.
    pub fn get(&self, key: &str) -> String {
        match self.messages.get(key) {
            Some(message) => message.text.clone(),
            None => self.missing(key),
        }
    }

    /// The message for `key` as HTML, for templates: a page shows dozens of messages, and
    /// copying and escaping each on every request was a good part of rendering it.
    pub fn html(&self, key: &str) -> Html<'_> {
        match self.messages.get(key) {
            Some(message) => Html(Cow::Borrowed(&message.html)),
            None => Html(Cow::Owned(escape_html(&self.missing(key)))),
        }
    }

    fn missing(&self, key: &str) -> String {
        tracing::error!(key, lang = self.lang.code(), "message key missing from catalog");
        format!("{MISSING_MARKER}{key}⟧")
    }

    /// The message for `key` if the catalog has one (for keys built from stored data).
    pub fn try_get(&self, key: &str) -> Option<String> {
        self.messages.get(key).map(|message| message.text.clone())
    }

    /// The message with `{name}` placeholders filled in.
    pub fn fmt(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut text = self.get(key);
        for (name, value) in args {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.messages.keys().map(String::as_str)
    }
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut BTreeMap<String, String>) -> Result<(), String> {
    for (key, value) in table {
        let full = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match value {
            toml::Value::String(s) => {
                out.insert(full, s.clone());
            }
            toml::Value::Table(t) => flatten(&full, t, out)?,
            other => return Err(format!("{full}: expected text, found {}", other.type_str())),
        }
    }
    Ok(())
}

/// All catalogs, parsed once. They are immutable, so sharing them process-wide is safe.
#[derive(Debug)]
pub struct I18n {
    ja: Catalog,
    en: Catalog,
}

static SHARED: std::sync::LazyLock<I18n> = std::sync::LazyLock::new(|| {
    I18n::load().unwrap_or_else(|e| {
        // Unit tests parse the embedded catalogs, so this only happens to a broken build.
        tracing::error!(error = %e, "message catalog does not parse");
        I18n {
            ja: Catalog { lang: Lang::Ja, messages: BTreeMap::new() },
            en: Catalog { lang: Lang::En, messages: BTreeMap::new() },
        }
    })
});

impl I18n {
    pub fn load() -> Result<Self, String> {
        Ok(Self {
            ja: Catalog::parse(Lang::Ja, include_str!("../locales/ja.toml"))?,
            en: Catalog::parse(Lang::En, include_str!("../locales/en.toml"))?,
        })
    }

    pub fn catalog(&self, lang: Lang) -> &Catalog {
        match lang {
            Lang::Ja => &self.ja,
            Lang::En => &self.en,
        }
    }
}

/// The shared catalog of `lang`.
pub fn catalog(lang: Lang) -> &'static Catalog {
    SHARED.catalog(lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(askama::Template)]
    #[template(source = "<p title=\"{{ t.html(\"a\") }}\">{{ t.html(\"a\") }}</p>", ext = "html")]
    struct OneMessage<'a> {
        t: &'a Catalog,
    }

    #[test]
    fn a_message_is_escaped_once_for_pages_and_kept_as_written_for_the_rest() {
        let t = Catalog::parse(Lang::En, r#"a = "Tom & \"Jerry\" <b>""#).unwrap();
        assert_eq!(t.get("a"), r#"Tom & "Jerry" <b>"#);
        let page = askama::Template::render(&OneMessage { t: &t }).unwrap();
        let escaped = "Tom &#38; &#34;Jerry&#34; &#60;b&#62;";
        assert_eq!(page, format!(r#"<p title="{escaped}">{escaped}</p>"#));
    }

    #[test]
    fn the_japanese_catalog_parses_and_has_no_empty_messages() {
        let i18n = I18n::load().unwrap();
        let ja = i18n.catalog(Lang::Ja);
        assert!(ja.keys().count() > 50);
        for key in ja.keys() {
            assert!(!ja.get(key).trim().is_empty(), "{key} is empty");
        }
    }

    #[test]
    fn both_catalogs_have_the_same_keys_and_placeholders() {
        let i18n = I18n::load().unwrap();
        let (ja, en) = (i18n.catalog(Lang::Ja), i18n.catalog(Lang::En));
        let ja_keys: Vec<_> = ja.keys().collect();
        let en_keys: Vec<_> = en.keys().collect();
        let missing_in_en: Vec<_> = ja_keys.iter().filter(|k| !en_keys.contains(k)).collect();
        let missing_in_ja: Vec<_> = en_keys.iter().filter(|k| !ja_keys.contains(k)).collect();
        assert!(
            missing_in_en.is_empty() && missing_in_ja.is_empty(),
            "en lacks {missing_in_en:?}; ja lacks {missing_in_ja:?}"
        );
        let placeholders = |text: String| {
            let mut names: Vec<String> =
                text.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(n, _)| n.to_owned())).collect();
            names.sort();
            names
        };
        for key in ja_keys {
            assert_eq!(placeholders(ja.get(key)), placeholders(en.get(key)), "placeholders differ in {key}");
            assert!(!en.get(key).trim().is_empty(), "{key} is empty in English");
        }
    }

    #[test]
    fn accept_language_picks_the_preferred_supported_language() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9,ja;q=0.8"), Lang::En);
        assert_eq!(Lang::from_accept_language("ja,en-US;q=0.9"), Lang::Ja);
        assert_eq!(Lang::from_accept_language("fr-FR,en;q=0.5"), Lang::En);
        assert_eq!(Lang::from_accept_language("fr-FR"), Lang::Ja);
        assert_eq!(Lang::from_accept_language(""), Lang::Ja);
    }

    #[test]
    fn placeholders_are_filled_and_missing_keys_are_visible() {
        let c = Catalog::parse(Lang::Ja, "[a]\nb = \"あと{n}回\"").unwrap();
        assert_eq!(c.fmt("a.b", &[("n", "3")]), "あと3回");
        assert!(c.get("a.c").starts_with(MISSING_MARKER));
    }
}
