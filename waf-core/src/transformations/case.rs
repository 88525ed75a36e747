//! `t:lowercase`, `t:uppercase`: ASCII case mapping (the "C" locale's `tolower`/`toupper`);
//! other bytes are copied.
//!
//! The "changed" flag is libmodsecurity's: it compares each (signed) `char` with what glibc's
//! `tolower` returns for it, which for 0x80..=0xfe is the byte as an `unsigned char`, not equal
//! to the negative `char`. So those bytes report a change although they are copied as they are;
//! 0xff is -1, `EOF`, which `tolower` returns unchanged.
//!
//! Example: `lowercase` of `"TestCase"` is `"testcase"`.

fn map_case(input: &[u8], out: &mut Vec<u8>, map: fn(&u8) -> u8) -> bool {
    out.clear();
    out.extend(input.iter().map(map));
    out != input || input.iter().any(|&c| flagged_though_copied(c))
}

/// The bytes that raise the "changed" flag although they are copied as they are.
pub(super) fn flagged_though_copied(c: u8) -> bool {
    (0x80..0xff).contains(&c)
}

pub(super) fn lowercase(input: &[u8], out: &mut Vec<u8>) -> bool {
    map_case(input, out, u8::to_ascii_lowercase)
}

pub(super) fn uppercase(input: &[u8], out: &mut Vec<u8>) -> bool {
    map_case(input, out, u8::to_ascii_uppercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_only_but_high_bytes_report_a_change() {
        let mut out = Vec::new();
        assert!(lowercase(b"TeSt\0\xc9", &mut out));
        assert_eq!(out, b"test\0\xc9");
        assert!(!lowercase(b"test", &mut out));
        assert!(lowercase(b"\xc3\x89", &mut out));
        assert_eq!(out, b"\xc3\x89");
        assert!(!lowercase(b"\xff", &mut out));
        assert!(uppercase(b"a1", &mut out));
        assert_eq!(out, b"A1");
        assert!(!uppercase(b"", &mut out));
    }
}
