//! URLENCODED: splitting a query string or an `application/x-www-form-urlencoded` body into
//! arguments, exactly as libmodsecurity v3.0.15 does.
//!
//! # Description
//!
//! libmodsecurity runs the same code for `QUERY_STRING` (ARGS_GET) and for urlencoded bodies
//! (ARGS_POST): `Transaction::extractArguments` (`src/transaction.cc`), which uses
//! `utils::string::ssplit` / `ssplit_pair` (`src/utils/string.h`, both built on
//! `std::getline`) and `utils::urldecode_nonstrict_inplace` (`src/utils/decode.cc`).
//! This is not RFC 3986 / WHATWG form decoding:
//!
//! | input | arguments | why |
//! |---|---|---|
//! | `a` | `("a", "")` | `ssplit_pair` gives an empty value when there is no `=` |
//! | `a=` | `("a", "")` | |
//! | `=b` | `("", "b")` | empty names are kept |
//! | `a=b=c` | `("a", "b=c")` | only the first `=` splits |
//! | `a&&b` | `("a","")`, `("","")`, `("b","")` | `getline` yields the empty token between separators |
//! | `&a` | `("","")`, `("a","")` | |
//! | `a&` | `("a","")` | `getline` yields no token after a trailing separator |
//! | `` (empty) | none | (libmodsecurity does not even call the splitter for an empty query string) |
//! | `+` | `" "` | `+` is decoded to a space in names and values |
//! | `%41` / `%4a` | `A` / `J` | two hex digits, either case |
//! | `%4`, `%zz`, `%` | kept as is | an invalid escape copies the `%` and goes on |
//!
//! Invalid escapes and `URLENCODED_ERROR`: `urldecode_nonstrict_inplace` counts invalid `%`
//! escapes in an `int& invalid_count` that it **resets to 0 on every call**
//! (`invalid_count = 0;` at its top, since the v3.0.13 refactoring). `extractArguments` decodes
//! the name, then the value, into the same counter and then tests it, so only an invalid escape
//! in the **value** sets `URLENCODED_ERROR` to `1`; an invalid escape in a name alone does not.
//! [`UrlencodedStatus::urlencoded_error`] is that libmodsecurity verdict;
//! [`UrlencodedStatus::invalid_in_names`] is reported separately for callers that want it.
//!
//! Nothing is dropped: libmodsecurity's `SecArgumentsLimit` check (`Transaction::addArgument`)
//! counts all ARGS of the transaction (query string and body together), so it belongs to the
//! caller, which sees every pair in order here.
//!
//! # Arguments
//!
//! `input`: the raw query string (without `?`) or body. `separator`: `&`, or the first byte of
//! `SecArgumentSeparator`.
//!
//! # Returns
//!
//! The decoded `(name, value)` pairs are appended to `out`, in order; the status tells whether
//! libmodsecurity would set `URLENCODED_ERROR`.
//!
//! # Example
//!
//! ```
//! use waf_core::body::urlencoded;
//! let mut out = Vec::new();
//! let st = urlencoded::parse(b"a=1&b=%zz+x&&c", b'&', &mut out);
//! assert_eq!(out[1], (b"b".to_vec(), b"%zz x".to_vec()));
//! assert_eq!(out.len(), 4);
//! assert!(st.urlencoded_error);
//! ```

/// What libmodsecurity learned while splitting and decoding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UrlencodedStatus {
    /// libmodsecurity's `URLENCODED_ERROR` verdict: some value held an invalid `%` escape.
    /// (An invalid escape in a name alone does not set it; see the module doc.)
    pub urlencoded_error: bool,
    /// Some name held an invalid `%` escape (not reported by libmodsecurity).
    pub invalid_in_names: bool,
    /// Number of `(name, value)` pairs appended.
    pub count: usize,
}

/// Splits `input` on `separator`, splits each piece at its first `=`, URL-decodes both halves
/// with libmodsecurity's non-strict decoder and appends the pairs to `out`.
pub fn parse(input: &[u8], separator: u8, out: &mut Vec<(Vec<u8>, Vec<u8>)>) -> UrlencodedStatus {
    parse_each(input, separator, |_, name, value| {
        out.push((name.to_vec(), value.to_vec()))
    })
}

/// [`parse`], calling `f` with each piece as it stands in `input` and its decoded name and
/// value, decoded into two buffers reused from pair to pair (a pair's two vectors, copied
/// again into the argument's buffers, were a third of the cost of adding an argument).
pub fn parse_each(
    input: &[u8],
    separator: u8,
    mut f: impl FnMut(&[u8], &[u8], &[u8]),
) -> UrlencodedStatus {
    let mut status = UrlencodedStatus::default();
    let (mut name_buf, mut value_buf) = (Vec::new(), Vec::new());
    for piece in split_getline(input, separator) {
        // ssplit_pair: getline(ss, key, '='); value = the rest after the first '='.
        let (name, value) = match memchr::memchr(b'=', piece) {
            Some(i) => (&piece[..i], &piece[i + 1..]),
            None => (piece, &piece[piece.len()..]),
        };
        name_buf.clear();
        value_buf.clear();
        let name_invalid = decode_nonstrict_into(name, &mut name_buf);
        let value_invalid = decode_nonstrict_into(value, &mut value_buf);
        status.invalid_in_names |= name_invalid > 0;
        // The counter is reset by each call: only the value's count is tested.
        status.urlencoded_error |= value_invalid > 0;
        status.count += 1;
        f(piece, &name_buf, &value_buf);
    }
    status
}

