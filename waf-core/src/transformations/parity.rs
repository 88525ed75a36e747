//! `t:parityEven7bit`, `t:parityOdd7bit`, `t:parityZero7bit`: set bit 7 of each byte so the
//! byte has even (odd) parity, or clear it.
//!
//! As in libmodsecurity, the parity is computed over all eight bits of the input byte, bit 7
//! included: `parityEven7bit` maps 0x80 to 0x80 and 0x81 to 0x01. Any non-empty value is
//! reported as changed.
//!
//! Example: `parityEven7bit` of `"abc"` is `"\xe1\xe2c"`.

/// Whether `c` has an odd number of bits set.
fn odd(c: u8) -> bool {
    c.count_ones() % 2 == 1
}

pub(super) fn parity_even_7bit(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.extend(
        input
            .iter()
            .map(|&c| if odd(c) { c | 0x80 } else { c & 0x7f }),
    );
    !input.is_empty()
}

pub(super) fn parity_odd_7bit(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.extend(
        input
            .iter()
            .map(|&c| if odd(c) { c & 0x7f } else { c | 0x80 }),
    );
    !input.is_empty()
}

pub(super) fn parity_zero_7bit(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.extend(input.iter().map(|&c| c & 0x7f));
    !input.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parity_over_eight_bits() {
        let mut out = Vec::new();
        assert!(parity_even_7bit(b"\x00\x80\x01\x81abc", &mut out));
        assert_eq!(out, b"\x00\x80\x81\x01\xe1\xe2c");
        assert!(parity_odd_7bit(b"\x00\x80\x01\x81", &mut out));
        assert_eq!(out, b"\x80\x00\x01\x81");
        assert!(parity_zero_7bit(b"a\xe1", &mut out));
        assert_eq!(out, b"aa");
        assert!(!parity_zero_7bit(b"", &mut out));
    }
}
