//! `@validateByteRange`, `@validateUrlEncoding`, `@validateUtf8Encoding`: true when the
//! value is *not* valid.
//!
//! **Description.**
//! - `@validateByteRange 1-255,10`: true when a byte of the value is outside every range; an
//!   empty value is false.
//! - `@validateUrlEncoding`: true when a `%` is not followed by two hexadecimal digits (also
//!   when fewer than two bytes follow it); an empty value is false. Nothing is decoded.
//! - `@validateUtf8Encoding`: true at the first byte sequence that is not UTF-8 as
//!   libmodsecurity's `detect_utf8_character` defines it: a missing or wrong continuation
//!   byte, an overlong form, a surrogate (U+D800 to U+DFFF), a lead byte `0xF5` or above, or
//!   a lead byte `0x80`-`0xBF`/`0xF8`-`0xFF`. Like libmodsecurity, it does not reject
//!   `F4 90 80 80` and above (code points past U+10FFFF with a valid lead byte).
//!
//! **Arguments.** `@validateByteRange`: comma-separated numbers and `from-to` ranges, 0 to
//! 255, each read as `std::stoi` reads it (leading blanks, trailing text ignored);
//! libmodsecurity 3.0.15 refuses the rule for a part that is not a number, a value past 255,
//! or a reversed range, and so does this (verified: `xxx`, `300`, `10-300`, `5-3`). The
//! others take none.
//!
//! **Example.** `SecRule ARGS "@validateByteRange 1-255" "id:1,phase:2,deny"`

use super::{Operator, OperatorContext};
use crate::regex::RequiredBytes;
use seclang_parser::Operator as AstOperator;
use std::sync::LazyLock;

/// `@validateByteRange`: the allowed bytes.
#[derive(Debug)]
pub struct ValidateByteRange {
    allowed: [bool; 256],
    /// The bytes out of range: a value without one is never reported.
    outside: RequiredBytes,
}

/// `std::stoi`: `None` where it throws.
fn stoi(s: &str) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n = rest.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 {
        return None;
    }
    let v: i64 = rest[..n].parse().ok()?;
    let v = if neg { -v } else { v };
    (i64::from(i32::MIN)..=i64::from(i32::MAX))
        .contains(&v)
        .then_some(v)
}

impl ValidateByteRange {
    pub(crate) fn compile(op: &AstOperator) -> Result<ValidateByteRange, String> {
        let mut allowed = [false; 256];
        // The parser has checked the ranges (`op.parsed`); the text is read again here as
        // libmodsecurity reads it, so that both agree on what `" 10abc"` means.
        for part in op.argument.raw.split(',') {
            let number =
                |t: &str| stoi(t).ok_or_else(|| format!("Not able to convert '{t}' into a number"));
            match part.find('-') {
                None => {
                    let v = number(part)?;
                    if !(0..=255).contains(&v) {
                        return Err(format!("Invalid byte value: {v}"));
                    }
                    allowed[v as usize] = true;
                }
                Some(i) => {
                    let (a, b) = (number(&part[..i])?, number(&part[i + 1..])?);
                    if !(0..=255).contains(&a) {
                        return Err(format!("Invalid range start value: {a}"));
                    }
                    if !(0..=255).contains(&b) {
                        return Err(format!("Invalid range end value: {b}"));
                    }
                    if a > b {
                        return Err(format!("Invalid range: {a}-{b}"));
                    }
                    for x in a..=b {
                        allowed[x as usize] = true;
                    }
                }
            }
        }
        let outside: Vec<u8> = (0..=255u8).filter(|&b| !allowed[usize::from(b)]).collect();
        Ok(ValidateByteRange {
            allowed,
            outside: RequiredBytes::of_bytes(&outside),
        })
    }
}

impl Operator for ValidateByteRange {
    fn reports_only_ranges(&self) -> bool {
        true
    }

    fn required_bytes(&self) -> Option<&RequiredBytes> {
        Some(&self.outside)
    }

    fn evaluate(&self, ctx: &mut dyn OperatorContext, value: &[u8]) -> bool {
        // libmodsecurity reports every byte out of range
        let mut hit = false;
        for (i, &b) in value.iter().enumerate() {
            if !self.allowed[usize::from(b)] {
                ctx.match_range(i, 1);
                hit = true;
            }
        }
        hit
    }
}

/// `@validateUrlEncoding`
#[derive(Debug)]
pub struct ValidateUrlEncoding;

impl Operator for ValidateUrlEncoding {
    fn reports_only_ranges(&self) -> bool {
        true
    }

    /// A `%`: only an escape can be a bad one.
    fn required_bytes(&self) -> Option<&RequiredBytes> {
        static PERCENT: LazyLock<RequiredBytes> = LazyLock::new(|| RequiredBytes::of_bytes(b"%"));
        Some(&PERCENT)
    }

    fn evaluate(&self, ctx: &mut dyn OperatorContext, value: &[u8]) -> bool {
        // the range reported: from the bad `%`, the value's whole length (as libmodsecurity)
        let mut i = 0;
        while i < value.len() {
            if value[i] == b'%' {
                if i + 2 >= value.len() {
                    ctx.match_range(i, value.len());
                    return true;
                }
                if value[i + 1].is_ascii_hexdigit() && value[i + 2].is_ascii_hexdigit() {
                    i += 3;
                } else {
                    ctx.match_range(i, value.len());
                    return true;
                }
            } else {
                i += 1;
            }
        }
        false
    }
}

