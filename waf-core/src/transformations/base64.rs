//! `t:base64Decode`, `t:base64DecodeExt`, `t:base64Encode`.
//!
//! - `base64Decode` is strict: libmodsecurity hands the value to mbedTLS 3's
//!   `mbedtls_base64_decode`, which rejects anything but canonical base64 (lines may be split by
//!   `\n` or `\r\n`, spaces only at line ends). A rejected value is left as it was. The value is
//!   read up to its first NUL (libmodsecurity passes `strlen(value)`).
//! - `base64DecodeExt` is libmodsecurity's own forgiving decoder (`decode_forgiven_engine`): it
//!   skips every byte outside the standard alphabet (the URL-safe `-` and `_` too) and mostly
//!   ignores padding.
//! - `base64Encode` is standard base64 with `=` padding.
//!
//! Example: `base64Decode` of `"VGVzdENhc2U="` is `"TestCase"`; of `"VGVzdENhc2U"` (no padding) it
//! is `"VGVzdENhc2U"`, unchanged; `base64DecodeExt` of `"VGVzdENhc2U"` is `"TestCase"`.

use super::at;
use crate::regex::ByteSet;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `mbedtls_ct_base64_dec_value`: the 6-bit value of a standard-alphabet digit.
fn dec_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

pub(crate) fn base64_decode(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    if input.is_empty() {
        return false;
    }
    let c_str = &input[..memchr::memchr(0, input).unwrap_or(input.len())];
    if mbedtls_decode(c_str, out) {
        true
    } else {
        out.clear();
        out.extend_from_slice(input);
        false
    }
}

/// Whether [`base64_decode`] is sure to reject `input` (and so give it back unchanged, its
/// "changed" flag down), told by one pass that stops early: a byte outside the alphabet, `=`
/// and the line breaks, or a space inside a line, before any NUL; or, with no NUL, space or
/// line break at all, a length that is not a multiple of four. `false` when unsure. Most
/// request values are words, names or numbers: `t:removeWhitespace,t:base64Decode` (CRS's
/// 934100) turned three in four of a form's values away here, not by the decoder after a copy.
pub(super) fn rejects(input: &[u8]) -> bool {
    for (i, &c) in input.iter().enumerate() {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => {}
            // a space followed by anything but more spaces, a line break or the end (of the
            // string: a NUL) is a space inside a line
            b' ' => {
                return input
                    .get(i + 1)
                    .is_some_and(|&next| !matches!(next, b' ' | b'\r' | b'\n' | 0))
            }
            // the end of the C string, or a line break: past the quick test
            0 | b'\r' | b'\n' => return false,
            _ => return true,
        }
    }
    // every byte a digit or `=`: as many as the length
    input.len() % 4 != 0
}

/// [`rejects`] of `input`, whose bytes are `bytes`, told by the set alone when it holds no
/// space, line break or NUL (the bytes whose place in the value matters): then a byte outside
/// the alphabet and `=` rejects it, and a value of digits is rejected by its length. `None`
/// when the set cannot tell. A JSON body's names and values were each scanned here by every
/// chain with `t:base64Decode` (CRS's 934100 and 934160).
pub(crate) fn rejects_by_bytes(input: &[u8], bytes: &ByteSet) -> Option<bool> {
    if bytes.intersects(&PLACED) {
        return None;
    }
    Some(bytes.intersects(&NOT_DIGITS) || input.len() % 4 != 0)
}

/// The bytes whose place in a value [`rejects`] looks at: space, the line breaks, NUL.
const PLACED: ByteSet = ByteSet::of_ranges(
    &[(0, 0), (b'\n', b'\n'), (b'\r', b'\r'), (b' ', b' ')],
    false,
);
/// The bytes [`rejects`] turns a value away for, wherever they are (before any of [`PLACED`]):
/// all but the alphabet, `=` and [`PLACED`].
const NOT_DIGITS: ByteSet = ByteSet::of_ranges(
    &[
        (b'A', b'Z'),
        (b'a', b'z'),
        (b'0', b'9'),
        (b'+', b'+'),
        (b'/', b'/'),
        (b'=', b'='),
        (0, 0),
        (b'\n', b'\n'),
        (b'\r', b'\r'),
        (b' ', b' '),
    ],
    true,
);