/// `std::getline`-based splitting (`utils::string::ssplit`): every separator ends a token, a
/// trailing separator does not start a new (empty) one, and empty input gives no token.
pub fn split_getline(input: &[u8], separator: u8) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(input);
    std::iter::from_fn(move || {
        let r = rest?;
        if r.is_empty() {
            rest = None;
            return None;
        }
        match memchr::memchr(separator, r) {
            Some(i) => {
                rest = Some(&r[i + 1..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// `utils::urldecode_nonstrict_inplace`: `%XX` (two hex digits) becomes a byte, `+` becomes a
/// space, any other `%` is copied and counted as invalid. Returns the decoded bytes and the
/// number of invalid escapes.
pub fn decode_nonstrict(input: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(input.len());
    let invalid = decode_nonstrict_into(input, &mut out);
    (out, invalid)
}

/// [`decode_nonstrict`] appending to `out`; the runs between `%` and `+` are copied whole.
fn decode_nonstrict_into(input: &[u8], out: &mut Vec<u8>) -> usize {
    out.reserve(input.len());
    let mut invalid = 0;
    let mut i = 0;
    while i < input.len() {
        // (a search only from a byte that is neither `%` nor `+`: a field of `%2F%2A...` was
        // a search, a call, per `%`)
        if !matches!(input[i], b'%' | b'+') {
            let Some(run) = memchr::memchr2(b'%', b'+', &input[i..]) else {
                out.extend_from_slice(&input[i..]);
                break;
            };
            out.extend_from_slice(&input[i..i + run]);
            i += run;
        }
        if input[i] == b'+' {
            i = crate::transformations::copy_words(input, i, out);
            continue;
        }
        if i + 2 < input.len() {
            if let (Some(h), Some(l)) = (hex_val(input[i + 1]), hex_val(input[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b'%');
        invalid += 1;
        i += 1;
    }
    invalid
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> (crate::body::json::Args, UrlencodedStatus) {
        let mut out = Vec::new();
        let st = parse(input, b'&', &mut out);
        (out, st)
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        v.iter()
            .map(|(a, b)| (a.as_bytes().to_vec(), b.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn getline_splitting() {
        assert_eq!(run(b"").0, pairs(&[]));
        assert_eq!(run(b"&").0, pairs(&[("", "")]));
        assert_eq!(run(b"a&").0, pairs(&[("a", "")]));
        assert_eq!(run(b"&a").0, pairs(&[("", ""), ("a", "")]));
        assert_eq!(run(b"a&&b").0, pairs(&[("a", ""), ("", ""), ("b", "")]));
        assert_eq!(run(b"a=&=b").0, pairs(&[("a", ""), ("", "b")]));
        assert_eq!(run(b"a=b=c").0, pairs(&[("a", "b=c")]));
        assert_eq!(run(b"=").0, pairs(&[("", "")]));
    }

    #[test]
    fn decoding() {
        assert_eq!(decode_nonstrict(b"%41%4a%4A+"), (b"AJJ ".to_vec(), 0));
        assert_eq!(decode_nonstrict(b"%"), (b"%".to_vec(), 1));
        assert_eq!(decode_nonstrict(b"%4"), (b"%4".to_vec(), 1));
        assert_eq!(decode_nonstrict(b"a%4"), (b"a%4".to_vec(), 1));
        assert_eq!(decode_nonstrict(b"%zz%41"), (b"%zzA".to_vec(), 1));
        assert_eq!(decode_nonstrict(b"%%41"), (b"%A".to_vec(), 1));
        assert_eq!(decode_nonstrict(b"%00"), (vec![0], 0));
    }

    /// A byte-at-a-time decoder, written apart from the one under test.
    fn decode_bytewise(input: &[u8]) -> (Vec<u8>, usize) {
        let hex = |b: Option<&u8>| b.and_then(|&c| char::from(c).to_digit(16));
        let (mut out, mut invalid, mut rest) = (Vec::new(), 0, input);
        while let Some((&c, tail)) = rest.split_first() {
            rest = tail;
            match c {
                b'%' => match (hex(tail.first()), hex(tail.get(1))) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        rest = &tail[2..];
                    }
                    _ => {
                        out.push(b'%');
                        invalid += 1;
                    }
                },
                b'+' => out.push(b' '),
                c => out.push(c),
            }
        }
        (out, invalid)
    }

    proptest::proptest! {
        #[test]
        fn decoding_equals_the_bytewise_decoder(input in proptest::collection::vec(
            proptest::sample::select(&b"%+aF09gZ=& \x00\xff"[..]), 0..40)) {
            proptest::prop_assert_eq!(decode_nonstrict(&input), decode_bytewise(&input));
        }
    }

    #[test]
    fn only_value_errors_count() {
        assert!(!run(b"a%zz=b").1.urlencoded_error);
        assert!(run(b"a%zz=b").1.invalid_in_names);
        assert!(run(b"a=b%z").1.urlencoded_error);
        assert!(run(b"x=1&a=%").1.urlencoded_error);
    }
}
