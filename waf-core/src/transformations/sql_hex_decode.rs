//! `t:sqlHexDecode`: decodes SQL hex literals: `0x` (or `0X`) followed by pairs of hex digits
//! becomes the bytes they spell; an odd last digit stays as it is.
//!
//! Example: `"0x414243"` becomes `"ABC"`; `"0x4142434"` becomes `"ABC4"`.

use super::{is_hex, x2c};

pub(super) fn sql_hex_decode(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.reserve(input.len());
    let len = input.len();
    let mut changed = false;
    let mut i = 0;
    while i < len {
        if i + 3 < len
            && input[i] == b'0'
            && matches!(input[i + 1], b'x' | b'X')
            && is_hex(input[i + 2])
            && is_hex(input[i + 3])
        {
            i += 2;
            loop {
                out.push(x2c(input[i], input[i + 1]));
                i += 2;
                if !(i + 1 < len && is_hex(input[i]) && is_hex(input[i + 1])) {
                    break;
                }
            }
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

    #[test]
    fn decodes_hex_literals() {
        let mut out = Vec::new();
        assert!(sql_hex_decode(b"SELECT 0x414243, 0X4142434", &mut out));
        assert_eq!(out, b"SELECT ABC, ABC4");
        assert!(!sql_hex_decode(b"0x4 0xg1", &mut out));
        assert_eq!(out, b"0x4 0xg1");
    }
}
