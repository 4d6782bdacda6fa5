//! Text normalization applied to everything a job seeker types.
//!
//! Job seekers often type on phones with a Japanese input method, so full-width digits, letters,
//! `＠` and the ideographic space (U+3000) are normal input, never an error. Every parser in this
//! crate runs [`normalize`] first (passwords excepted: they are compared byte for byte).

use unicode_normalization::UnicodeNormalization;

/// Unicode NFKC, then surrounding white space trimmed.
///
/// NFKC maps full-width ASCII (`６００４９`, `ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＪＰ`) to half-width and
/// U+3000 to a plain space, so trimming after NFKC also removes ideographic spaces.
pub fn normalize(input: &str) -> String {
    let nfkc: String = input.nfkc().collect();
    nfkc.trim().to_owned()
}

/// Whether `c` is a character people type (or an input method produces) where they mean `-`.
///
/// Covers U+2010..=U+2015 (hyphens and dashes), U+2212 (minus sign), U+30FC (`ー`, the katakana
/// prolonged sound mark), U+FF70 (`ｰ`), U+FE63 (small hyphen-minus) and U+FF0D (`－`).
/// The ASCII `-` itself is not a look-alike and returns `false`.
pub fn is_hyphen_like(c: char) -> bool {
    matches!(c, '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{30FC}' | '\u{FF70}' | '\u{FE63}' | '\u{FF0D}')
}

/// Replaces every hyphen look-alike (see [`is_hyphen_like`]) with an ASCII `-`.
pub fn unify_hyphens(s: &str) -> String {
    s.chars().map(|c| if is_hyphen_like(c) { '-' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_turns_full_width_characters_into_half_width() {
        let cases = [
            ("６００４９－５８００４５０３", "60049-58004503"),
            ("ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＪＰ", "TARO@EXAMPLE.JP"),
            ("ａｂｃ１２３", "abc123"),
            ("ｶﾞ", "ガ"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn normalize_trims_ascii_and_ideographic_spaces() {
        let cases = [
            ("  abc  ", "abc"),
            ("\u{3000}abc\u{3000}", "abc"),
            ("\t\nabc\r\n", "abc"),
            ("\u{3000}\u{3000}", ""),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn normalize_keeps_inner_spaces_but_makes_them_half_width() {
        assert_eq!(normalize("a\u{3000}b"), "a b");
    }

    #[test]
    fn unify_hyphens_maps_every_look_alike_to_ascii_hyphen() {
        let look_alikes = [
            '\u{2010}', '\u{2011}', '\u{2012}', '\u{2013}', '\u{2014}', '\u{2015}', '\u{2212}', '\u{30FC}', '\u{FF70}',
            '\u{FE63}', '\u{FF0D}',
        ];
        for c in look_alikes {
            let input = format!("1{c}2");
            assert_eq!(unify_hyphens(&input), "1-2", "look-alike U+{:04X}", c as u32);
            assert!(is_hyphen_like(c), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn unify_hyphens_leaves_other_characters_alone() {
        assert_eq!(unify_hyphens("a-b_c.d/e〜"), "a-b_c.d/e〜");
        assert!(!is_hyphen_like('-'));
        assert!(!is_hyphen_like('_'));
        assert!(!is_hyphen_like('\u{2016}'));
        assert!(!is_hyphen_like('\u{200F}'));
    }
}
