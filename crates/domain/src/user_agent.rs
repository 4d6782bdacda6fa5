//! A browser described in words for the account holder ("Safari on iPhone"), from its
//! User-Agent header. Only the broad family is told apart: enough to recognise one's devices.

/// The browser family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Browser {
    Edge,
    Samsung,
    Line,
    Firefox,
    Chrome,
    Safari,
    Other,
}

/// The operating system family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    IPhone,
    IPad,
    Android,
    Windows,
    MacOs,
    ChromeOs,
    Linux,
    Other,
}

impl Browser {
    /// A stable id for catalog keys (`browser.<id>`).
    pub fn key(self) -> &'static str {
        match self {
            Self::Edge => "edge",
            Self::Samsung => "samsung",
            Self::Line => "line",
            Self::Firefox => "firefox",
            Self::Chrome => "chrome",
            Self::Safari => "safari",
            Self::Other => "other",
        }
    }
}

impl Os {
    /// A stable id for catalog keys (`os.<id>`).
    pub fn key(self) -> &'static str {
        match self {
            Self::IPhone => "iphone",
            Self::IPad => "ipad",
            Self::Android => "android",
            Self::Windows => "windows",
            Self::MacOs => "macos",
            Self::ChromeOs => "chromeos",
            Self::Linux => "linux",
            Self::Other => "other",
        }
    }
}

/// The browser and operating system families of a User-Agent string.
pub fn describe(user_agent: &str) -> (Browser, Os) {
    let ua = user_agent;
    // Order matters: Edge and Samsung Internet also say "Chrome"; Chrome also says "Safari".
    let browser = if ua.contains("Edg/") || ua.contains("EdgA/") || ua.contains("EdgiOS/") {
        Browser::Edge
    } else if ua.contains("SamsungBrowser/") {
        Browser::Samsung
    } else if ua.contains(" Line/") {
        Browser::Line
    } else if ua.contains("Firefox/") || ua.contains("FxiOS/") {
        Browser::Firefox
    } else if ua.contains("Chrome/") || ua.contains("CriOS/") || ua.contains("Chromium/") {
        Browser::Chrome
    } else if ua.contains("Safari/") {
        Browser::Safari
    } else {
        Browser::Other
    };
    let os = if ua.contains("iPhone") {
        Os::IPhone
    } else if ua.contains("iPad") {
        Os::IPad
    } else if ua.contains("Android") {
        Os::Android
    } else if ua.contains("Windows") {
        Os::Windows
    } else if ua.contains("CrOS") {
        Os::ChromeOs
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        Os::MacOs
    } else if ua.contains("Linux") {
        Os::Linux
    } else {
        Os::Other
    };
    (browser, os)
}

/// An address shown only approximately: the /24 of IPv4, the /48 of IPv6.
pub fn approximate_address(addr: &str) -> String {
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => {
            let o = v4.octets();
            format!("{}.{}.{}.x", o[0], o[1], o[2])
        }
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_phone_and_desktop_browsers_are_named() {
        let cases = [
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                Browser::Safari,
                Os::IPhone,
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
                Browser::Samsung,
                Os::Android,
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
                Browser::Edge,
                Os::Windows,
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
                Browser::Chrome,
                Os::Linux,
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:132.0) Gecko/20100101 Firefox/132.0",
                Browser::Firefox,
                Os::MacOs,
            ),
            ("", Browser::Other, Os::Other),
        ];
        for (ua, browser, os) in cases {
            assert_eq!(describe(ua), (browser, os), "{ua}");
        }
    }

    #[test]
    fn addresses_are_shown_only_approximately() {
        assert_eq!(approximate_address("203.0.113.77"), "203.0.113.x");
        assert_eq!(approximate_address("2001:db8:abcd:12::1"), "2001:db8:abcd::/48");
        assert_eq!(approximate_address("garbage"), "");
    }
}
