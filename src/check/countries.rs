//! ISO 3166-1 alpha-2 country codes, used to check a user's usage location.
//!
//! The list holds the 249 officially assigned codes (as published by the ISO
//! 3166 Maintenance Agency; user-assigned codes such as `XK` are left out). It is
//! kept sorted; a lookup goes through a table of all 676 letter pairs.

/// Every officially assigned ISO 3166-1 alpha-2 code, uppercase, sorted.
const CODES: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// The code as the list spells it (uppercase), if `code` is an officially assigned
/// ISO 3166-1 alpha-2 code in any case. No surrounding whitespace is trimmed.
#[must_use]
pub fn canonical(code: &str) -> Option<&'static str> {
    let bytes = code.as_bytes();
    if bytes.len() != 2 || !bytes.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    let slot = (bytes[0].to_ascii_uppercase() - b'A') as usize * 26
        + (bytes[1].to_ascii_uppercase() - b'A') as usize;
    match INDEX[slot] {
        u8::MAX => None,
        i => Some(CODES[i as usize]),
    }
}

/// For every pair of letters AA..ZZ, its place in [`CODES`], or `u8::MAX`.
const INDEX: [u8; 26 * 26] = {
    let mut index = [u8::MAX; 26 * 26];
    let mut i = 0;
    while i < CODES.len() {
        let b = CODES[i].as_bytes();
        index[(b[0] - b'A') as usize * 26 + (b[1] - b'A') as usize] = i as u8;
        i += 1;
    }
    index
};

/// Whether `code` is an officially assigned ISO 3166-1 alpha-2 code, in any case.
#[must_use]
pub fn is_country_code(code: &str) -> bool {
    canonical(code).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn list_is_sorted_and_unique() {
        assert!(
            CODES.windows(2).all(|w| w[0] < w[1]),
            "CODES must be strictly sorted"
        );
        let set: HashSet<&str> = CODES.iter().copied().collect();
        assert_eq!(set.len(), 249);
        assert_eq!(CODES.len(), 249);
    }

    #[test]
    fn every_letter_pair_is_looked_up_right() {
        for a in b'A'..=b'Z' {
            for b in b'A'..=b'Z' {
                let code = String::from_utf8(vec![a, b]).unwrap();
                let listed = CODES.binary_search(&code.as_str()).is_ok();
                assert_eq!(canonical(&code).is_some(), listed, "{code}");
                assert_eq!(
                    canonical(&code.to_lowercase()),
                    listed.then_some(code.as_str())
                );
            }
        }
    }

    #[test]
    fn entries_are_two_uppercase_letters() {
        for code in CODES {
            assert_eq!(code.len(), 2, "{code}");
            assert!(code.bytes().all(|b| b.is_ascii_uppercase()), "{code}");
        }
    }

    #[test]
    fn known_codes_match_case_insensitively() {
        for code in [
            "NL", "de", "GB", "Fr", "us", "AX", "BQ", "CW", "SS", "SX", "AD", "ZW",
        ] {
            assert!(is_country_code(code), "{code} should be a country code");
        }
    }

    #[test]
    fn other_strings_are_rejected() {
        for code in [
            "UK", "XX", "XK", "EU", "", "N", "NLD", " NL", "NL ", "1A", "Ñl", "ÄÖ",
        ] {
            assert!(
                !is_country_code(code),
                "{code:?} should not be a country code"
            );
        }
    }
}
