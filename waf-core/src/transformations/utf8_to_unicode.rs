//! `t:utf8toUnicode`: writes each valid UTF-8 sequence of 2 to 4 bytes as `%uHHHH` (lowercase
//! hex, at least four digits: U+1F600 is `%u1f600`). ASCII is copied.
//!
//! libmodsecurity 3.0.15's handling of everything else, kept as it is:
//! - a lead byte (0xc0-0xf4) without its continuation bytes is dropped; the bytes after it are
//!   then read on their own (stray continuation bytes and 0xf8-0xff are copied);
//! - 0xf5-0xf7 leads are copied and *also* decoded when followed by three continuation bytes;
//! - an overlong form or a surrogate is decoded and its lead byte appended (`c0 80` gives
//!   `%u0000` then 0xc0);
//! - a NUL byte is dropped, unless it is the last byte.
//!
//! Only a `%u` escape counts as a change.
//!
//! Example: `"é€"` (`c3 a9 e2 82 ac`) becomes `"%u00e9%u20ac"`.

use super::{at, HEX_LOWER};

fn is_continuation(c: u8) -> bool {
    c & 0xc0 == 0x80
}

pub(super) fn utf8_to_unicode(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.reserve(input.len());
    let len = input.len();
    let mut changed = false;
    let mut i = 0;
    while i < len {
        let c = input[i];
        // How many bytes the sequence takes, and the code point when it is valid.
        let (size, code) = if c & 0x80 == 0 {
            if c != 0 || i + 1 == len {
                out.push(c);
            }
            (1, None)
        } else if c & 0xe0 == 0xc0 {
            if is_continuation(at(input, i + 1)) {
                (
                    2,
                    Some(u32::from(c & 0x1f) << 6 | u32::from(input[i + 1] & 0x3f)),
                )
            } else {
                (1, None)
            }
        } else if c & 0xf0 == 0xe0 {
            // The string's NUL terminator stops a sequence cut by the end of the value.
            if is_continuation(at(input, i + 1)) && is_continuation(at(input, i + 2)) {
                let code = u32::from(c & 0x0f) << 12
                    | u32::from(input[i + 1] & 0x3f) << 6
                    | u32::from(input[i + 2] & 0x3f);
                (3, Some(code))
            } else {
                (1, None)
            }
        } else if c & 0xf8 == 0xf0 {
            if c >= 0xf5 {
                out.push(c);
            }
            if (1..4).all(|k| is_continuation(at(input, i + k))) {
                let code = u32::from(c & 0x07) << 18
                    | u32::from(input[i + 1] & 0x3f) << 12
                    | u32::from(input[i + 2] & 0x3f) << 6
                    | u32::from(input[i + 3] & 0x3f);
                (4, Some(code))
            } else {
                (1, None)
            }
        } else {
            // A continuation byte on its own, or 0xf8-0xff.
            out.push(c);
            (1, None)
        };
        if let Some(code) = code {
            push_escape(out, code);
            changed = true;
            if (0xd800..=0xdfff).contains(&code) {
                out.push(c);
            }
            let min = match size {
                2 => 0x80,
                3 => 0x800,
                _ => 0x10000,
            };
            if code < min {
                // Overlong.
                out.push(c);
            }
        }
        i += size;
    }
    changed
}

/// `%u` and the code point in lowercase hex, zero-padded to four digits (`%x` then padding).
fn push_escape(out: &mut Vec<u8>, code: u32) {
    out.extend_from_slice(b"%u");
    let digits = (((32 - code.leading_zeros()) as usize).div_ceil(4)).max(4);
    for k in (0..digits).rev() {
        out.push(HEX_LOWER[(code >> (4 * k)) as usize & 15]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> (Vec<u8>, bool) {
        super::super::run(utf8_to_unicode, input)
    }

    #[test]
    fn valid_sequences() {
        assert_eq!(
            run("é€😀".as_bytes()),
            (b"%u00e9%u20ac%u1f600".to_vec(), true)
        );
        assert_eq!(run(b"abc"), (b"abc".to_vec(), false));
        assert_eq!(run(b"\xf4\x8f\xbf\xbf"), (b"%u10ffff".to_vec(), true));
    }

    #[test]
    fn invalid_sequences() {
        assert_eq!(run(b"ab\xc3"), (b"ab".to_vec(), false));
        assert_eq!(run(b"\xc3("), (b"(".to_vec(), false));
        assert_eq!(run(b"\xe2\x82"), (b"\x82".to_vec(), false));
        assert_eq!(run(b"\xf8\x80"), (b"\xf8\x80".to_vec(), false));
        assert_eq!(run(b"\xf5\x80\x80\x80"), (b"\xf5%u140000".to_vec(), true));
        assert_eq!(run(b"\xc0\x80"), (b"%u0000\xc0".to_vec(), true));
        assert_eq!(run(b"\xed\xa0\x80"), (b"%ud800\xed".to_vec(), true));
    }

    #[test]
    fn nul_bytes() {
        assert_eq!(run(b"a\0b"), (b"ab".to_vec(), false));
        assert_eq!(run(b"a\0"), (b"a\0".to_vec(), false));
        assert_eq!(run(b"\0\0x"), (b"x".to_vec(), false));
    }
}
