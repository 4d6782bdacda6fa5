//! The email address, which is also the login ID (「ID (メールアドレス)」).
//!
//! Decision: the whole address is lowercased, so login IDs compare case-insensitively
//! (`Taro@Example.JP` and `taro@example.jp` are one account). Mail providers in practice treat
//! local parts case-insensitively too. Only ASCII addresses are accepted after NFKC (full-width
//! input becomes ASCII); internationalized addresses would need SMTPUTF8 end to end.
//!
//! Decision: a local part that breaks only RFC 5321's dot rules (a dot at its start or end, two
//! dots in a row: `taro.@docomo.ne.jp`, `ta..ro@ezweb.ne.jp`) is accepted, because Japanese
//! carriers handed such addresses out for years. It is kept as typed; delivery writes it as a
//! quoted string (`"taro."@docomo.ne.jp`), which [`Email::is_dot_atom`] tells the mailer to do.

use email_address::{EmailAddress, Options};

use crate::text::normalize;

/// Longest address accepted, in characters (RFC 5321 path limit less the angle brackets).
pub const MAX_LEN: usize = 254;
/// Longest local part accepted, in characters (RFC 5321).
pub const MAX_LOCAL_LEN: usize = 64;
/// Raw input longer than this is refused before normalization, to bound the work done.
const MAX_INPUT_CHARS: usize = 1024;

/// Why an email address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing (or only spaces) was entered.
    #[error("email address is empty")]
    Empty,
    /// Longer than 254 characters, or a local part longer than 64.
    #[error("email address is too long")]
    TooLong,
    /// Not a usable address (no `@`, no dot in the domain, a forbidden character, …).
    #[error("email address is not valid")]
    Invalid,
}

/// A normalized, lowercased email address usable as a login ID.
///
/// Invariants: ASCII, lowercase, at most 254 characters, exactly one `@`, a local part of 1 to
/// 64 characters, a domain with at least one dot, no control characters or spaces, and valid
/// for the `email_address` crate (no quoted local part, no domain literal, no display name)
/// once the local part's dots are tidied (see [`Email::is_dot_atom`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email {
    address: String,
    at: usize,
}

