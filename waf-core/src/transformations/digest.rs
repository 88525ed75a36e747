//! `t:md5`, `t:sha1`: the raw digest of the value (16 or 20 bytes, not hex).
//!
//! libmodsecurity always reports a change, even for an empty value.
//!
//! Example: `md5` of `""` is the 16 bytes `d4 1d 8c d9 8f 00 b2 04 e9 80 09 98 ec f8 42 7e`.

use md5::{Digest, Md5};
use sha1::Sha1;

pub(super) fn md5(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.extend_from_slice(&Md5::digest(input));
    true
}

pub(super) fn sha1(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.extend_from_slice(&Sha1::digest(input));
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_digests() {
        let mut out = Vec::new();
        assert!(md5(b"", &mut out));
        assert_eq!(
            out,
            b"\xd4\x1d\x8c\xd9\x8f\x00\xb2\x04\xe9\x80\x09\x98\xec\xf8\x42\x7e"
        );
        assert!(sha1(b"a", &mut out));
        assert_eq!(
            out,
            b"\x86\xf7\xe4\x37\xfa\xa5\xa7\xfc\xe1\x5d\x1d\xdc\xb9\xea\xea\xea\x37\x76\x67\xb8"
        );
    }
}