/// `@validateUtf8Encoding`
#[derive(Debug)]
pub struct ValidateUtf8Encoding;

/// The length of the valid UTF-8 character at the start of `s`, or `None` where
/// libmodsecurity's `detect_utf8_character` reports an error.
fn utf8_char_len(s: &[u8]) -> Option<usize> {
    let c = s[0];
    let cont = |i: usize| s.get(i).is_some_and(|b| b & 0xc0 == 0x80);
    let (len, d) = if c & 0x80 == 0 {
        return Some(1);
    } else if c & 0xe0 == 0xc0 {
        if s.len() < 2 || !cont(1) {
            return None;
        }
        (2, (u32::from(c & 0x1f) << 6) | u32::from(s[1] & 0x3f))
    } else if c & 0xf0 == 0xe0 {
        if s.len() < 3 || !cont(1) || !cont(2) {
            return None;
        }
        (
            3,
            (u32::from(c & 0x0f) << 12) | (u32::from(s[1] & 0x3f) << 6) | u32::from(s[2] & 0x3f),
        )
    } else if c & 0xf8 == 0xf0 {
        if c >= 0xf5 || s.len() < 4 || !cont(1) || !cont(2) || !cont(3) {
            return None;
        }
        (
            4,
            (u32::from(c & 0x07) << 18)
                | (u32::from(s[1] & 0x3f) << 12)
                | (u32::from(s[2] & 0x3f) << 6)
                | u32::from(s[3] & 0x3f),
        )
    } else {
        return None;
    };
    let overlong = match len {
        2 => d < 0x80,
        3 => d < 0x800,
        _ => d < 0x10000,
    };
    if (0xd800..=0xdfff).contains(&d) || overlong {
        return None;
    }
    Some(len)
}

impl Operator for ValidateUtf8Encoding {
    fn reports_only_ranges(&self) -> bool {
        true
    }

    /// A byte past ASCII: every ASCII byte is a character of its own.
    fn required_bytes(&self) -> Option<&RequiredBytes> {
        static NON_ASCII: LazyLock<RequiredBytes> =
            LazyLock::new(|| RequiredBytes::of_bytes(&(0x80..=0xffu8).collect::<Vec<u8>>()));
        Some(&NON_ASCII)
    }

    fn evaluate(&self, ctx: &mut dyn OperatorContext, value: &[u8]) -> bool {
        if value.is_ascii() {
            // (checked a word at a time)
            return false;
        }
        let mut i = 0;
        while i < value.len() {
            match utf8_char_len(&value[i..]) {
                Some(n) => i += n,
                None => {
                    // from the bad character, the value's whole length (as libmodsecurity)
                    ctx.match_range(i, value.len());
                    return true;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use crate::operators::testing::{eval, op, try_op};

    #[test]
    fn byte_range() {
        let o = op("@validateByteRange 97-105");
        assert!(!eval(&*o, b"abcdefghi"));
        assert!(eval(&*o, b"abcdefghij"));
        assert!(!eval(&*o, b""));
        let o = op("@validateByteRange  97 , 98");
        assert!(!eval(&*o, b"ab") && eval(&*o, b"c"));
        assert!(try_op("@validateByteRange 5-3").is_err());
    }

    #[test]
    fn url_encoding() {
        let o = op("@validateUrlEncoding");
        for ok in [&b""[..], b"Hello%20World!", b"%00", b"%ff", b"+"] {
            assert!(!eval(&*o, ok), "{ok:?}");
        }
        for bad in [&b"%0"[..], b"%f", b"%", b"%0z", b"%z0", b"%0%", b"a%4"] {
            assert!(eval(&*o, bad), "{bad:?}");
        }
    }

    #[test]
    fn utf8() {
        let o = op("@validateUtf8Encoding");
        for ok in [&b""[..], "héllo €𝄞".as_bytes(), b"\xf4\x90\x80\x80"] {
            assert!(!eval(&*o, ok), "{ok:?}");
        }
        for bad in [
            &b"\xe4"[..],
            b"\\0\xe4",
            b"\x03\xbf",
            b"\xc9\x3b",
            b"\xff\\0",
            b"\xc0\x80",
            b"\xed\xa0\x80",
            b"\xf5\x80\x80\x80",
            b"\xe0\x80\x80",
            b"\xf0\x80\x80\x80",
        ] {
            assert!(eval(&*o, bad), "{bad:?}");
        }
    }

    proptest::proptest! {
        /// A value the operators report holds one of their required bytes (the rules skip
        /// whole variables without one).
        #[test]
        fn a_reported_value_holds_a_required_byte(
            value in proptest::collection::vec(proptest::sample::select(
                &b"abz%0f\x00\x7f\x80\xbf\xc3\xe4\xed\xf0\xf5\xff"[..]), 0..12),
        ) {
            for text in [
                "@validateByteRange 97-105",
                "@validateByteRange 1-255",
                "@validateByteRange 0-255",
                "@validateUrlEncoding",
                "@validateUtf8Encoding",
            ] {
                let o = op(text);
                let required = o.required_bytes().unwrap();
                proptest::prop_assert!(
                    !eval(&*o, &value) || required.found_in(&value),
                    "{text} reports {:?}",
                    value.escape_ascii().to_string()
                );
            }
        }
    }
}
