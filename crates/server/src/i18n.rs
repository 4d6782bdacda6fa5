//! Message catalogs. Every user-visible text, on pages and in mail, is looked up here by a key
//! that names what it means. Japanese is the default and complete; a missing key renders a
//! visible marker (and tests fail on it) instead of silently showing nothing.

use std::collections::BTreeMap;

/// The languages pages and mail can be shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ja,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Self::Ja => "ja",
        }
    }
}

/// What a missing key renders as, so it is visible on the page and searchable in tests.
pub const MISSING_MARKER: &str = "⟦missing:";

/// One language's messages.
#[derive(Debug)]
pub struct Catalog {
    lang: Lang,
    messages: BTreeMap<String, String>,
}

impl Catalog {
    /// Parses a TOML catalog; nested tables become dotted keys.
    pub fn parse(lang: Lang, text: &str) -> Result<Self, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut messages = BTreeMap::new();
        flatten("", &table, &mut messages)?;
        Ok(Self { lang, messages })
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The message for `key`, or a visible marker when the catalog lacks it.
    pub fn get(&self, key: &str) -> String {
        match self.messages.get(key) {
            Some(text) => text.clone(),
            None => {
                tracing::error!(key, lang = self.lang.code(), "message key missing from catalog");
                format!("{MISSING_MARKER}{key}⟧")
            }
        }
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
}

static SHARED: std::sync::LazyLock<I18n> = std::sync::LazyLock::new(|| {
    I18n::load().unwrap_or_else(|e| {
        // Unit tests parse the embedded catalogs, so this only happens to a broken build.
        tracing::error!(error = %e, "message catalog does not parse");
        I18n { ja: Catalog { lang: Lang::Ja, messages: BTreeMap::new() } }
    })
});

impl I18n {
    pub fn load() -> Result<Self, String> {
        Ok(Self { ja: Catalog::parse(Lang::Ja, include_str!("../locales/ja.toml"))? })
    }

    pub fn catalog(&self, lang: Lang) -> &Catalog {
        match lang {
            Lang::Ja => &self.ja,
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
    fn placeholders_are_filled_and_missing_keys_are_visible() {
        let c = Catalog::parse(Lang::Ja, "[a]\nb = \"あと{n}回\"").unwrap();
        assert_eq!(c.fmt("a.b", &[("n", "3")]), "あと3回");
        assert!(c.get("a.c").starts_with(MISSING_MARKER));
    }
}
