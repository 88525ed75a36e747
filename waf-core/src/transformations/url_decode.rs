//! `t:urlDecode`, `t:urlDecodeUni`, `t:urlEncode`.
//!
//! - `urlDecode`: `%HH` becomes a byte, `+` a space; an invalid or cut `%` stays as it is.
//! - `urlDecodeUni`: the same, plus IIS's `%uHHHH` (`u` or `U`). Without a `SecUnicodeMapFile`
//!   (the default) a `%uHHHH` becomes its low byte, except that full-width ASCII (`%uff01` to
//!   `%uff5e`) becomes the ASCII character; `%u0000` gives a NUL. With a map, see
//!   [`url_decode_uni_with_map`].
//! - `urlEncode`: every byte but ASCII letters, digits and `*` becomes `%hh` (lowercase), a space
//!   becomes `+`.
//!
//! Example: `urlDecodeUni` of `"%u0041%uff1c+%41"` is `"A< A"`; `urlEncode` of `"a b/c"` is
//! `"a+b%2fc"`.

use super::{is_hex, x2c, UnicodeMap, HEX_LOWER};

pub(super) fn url_decode(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.reserve(input.len());
    let len = input.len();
    let mut changed = false;
    let mut i = 0;
    while i < len {
        let c = input[i];
        if c == b'%' && i + 2 < len && is_hex(input[i + 1]) && is_hex(input[i + 2]) {
            out.push(x2c(input[i + 1], input[i + 2]));
            i += 3;
            changed = true;
        } else if c == b'+' {
            out.push(b' ');
            i += 1;
            changed = true;
        } else {
            out.push(c);
            i += 1;
        }
    }
    changed
}

pub(super) fn url_decode_uni(input: &[u8], out: &mut Vec<u8>) -> bool {
    decode_uni(input, out, None)
}

/// `t:urlDecodeUni` with a `SecUnicodeMapFile` loaded: a `%uHHHH` whose code point the map
/// lists becomes the map's byte; other code points decode as without a map (the low byte, or
/// ASCII for full-width ASCII). A map loaded for code page 0 is not used (libmodsecurity
/// requires a code page above 0).
///
/// ```
/// use waf_core::transformations::{url_decode_uni_with_map, UnicodeMap};
///
/// // The map always sends the IDNA full stops (U+3002, U+FF0E, U+FF61) to '.'.
/// let map = UnicodeMap::parse(b"20127 (US-ASCII)\n00c0:41\n", 20127);
/// let mut out = Vec::new();
/// assert!(url_decode_uni_with_map(b"%u00c0%u3002%u0142", &mut out, &map));
/// assert_eq!(out, b"A.B");
/// ```
pub fn url_decode_uni_with_map(input: &[u8], out: &mut Vec<u8>, map: &UnicodeMap) -> bool {
    decode_uni(input, out, Some(map).filter(|m| m.is_active()))
}

fn decode_uni(input: &[u8], out: &mut Vec<u8>, map: Option<&UnicodeMap>) -> bool {
    out.clear();
    out.reserve(input.len());
    let len = input.len();
    let mut changed = false;
    let mut i = 0;
    while i < len {
        match input[i] {
            b'+' => {
                i = copy_words(input, i, out);
                changed = true;
            }
            b'%' => {
                let (used, decoded) = decode_percent(input, i, out, map);
                i += used;
                changed |= decoded;
            }
            _ => {
                // the bytes up to the next `%` or `+` are copied as they are, in one go (a
                // search only from a byte that is neither: 2 KB of `%25` was a search, a call,
                // per `%`)
                let next = memchr::memchr2(b'%', b'+', &input[i..]).map_or(len, |n| i + n);
                out.extend_from_slice(&input[i..next]);
                i = next;
            }
        }
    }
    changed
}

/// From the `+` at `input[i]` to the next `%` (or the end), copied to `out` with each `+` a
/// space; returns where it stopped. A form's `word+word+word` is one run, where a search for
/// the next `+` or `%` was a call every few bytes (a 1 MB form's body took 17 M instructions
/// to decode, 0.7 M so).
pub(crate) fn copy_words(input: &[u8], i: usize, out: &mut Vec<u8>) -> usize {
    let end = memchr::memchr(b'%', &input[i..]).map_or(input.len(), |n| i + n);
    let start = out.len();
    out.extend_from_slice(&input[i..end]);
    for b in &mut out[start..] {
        *b = if *b == b'+' { b' ' } else { *b };
    }
    end
}