/// A byte's 6-bit value in the standard alphabet, or [`NOT_A_DIGIT`].
const DIGITS: [u8; 256] = {
    let mut t = [NOT_A_DIGIT; 256];
    let mut i = 0;
    while i < 64 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
};

const NOT_A_DIGIT: u8 = 0xff;

/// mbedTLS 3's `mbedtls_base64_decode`; `false` (and `out` undefined) when it returns an error.
fn mbedtls_decode(src: &[u8], out: &mut Vec<u8>) -> bool {
    // First pass: validate, count digits and padding.
    let (mut n, mut equals) = (0usize, 0usize);
    let mut i = 0;
    while i < src.len() {
        // a digit with no space before it, the usual byte, by the table (what the general
        // case below does with it)
        if DIGITS[usize::from(src[i])] != NOT_A_DIGIT {
            if equals != 0 {
                return false; // A digit after padding.
            }
            n += 1;
            i += 1;
            continue;
        }
        let mut spaces = false;
        while i < src.len() && src[i] == b' ' {
            i += 1;
            spaces = true;
        }
        if i == src.len() {
            break; // Spaces at the end are fine.
        }
        let c = src[i];
        let eol = c == b'\n' || (c == b'\r' && src.get(i + 1) == Some(&b'\n'));
        if !eol {
            if spaces || c > 127 {
                return false; // A space inside a line, or not ASCII.
            }
            if c == b'=' {
                equals += 1;
                if equals > 2 {
                    return false;
                }
            } else if equals != 0 || dec_value(c).is_none() {
                return false; // A digit after padding, or not a digit.
            }
            n += 1;
        }
        i += 1;
    }
    if (n - equals) % 4 == 1 || n % 4 != 0 {
        return false;
    }
    // Second pass: decode, stopping at the padding.
    out.reserve(n / 4 * 3);
    let (mut x, mut digits) = (0u32, 0);
    for &c in src {
        let d = DIGITS[usize::from(c)];
        if d == NOT_A_DIGIT {
            match c {
                b'\r' | b'\n' | b' ' => continue,
                b'=' => break,
                _ => {}
            }
        }
        // (validated: only digits get here; anything else would count as 0)
        let d = if d == NOT_A_DIGIT { 0 } else { d };
        x = (x << 6) | u32::from(d);
        digits += 1;
        if digits == 4 {
            digits = 0;
            out.extend_from_slice(&[(x >> 16) as u8, (x >> 8) as u8, x as u8]);
        }
    }
    match digits {
        3 => out.extend_from_slice(&[(x >> 10) as u8, (x >> 2) as u8]),
        2 => out.push((x >> 4) as u8),
        _ => {}
    }
    true
}

/// `decode_forgiven_engine`'s table: a digit's value, negative for a skipped byte.
fn forgiven_value(c: u8) -> i32 {
    dec_value(c).map_or(-1, i32::from)
}

pub(super) fn base64_decode_ext(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    if input.is_empty() {
        return false;
    }
    out.reserve(input.len() / 4 * 3 + 2);
    // `i` counts the digits used, `partial` is the byte being filled.
    let (mut i, mut partial) = (0usize, 0u8);
    // The last byte seen: raw when it was '=', else its table value. libmodsecurity compares it
    // with '=' (61) after the loop, so a final '9' (value 61) counts as padding too.
    let mut ch = 0i32;
    for (pos, &c) in input.iter().enumerate() {
        if c == b'=' {
            ch = i32::from(b'=');
            // `*encoded` reads the std::string's NUL terminator after the last byte.
            if at(input, pos + 1) != b'=' && i % 4 == 1 {
                out.clear();
                return true;
            }
            continue;
        }
        ch = forgiven_value(c);
        let Ok(v) = u8::try_from(ch) else { continue };
        match i % 4 {
            0 => partial = v << 2,
            1 => {
                out.push(partial | v >> 4);
                partial = (v & 0x0f) << 4;
            }
            2 => {
                out.push(partial | v >> 2);
                partial = (v & 0x03) << 6;
            }
            _ => out.push(partial | v),
        }
        i += 1;
    }
    if ch == i32::from(b'=') && i % 4 == 1 {
        out.clear();
    }
    true
}

