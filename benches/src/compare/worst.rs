//! Worst inputs for the slowest patterns: one form field of a few kilobytes each, built to keep
//! CRS's regexes busy.
//!
//! A backtracking engine (PCRE in libmodsecurity) is slowest where a pattern can start a match
//! at every offset and then runs far before failing: a lazy `.*?` after a common prefix
//! (`(?is)\r\n.*?\b(?:LIST|...)`), nested or adjacent repetitions over the same bytes
//! (`,[^\)]*?(?:[0-9a-f]+|...)`), bounded counts of "special" bytes
//! (`(?:[~!@#...][^~!@#...]*?){12}`), and alternations whose many branches share long
//! prefixes. Each family below repeats one such piece up to the size; the names say what is
//! repeated. They were tried on libmodsecurity 3.0.15 with CRS 4.28 at PL1 and PL2 (the README
//! has the slowest ones' figures: 2 KB of `\r\n` takes it over 9 s at PL1); the milder ones
//! stay as a spread. A linear-time engine should take about as long on them as on any field of
//! the same size.

use super::benign;
use super::workloads::request;
use crs_test::Request;

/// (name, piece repeated, text after the repetitions).
const FAMILIES: &[(&str, &str, &str)] = &[
    ("crlf", "\r\n", "x"),
    ("comma-hex", "(1,", "x"),
    ("specials", "!a", ""),
    ("open-paren", "(", "x"),
    ("quote-or", "' or ", "x"),
    ("tag-open", "<a ", "x"),
    ("comment", "/*", "x"),
    ("dollar-paren", "$(", "x"),
    ("hex-escape", "\\x41", ""),
    ("spaces", " ", ";x"),
    ("sql-words", "select ", "x"),
    ("one-token", "a", "("),
    ("dot-dot-slash", "../", "x"),
    ("percent", "%25", ""),
    ("unclosed-quote", "\"a", ""),
    ("json-nest", "{\"a\":", "1"),
    ("shell-quotes", "c'a", "t"),
    ("and-equals", "1=1 and ", "x"),
];

/// Family names, in order.
pub fn names() -> impl Iterator<Item = &'static str> {
    FAMILIES.iter().map(|f| f.0)
}

/// The field's value for `family`, about `size` bytes.
pub fn payload(family: &str, size: usize) -> Option<Vec<u8>> {
    let &(_, piece, tail) = FAMILIES.iter().find(|f| f.0 == family)?;
    let mut out = Vec::with_capacity(size + tail.len());
    while out.len() + piece.len() <= size {
        out.extend_from_slice(piece.as_bytes());
    }
    out.extend_from_slice(tail.as_bytes());
    Some(out)
}

/// A form post whose one field `q` holds the family's payload (percent-encoded).
pub fn worst_request(family: &str, size: usize) -> Option<Request> {
    let value = payload(family, size)?;
    let mut body = b"q=".to_vec();
    for &b in &value {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' {
            body.push(b);
        } else {
            body.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    Some(request(
        "POST",
        "/search/",
        &[
            ("User-Agent", benign::CHROME_UA),
            ("Accept", "*/*"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn percent_decode(s: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < s.len() {
            if s[i] == b'%' {
                let hex = std::str::from_utf8(&s[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(s[i]);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn payloads_reach_their_size_and_decode_back() {
        for name in names() {
            let p = payload(name, 4096).unwrap();
            assert!(p.len() > 4000 && p.len() < 4200, "{name}: {}", p.len());
            let req = worst_request(name, 4096).unwrap();
            let field = req.body.strip_prefix(b"q=").expect(name);
            // one field: every `&` and `=` of the payload is encoded
            assert!(!field.contains(&b'&') && !field.contains(&b'='), "{name}");
            assert_eq!(percent_decode(field), p, "{name}");
        }
        assert!(payload("no-such-family", 10).is_none());
    }

    #[test]
    fn every_family_is_a_workload() {
        let size = super::super::workloads::Size {
            quick: true,
            rounds: None,
        };
        let w = super::super::workloads::all(size, None, &|n: &str| n.starts_with("worst"));
        assert_eq!(w.len(), names().count());
        assert!(w
            .iter()
            .all(|w| w.requests.len() == 1 && w.name.ends_with("2KB")));
    }
}