/// The `%` at `input[i]`: `%uHHHH` (through `map` when it has the code point), `%HH`, or a `%`
/// (or `%u`) kept as it is. Returns the bytes read and whether something was decoded.
fn decode_percent(
    input: &[u8],
    i: usize,
    out: &mut Vec<u8>,
    map: Option<&UnicodeMap>,
) -> (usize, bool) {
    let len = input.len();
    if i + 1 < len && matches!(input[i + 1], b'u' | b'U') {
        if i + 5 < len && input[i + 2..i + 6].iter().all(|&d| is_hex(d)) {
            let digits = &input[i + 2..i + 6];
            let mapped =
                map.and_then(|m| m.get(digits.iter().fold(0u16, |v, &d| v << 4 | hex_value(d))));
            out.push(match mapped {
                Some(b) => b,
                None => {
                    // The low byte; full-width ASCII (ff01-ff5e) moves down to ASCII.
                    let low = x2c(digits[2], digits[3]);
                    let full_width =
                        matches!(digits[0], b'f' | b'F') && matches!(digits[1], b'f' | b'F');
                    if full_width && (0x01..0x5f).contains(&low) {
                        low + 0x20
                    } else {
                        low
                    }
                }
            });
            (6, true)
        } else {
            // Not %uHHHH: keep the "%u" and go on after it.
            out.extend_from_slice(&input[i..i + 2]);
            (2, false)
        }
    } else if i + 2 < len && is_hex(input[i + 1]) && is_hex(input[i + 2]) {
        out.push(x2c(input[i + 1], input[i + 2]));
        (3, true)
    } else {
        out.push(input[i]);
        (1, false)
    }
}

/// The value of a hex digit already checked by `is_hex`.
fn hex_value(d: u8) -> u16 {
    u16::from(super::xsingle2c(d))
}

pub(super) fn url_encode(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.reserve(input.len());
    let mut changed = false;
    for &c in input {
        if c == b' ' {
            out.push(b'+');
            changed = true;
        } else if c == b'*' || c.is_ascii_alphanumeric() {
            out.push(c);
        } else {
            out.extend_from_slice(&[
                b'%',
                HEX_LOWER[usize::from(c >> 4)],
                HEX_LOWER[usize::from(c & 15)],
            ]);
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `decode_uni` byte by byte, as it was before it copied runs in one go (without a unicode
    /// map).
    fn reference(input: &[u8], out: &mut Vec<u8>) -> bool {
        out.clear();
        let (mut changed, mut i) = (false, 0);
        while i < input.len() {
            match input[i] {
                b'%' => {
                    let (used, decoded) = decode_percent(input, i, out, None);
                    i += used;
                    changed |= decoded;
                }
                c => {
                    out.push(if c == b'+' { b' ' } else { c });
                    changed |= c == b'+';
                    i += 1;
                }
            }
        }
        changed
    }

    proptest::proptest! {
        #[test]
        fn run_copying_decodes_as_the_byte_loop(
            input in proptest::collection::vec(proptest::sample::select(
                &b"%+uUfF0a9Gz %%u"[..]), 0..40)
        ) {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let flags = (decode_uni(&input, &mut a, None), reference(&input, &mut b));
            proptest::prop_assert_eq!((a, flags.0), (b, flags.1));
        }
    }

    use super::super::run;

    #[test]
    fn url_decode_keeps_invalid_percents() {
        assert_eq!(run(url_decode, b"a%20b+c%41"), (b"a b cA".to_vec(), true));
        assert_eq!(run(url_decode, b"%%4%g1%4"), (b"%%4%g1%4".to_vec(), false));
        assert_eq!(run(url_decode, b"%00"), (b"\0".to_vec(), true));
    }

    #[test]
    fn url_decode_uni_without_a_map() {
        assert_eq!(
            run(url_decode_uni, b"%u0041%uff1c+%41"),
            (b"A< A".to_vec(), true)
        );
        assert_eq!(
            run(url_decode_uni, b"%U1234%uff5f%uFF01"),
            (b"\x34\x5f!".to_vec(), true)
        );
        assert_eq!(run(url_decode_uni, b"%u0000"), (b"\0".to_vec(), true));
        // Not enough digits, or not hex: "%u" is kept and decoding goes on after it.
        assert_eq!(
            run(url_decode_uni, b"%u%41%u12"),
            (b"%uA%u12".to_vec(), true)
        );
        assert_eq!(run(url_decode_uni, b"%u12g4"), (b"%u12g4".to_vec(), false));
    }

    #[test]
    fn url_encode_keeps_only_alphanumerics_and_star() {
        assert_eq!(
            run(url_encode, b"a b/c*-._~\xff"),
            (b"a+b%2fc*%2d%2e%5f%7e%ff".to_vec(), true)
        );
        assert_eq!(
            run(url_encode, b"abcXYZ019"),
            (b"abcXYZ019".to_vec(), false)
        );
    }
}