impl Email {
    /// Parses what was typed into an `Email`; full-width characters and surrounding spaces are
    /// fine (`ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＪＰ` becomes `taro@example.jp`).
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        if input.chars().count() > MAX_INPUT_CHARS {
            return Err(EmailError::TooLong);
        }
        let address = normalize(input).to_lowercase();
        if address.is_empty() {
            return Err(EmailError::Empty);
        }
        if address.chars().count() > MAX_LEN {
            return Err(EmailError::TooLong);
        }
        if !address.chars().all(|c| c.is_ascii_graphic()) || address.contains('"') {
            return Err(EmailError::Invalid);
        }
        let mut ats = address.match_indices('@').map(|(i, _)| i);
        let (Some(at), None) = (ats.next(), ats.next()) else {
            return Err(EmailError::Invalid);
        };
        let (local, domain) = (&address[..at], &address[at + 1..]);
        if local.is_empty() || !domain.contains('.') {
            return Err(EmailError::Invalid);
        }
        if local.len() > MAX_LOCAL_LEN {
            return Err(EmailError::TooLong);
        }
        let options = Options {
            minimum_sub_domains: 2,
            allow_domain_literal: false,
            allow_display_text: false,
            allow_long_local_parts: false,
        };
        // Only the dot rules are forgiven: the local part with its empty dot-separated pieces
        // dropped must make a valid address, so every other character rule still applies.
        let tidied: Vec<&str> = local.split('.').filter(|piece| !piece.is_empty()).collect();
        if tidied.is_empty() {
            return Err(EmailError::Invalid);
        }
        let checked = format!("{}@{domain}", tidied.join("."));
        EmailAddress::parse_with_options(&checked, options).map_err(|_| EmailError::Invalid)?;
        Ok(Self { address, at })
    }

    /// The whole address, e.g. `taro@example.jp`.
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The part before `@`, e.g. `taro`.
    pub fn local_part(&self) -> &str {
        self.address.get(..self.at).unwrap_or("")
    }

    /// Whether the local part obeys RFC 5321's dot rules (no dot at its start or end, no two in a
    /// row), so it can be written on the SMTP envelope as it is; otherwise it must be quoted.
    pub fn is_dot_atom(&self) -> bool {
        let local = self.local_part();
        !local.starts_with('.') && !local.ends_with('.') && !local.contains("..")
    }

    /// The part after `@`, e.g. `example.jp` (the domain to allow in a phone's domain filter).
    pub fn domain(&self) -> &str {
        self.address.get(self.at + 1..).unwrap_or("")
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_addresses_and_lowercases_them() {
        let cases = [
            ("taro@example.jp", "taro@example.jp"),
            ("Taro.Yamada@Example.JP", "taro.yamada@example.jp"),
            ("ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＪＰ", "taro@example.jp"),
            ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "taro@example.jp"),
            ("  taro@example.jp\u{3000}", "taro@example.jp"),
            ("taro+mypage@mail.example.co.jp", "taro+mypage@mail.example.co.jp"),
            ("t_a-r.o@docomo.ne.jp", "t_a-r.o@docomo.ne.jp"),
            ("1@a.b", "1@a.b"),
        ];
        for (input, expected) in cases {
            let email = Email::parse(input);
            assert_eq!(email.as_ref().map(Email::as_str), Ok(expected), "input {input:?}");
        }
    }

    #[test]
    fn accepts_local_parts_that_break_only_the_dot_rules_as_typed() {
        for (input, expected) in [
            ("taro.@docomo.ne.jp", "taro.@docomo.ne.jp"),
            ("Ta..Ro@EZweb.ne.jp", "ta..ro@ezweb.ne.jp"),
            (".taro@softbank.ne.jp", ".taro@softbank.ne.jp"),
            ("taro...@docomo.ne.jp", "taro...@docomo.ne.jp"),
        ] {
            let email = Email::parse(input).unwrap();
            assert_eq!(email.as_str(), expected);
            assert!(!email.is_dot_atom(), "{input}");
        }
        assert!(Email::parse("taro.yamada@docomo.ne.jp").unwrap().is_dot_atom());
    }

    #[test]
    fn splits_local_part_and_domain() {
        let email = Email::parse("Taro.Yamada@Example.JP").unwrap();
        assert_eq!(email.local_part(), "taro.yamada");
        assert_eq!(email.domain(), "example.jp");
        assert_eq!(email.to_string(), "taro.yamada@example.jp");
    }

    #[test]
    fn refuses_empty_input() {
        for input in ["", "  ", "\u{3000}"] {
            assert_eq!(Email::parse(input), Err(EmailError::Empty), "{input:?}");
        }
    }

    #[test]
    fn refuses_invalid_addresses() {
        for input in [
            "taro",
            "taro@",
            "@example.jp",
            "taro@example",
            "taro@@example.jp",
            "taro@hanako@example.jp",
            "taro yamada@example.jp",
            "taro@exa mple.jp",
            "taro\u{0007}@example.jp",
            "taro@example.jp\u{0000}x",
            "\"taro\"@example.jp",
            "taro@[192.168.0.1]",
            "Taro <taro@example.jp>",
            ".@example.jp",
            "...@example.jp",
            "taro.(x)@example.jp",
            "ta..ro,@example.jp",
            "taro@example..jp",
            "taro@.example.jp",
            "taro@-example.jp",
            "たろう@example.jp",
            "taro@例え.jp",
        ] {
            assert_eq!(Email::parse(input), Err(EmailError::Invalid), "{input:?}");
        }
    }

    #[test]
    fn accepts_254_characters_and_refuses_255() {
        // local part (64) + '@' + domain
        let domain = format!("{}.{}.{}.jp", "a".repeat(63), "b".repeat(63), "c".repeat(58));
        let at_limit = format!("{}@{}", "t".repeat(64), domain);
        assert_eq!(at_limit.len(), 254);
        assert!(Email::parse(&at_limit).is_ok());
        let domain = format!("{}.{}.{}.jp", "a".repeat(63), "b".repeat(63), "c".repeat(59));
        let over = format!("{}@{}", "t".repeat(64), domain);
        assert_eq!(over.len(), 255);
        assert_eq!(Email::parse(&over), Err(EmailError::TooLong));
    }

    #[test]
    fn refuses_a_local_part_longer_than_64_characters() {
        let ok = format!("{}@example.jp", "a".repeat(64));
        assert!(Email::parse(&ok).is_ok());
        let long = format!("{}@example.jp", "a".repeat(65));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn refuses_huge_input_before_normalizing_it() {
        let huge = " ".repeat(2000) + "taro@example.jp";
        assert_eq!(Email::parse(&huge), Err(EmailError::TooLong));
    }
}
