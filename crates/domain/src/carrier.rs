//! Japanese mobile carriers' mail domains. Their phones filter mail by sender domain by default,
//! so "the mail never came" is most often a setting on the carrier's side; knowing the carrier
//! lets a screen name where that setting lives.

/// A mobile carrier whose mail service filters senders, known by the domain of the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    Docomo,
    Au,
    Softbank,
    Ymobile,
    UqMobile,
    Rakuten,
}

/// Every carrier with the domains its mail addresses end in. A subdomain counts
/// (`biz.ezweb.ne.jp`, and SoftBank's regional `*.vodafone.ne.jp` / `*.softbank.ne.jp`).
const DOMAINS: &[(Carrier, &[&str])] = &[
    (Carrier::Docomo, &["docomo.ne.jp"]),
    (Carrier::Au, &["ezweb.ne.jp", "au.com"]),
    (Carrier::Softbank, &["softbank.ne.jp", "i.softbank.jp", "vodafone.ne.jp", "disney.ne.jp"]),
    (Carrier::Ymobile, &["ymobile.ne.jp", "yahoo.ne.jp", "ymobile1.ne.jp", "emobile.ne.jp"]),
    (Carrier::UqMobile, &["uqmobile.jp"]),
    (Carrier::Rakuten, &["rakuten.jp", "rakumail.jp"]),
];

impl Carrier {
    /// Every carrier, in the order of `DOMAINS`.
    pub const ALL: [Self; 6] = [Self::Docomo, Self::Au, Self::Softbank, Self::Ymobile, Self::UqMobile, Self::Rakuten];

    /// The carrier of a (lowercase) mail domain, e.g. `docomo.ne.jp`, or `None` for any other.
    pub fn of_domain(domain: &str) -> Option<Self> {
        DOMAINS.iter().find_map(|(carrier, domains)| {
            domains
                .iter()
                .any(|d| domain == *d || domain.strip_suffix(d).is_some_and(|rest| rest.ends_with('.')))
                .then_some(*carrier)
        })
    }

    /// The domains that name this carrier.
    pub fn domains(self) -> &'static [&'static str] {
        DOMAINS.iter().find(|(c, _)| *c == self).map_or(&[], |(_, d)| d)
    }

    /// A stable name, used as the catalog key of the carrier's guidance.
    pub fn key(self) -> &'static str {
        match self {
            Self::Docomo => "docomo",
            Self::Au => "au",
            Self::Softbank => "softbank",
            Self::Ymobile => "ymobile",
            Self::UqMobile => "uqmobile",
            Self::Rakuten => "rakuten",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_carrier_domain_names_its_carrier() {
        for carrier in Carrier::ALL {
            assert!(!carrier.domains().is_empty());
            for domain in carrier.domains() {
                assert_eq!(Carrier::of_domain(domain), Some(carrier), "{domain}");
            }
        }
        assert_eq!(Carrier::of_domain("biz.ezweb.ne.jp"), Some(Carrier::Au));
        assert_eq!(Carrier::of_domain("t.vodafone.ne.jp"), Some(Carrier::Softbank));
    }

    #[test]
    fn other_domains_and_look_alikes_name_no_carrier() {
        for domain in ["example.jp", "gmail.com", "notdocomo.ne.jp", "docomo.ne.jp.example.com", "xau.com", "ne.jp"] {
            assert_eq!(Carrier::of_domain(domain), None, "{domain}");
        }
    }
}
