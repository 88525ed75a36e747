//! `t:escapeSeqDecode`: decodes ANSI C escapes: `\a \b \f \n \r \t \v \\ \? \' \"`, `\xHH`
//! (`x` or `X`, exactly two hex digits) and `\OOO` (1 to 3 octal digits, the value truncated to a
//! byte: `\666` is 0xb6). Any other `\c` becomes `c`; a final `\` stays.
//!
//! Example: `"\\x41\\102\\n"` becomes `"AB\n"`.

use super::{at, is_hex, is_octal, x2c};

pub(super) fn escape_seq_decode(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.reserve(input.len());
    let len = input.len();
    let mut changed = false;
    let mut i = 0;
    while i < len {
        if input[i] != b'\\' || i + 1 >= len {
            out.push(input[i]);
            i += 1;
            continue;
        }
        changed = true;
        let next = input[i + 1];
        let simple = match next {
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            b'\\' | b'?' | b'\'' | b'"' => Some(next),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            i += 2;
        } else if matches!(next, b'x' | b'X')
            && i + 3 < len
            && is_hex(input[i + 2])
            && is_hex(input[i + 3])
        {
            out.push(x2c(input[i + 2], input[i + 3]));
            i += 4;
        } else if is_octal(next) {
            // 1 to 3 octal digits; the terminator read past the end is not one.
            let mut j = 1;
            while j < 3 && i + 1 + j < len && is_octal(at(input, i + 1 + j)) {
                j += 1;
            }
            let value = input[i + 1..i + 1 + j]
                .iter()
                .fold(0u32, |v, &d| v * 8 + u32::from(d - b'0'));
            out.push(value as u8);
            i += 1 + j;
        } else {
            // Not an escape we know: keep the byte after the backslash.
            out.push(next);
            i += 2;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> (Vec<u8>, bool) {
        super::super::run(escape_seq_decode, input)
    }

    #[test]
    fn decodes_c_escapes() {
        assert_eq!(run(b"\\x41\\102\\n"), (b"AB\n".to_vec(), true));
        assert_eq!(run(b"\\666\\0123"), (b"\xb6\n3".to_vec(), true));
        assert_eq!(run(b"\\8\\xg"), (b"8xg".to_vec(), true));
        assert_eq!(run(b"\\x4"), (b"x4".to_vec(), true));
        assert_eq!(run(b"a\\"), (b"a\\".to_vec(), false));
        assert_eq!(run(b"abc"), (b"abc".to_vec(), false));
    }
}
