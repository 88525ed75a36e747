//! `t:jsDecode`: decodes JavaScript escapes: `\uHHHH` (the low byte; full-width ASCII
//! `\uff01`..`\uff5e` maps to ASCII), `\xHH`, `\OOO` (up to three octal digits, two when three
//! would not fit a byte), `\a \b \f \n \r \t \v`, and `\c` for any other byte `c`. A final `\`
//! stays.
//!
//! Example: `"\\u0041\\x42\\103\\'"` becomes `"ABC'"`.

use super::{at, is_hex, is_octal, x2c};

pub(super) fn js_decode(input: &[u8], out: &mut Vec<u8>) -> bool {
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
        if i + 5 < len && input[i + 1] == b'u' && input[i + 2..i + 6].iter().all(|&c| is_hex(c)) {
            // Only the low byte; full-width ASCII (ff01-ff5e) moves down to ASCII.
            let mut c = x2c(input[i + 4], input[i + 5]);
            if (0x01..0x5f).contains(&c)
                && matches!(input[i + 2], b'f' | b'F')
                && matches!(input[i + 3], b'f' | b'F')
            {
                c += 0x20;
            }
            out.push(c);
            i += 6;
        } else if i + 3 < len
            && input[i + 1] == b'x'
            && is_hex(input[i + 2])
            && is_hex(input[i + 3])
        {
            out.push(x2c(input[i + 2], input[i + 3]));
            i += 4;
        } else if i + 1 < len && is_octal(input[i + 1]) {
            let mut j = 1;
            while j < 3 && i + 1 + j < len && is_octal(at(input, i + 1 + j)) {
                j += 1;
            }
            // Three digits only when they fit a byte (\377 at most).
            if j == 3 && input[i + 1] > b'3' {
                j = 2;
            }
            let value = input[i + 1..i + 1 + j]
                .iter()
                .fold(0u32, |v, &d| v * 8 + u32::from(d - b'0'));
            out.push(value as u8);
            i += 1 + j;
        } else if i + 1 < len {
            out.push(match input[i + 1] {
                b'a' => 0x07,
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'v' => 0x0b,
                c => c,
            });
            i += 2;
        } else {
            // A final backslash: nothing to decode.
            out.push(b'\\');
            break;
        }
        changed = true;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> (Vec<u8>, bool) {
        super::super::run(js_decode, input)
    }

    #[test]
    fn decodes_js_escapes() {
        assert_eq!(run(b"\\u0041\\x42\\103\\'"), (b"ABC'".to_vec(), true));
        assert_eq!(run(b"\\uff1c\\uFF3E"), (b"<^".to_vec(), true));
        assert_eq!(run(b"\\u1234"), (vec![0x34], true));
        assert_eq!(run(b"\\477\\0"), (b"'7\0".to_vec(), true));
        assert_eq!(run(b"\\x\\x0\\u01"), (b"xx0u01".to_vec(), true));
        assert_eq!(run(b"a\\"), (b"a\\".to_vec(), false));
    }
}
