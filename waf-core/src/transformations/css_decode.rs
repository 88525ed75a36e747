//! `t:cssDecode`: decodes CSS 2 escapes (`\` + 1 to 6 hex digits, optionally followed by one
//! whitespace; `\` + newline; `\` + any other byte). Only the last two hex digits are kept, as
//! one byte; full-width ASCII (`\ff01`..`\ff5e`, also `\0ff01`, `\00ff01`) maps to ASCII.
//!
//! The "changed" flag is libmodsecurity's: `\` + a byte that is neither hex nor a newline drops
//! the backslash without reporting a change.
//!
//! Example: `"\\3c script\\3e"` becomes `"<script>"`; `"\\ff1c"` becomes `"<"`.

use super::{is_hex, is_space, x2c, xsingle2c};

pub(super) fn css_decode(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.reserve(input.len());
    let len = input.len();
    let mut changed = false;
    let mut i = 0;
    while i < len {
        if input[i] != b'\\' {
            out.push(input[i]);
            i += 1;
            continue;
        }
        if i + 1 >= len {
            // A backslash at the end is a continuation to nothing.
            changed = true;
            break;
        }
        i += 1;
        let mut j = 0;
        while j < 6 && i + j < len && is_hex(input[i + j]) {
            j += 1;
        }
        if j > 0 {
            let digits = &input[i..i + j];
            // Up to 3 digits: the last two (or the one). 4 or more: the last two, and a
            // full-width check when the leading digits above 0xffxx are zeros.
            let (byte, full_check) = match j {
                1 => (xsingle2c(digits[0]), false),
                2 | 3 => (x2c(digits[j - 2], digits[j - 1]), false),
                4 => (x2c(digits[2], digits[3]), true),
                5 => (x2c(digits[3], digits[4]), digits[0] == b'0'),
                _ => (
                    x2c(digits[4], digits[5]),
                    digits[0] == b'0' && digits[1] == b'0',
                ),
            };
            let full_width = full_check
                && (0x01..0x5f).contains(&byte)
                && matches!(digits[j - 3], b'f' | b'F')
                && matches!(digits[j - 4], b'f' | b'F');
            out.push(if full_width { byte + 0x20 } else { byte });
            // One whitespace after a hex escape belongs to it.
            if i + j < len && is_space(input[i + j]) {
                j += 1;
            }
            i += j;
            changed = true;
        } else if input[i] == b'\n' {
            i += 1;
            changed = true;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> (Vec<u8>, bool) {
        super::super::run(css_decode, input)
    }

    #[test]
    fn hex_escapes_keep_the_last_byte() {
        assert_eq!(run(b"\\3c script\\3e"), (b"<script>".to_vec(), true));
        assert_eq!(run(b"\\1234"), (vec![0x34], true));
        assert_eq!(run(b"\\a"), (vec![0x0a], true));
        assert_eq!(run(b"\\123456x"), (b"Vx".to_vec(), true));
    }

    #[test]
    fn full_width_ascii() {
        assert_eq!(run(b"\\ff1c"), (b"<".to_vec(), true));
        assert_eq!(run(b"\\0ff1c"), (b"<".to_vec(), true));
        assert_eq!(run(b"\\00ff1c"), (b"<".to_vec(), true));
        // Not full width: a non-zero digit above 0xffff.
        assert_eq!(run(b"\\1ff1c"), (vec![0x1c], true));
        assert_eq!(run(b"\\ff5f"), (vec![0x5f], true));
    }

    #[test]
    fn other_escapes() {
        assert_eq!(run(b"a\\\nb"), (b"ab".to_vec(), true));
        assert_eq!(run(b"a\\"), (b"a".to_vec(), true));
        // The backslash goes, but libmodsecurity does not call it a change.
        assert_eq!(run(b"\\g"), (b"g".to_vec(), false));
    }
}
