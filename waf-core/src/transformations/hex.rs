//! `t:hexDecode`, `t:hexEncode`.
//!
//! `hexDecode` reads the value two bytes at a time without checking them (`"zz"` gives 0x53, by
//! libmodsecurity's unchecked digit arithmetic); an odd last byte is dropped. `hexEncode` writes
//! two lowercase hex digits per byte. Both report a change for any non-empty value.
//!
//! Example: `hexDecode` of `"54657374"` is `"Test"`; `hexEncode` of `"Test"` is `"54657374"`.

use super::{x2c, HEX_LOWER};

pub(super) fn hex_decode(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.extend(input.chunks_exact(2).map(|p| x2c(p[0], p[1])));
    !input.is_empty()
}

pub(super) fn hex_encode(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.reserve(input.len() * 2);
    for &c in input {
        out.extend_from_slice(&[
            HEX_LOWER[usize::from(c >> 4)],
            HEX_LOWER[usize::from(c & 15)],
        ]);
    }
    !input.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_is_unchecked_and_drops_an_odd_byte() {
        let mut out = Vec::new();
        assert!(hex_decode(b"54657374", &mut out));
        assert_eq!(out, b"Test");
        assert!(hex_decode(b"414", &mut out));
        assert_eq!(out, b"A");
        assert!(hex_decode(b"a", &mut out));
        assert_eq!(out, b"");
        assert!(hex_decode(b"zzGG", &mut out));
        assert_eq!(out, b"\x53\x10");
        assert!(!hex_decode(b"", &mut out));
    }

    #[test]
    fn encode_is_lowercase() {
        let mut out = Vec::new();
        assert!(hex_encode(b"\x00\xffA", &mut out));
        assert_eq!(out, b"00ff41");
        assert!(!hex_encode(b"", &mut out));
    }
}