pub(super) fn base64_encode(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.reserve(input.len().div_ceil(3) * 4);
    let mut chunks = input.chunks_exact(3);
    for c in &mut chunks {
        let x = u32::from(c[0]) << 16 | u32::from(c[1]) << 8 | u32::from(c[2]);
        out.extend([18, 12, 6, 0].map(|s| ALPHABET[(x >> s) as usize & 63]));
    }
    match *chunks.remainder() {
        [a] => {
            let x = u32::from(a) << 16;
            out.extend([
                ALPHABET[(x >> 18) as usize & 63],
                ALPHABET[(x >> 12) as usize & 63],
            ]);
            out.extend_from_slice(b"==");
        }
        [a, b] => {
            let x = u32::from(a) << 16 | u32::from(b) << 8;
            out.extend([18, 12, 6].map(|s| ALPHABET[(x >> s) as usize & 63]));
            out.push(b'=');
        }
        _ => {}
    }
    !input.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::run;

    #[test]
    fn strict_decode_accepts_only_canonical_base64() {
        assert_eq!(run(base64_decode, b"QUJD"), (b"ABC".to_vec(), true));
        assert_eq!(run(base64_decode, b"QUI="), (b"AB".to_vec(), true));
        assert_eq!(run(base64_decode, b"QU\r\nJD  \n"), (b"ABC".to_vec(), true));
        assert_eq!(run(base64_decode, b"   "), (b"".to_vec(), true));
        // Rejected: left unchanged.
        for bad in [
            &b"QUJ"[..],
            b"QUJDRA",
            b" QUJD",
            b"QU\rJD",
            b"QU=JD",
            b"QUJDR===",
            b"Zm9v-_",
        ] {
            assert_eq!(run(base64_decode, bad), (bad.to_vec(), false), "{bad:?}");
        }
        // Read up to the first NUL.
        assert_eq!(run(base64_decode, b"QUJD\0RA=="), (b"ABC".to_vec(), true));
    }

    #[test]
    fn forgiving_decode_skips_junk_and_quirks_on_a_final_nine() {
        assert_eq!(run(base64_decode_ext, b"QU!J.D"), (b"ABC".to_vec(), true));
        assert_eq!(run(base64_decode_ext, b"-_QUJD_-"), (b"ABC".to_vec(), true));
        // One digit left over and a final '=' that is not followed by '=': nothing.
        assert_eq!(run(base64_decode_ext, b"QUJDR="), (b"".to_vec(), true));
        // A final '9' reads as '=' (the table value of '9' is 61).
        assert_eq!(run(base64_decode_ext, b"QUJD9"), (b"".to_vec(), true));
        assert_eq!(run(base64_decode_ext, b"QUJDA"), (b"ABC".to_vec(), true));
    }

    #[test]
    fn words_and_odd_lengths_are_rejected_without_decoding() {
        for rejected in [
            &b"soft cotton"[..],
            b"QUJ",
            b"field_1",
            b"QU JD",
            b"caf\xc3\xa9",
        ] {
            assert!(rejects(rejected), "{rejected:?}");
        }
        // decoded, or possibly so: not told
        for unsure in [&b"QUJD"[..], b"", b"   ", b"QUJD  ", b"QU\r\nJD", b"QUJ\0x"] {
            assert!(!rejects(unsure), "{unsure:?}");
        }
    }

    /// mbedTLS's rules read line by line, written another way: `\r\n` ends a line as `\n`
    /// does; a line may end with spaces, holds no other space or line break, only digits
    /// and `=`; at most two `=`, no digit after one; as many of them in all as a multiple of
    /// four, not one digit past one. The digits then decode four to three bytes.
    fn by_lines(src: &[u8]) -> Option<Vec<u8>> {
        let text: Vec<u8> = src
            .iter()
            .enumerate()
            .filter(|&(i, &c)| !(c == b'\r' && src.get(i + 1) == Some(&b'\n')))
            .map(|(_, &c)| c)
            .collect();
        let mut kept = Vec::new();
        for line in text.split(|&c| c == b'\n') {
            let end = line.iter().rposition(|&c| c != b' ').map_or(0, |e| e + 1);
            kept.extend_from_slice(&line[..end]);
        }
        let equals = kept.iter().filter(|&&c| c == b'=').count();
        let first_equal = kept.iter().position(|&c| c == b'=').unwrap_or(kept.len());
        let valid = kept.iter().all(|&c| c == b'=' || dec_value(c).is_some())
            && equals <= 2
            && kept[first_equal..].iter().all(|&c| c == b'=')
            && kept.len() % 4 == 0
            && (kept.len() - equals) % 4 != 1;
        if !valid {
            return None;
        }
        let values: Vec<u32> = kept[..first_equal]
            .iter()
            .filter_map(|&c| dec_value(c).map(u32::from))
            .collect();
        let mut out = Vec::new();
        for group in values.chunks(4) {
            let x = group.iter().fold(0u32, |x, &v| (x << 6) | v) << (6 * (4 - group.len()));
            out.extend_from_slice(&x.to_be_bytes()[1..group.len()]);
        }
        Some(out)
    }

    proptest::proptest! {
        #[test]
        fn the_decoder_reads_as_the_rules_by_lines_say(
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..12),
            edits in proptest::collection::vec(
                (0..32usize, proptest::sample::select(&b"QJa9+/= \r\n_\xc3"[..]), proptest::bool::ANY),
                0..3),
        ) {
            // an encoding (padded or not), with bytes put in or taken out
            let mut input = run(base64_encode, &data).0;
            for (at, byte, insert) in edits {
                let at = at % (input.len() + 1);
                if insert {
                    input.insert(at, byte);
                } else if at < input.len() {
                    input.remove(at);
                }
            }
            let mut out = Vec::new();
            let ok = mbedtls_decode(&input, &mut out);
            proptest::prop_assert_eq!(ok.then_some(out), by_lines(&input));
        }
    }

    proptest::proptest! {
        /// A value `rejects` turns away is one the decoder gives back as it is, flag down.
        #[test]
        fn a_rejected_value_is_left_as_it_is(input in proptest::collection::vec(
            proptest::sample::select(&b"QUJDa9+/= \r\n\0_-"[..]), 0..14)
        ) {
            if rejects(&input) {
                proptest::prop_assert_eq!(run(base64_decode, &input), (input.clone(), false));
            }
        }

        /// What the value's bytes tell of `rejects`, when they tell, is its answer.
        #[test]
        fn the_bytes_tell_what_rejects_says(input in proptest::collection::vec(
            // (mostly digits: values the decoder takes, and some it does not for their length)
            proptest::sample::select(&b"QUJDa9+/=QUJDa9+/= \r\n\0_-.\xc3"[..]), 0..14)
        ) {
            let told = rejects_by_bytes(&input, &ByteSet::of(&input));
            if let Some(told) = told {
                proptest::prop_assert_eq!(told, rejects(&input));
            }
        }
    }

    /// The bytes tell of words and digits alone, and leave spaces and line breaks to the scan.
    #[test]
    fn the_bytes_tell_words_and_digits() {
        let told = |v: &[u8]| rejects_by_bytes(v, &ByteSet::of(v));
        assert_eq!(told(b"json.items.array_0.id"), Some(true));
        assert_eq!(told(b"Zm9vYmFy"), Some(false));
        assert_eq!(told(b"Zm9vYmF"), Some(true));
        assert_eq!(told(b"Zm9v YmFy"), None);
        assert_eq!(told(b"Zm9v\nYmFy"), None);
    }

    #[test]
    fn encode_pads() {
        assert_eq!(run(base64_encode, b"a"), (b"YQ==".to_vec(), true));
        assert_eq!(run(base64_encode, b"ab"), (b"YWI=".to_vec(), true));
        assert_eq!(run(base64_encode, b"abc"), (b"YWJj".to_vec(), true));
        assert_eq!(run(base64_encode, b""), (b"".to_vec(), false));
    }
}
