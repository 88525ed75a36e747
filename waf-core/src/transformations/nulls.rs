//! `t:removeNulls`, `t:replaceNulls`: delete NUL bytes, or turn each into a space.
//!
//! Example: `removeNulls` of `"a\0b"` is `"ab"`; `replaceNulls` of it is `"a b"`.

pub(super) fn remove_nulls(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.extend(input.iter().copied().filter(|&c| c != 0));
    out.len() != input.len()
}

pub(super) fn replace_nulls(input: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.extend(input.iter().map(|&c| if c == 0 { b' ' } else { c }));
    input.contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls() {
        let mut out = Vec::new();
        assert!(remove_nulls(b"\0a\0\0b\0", &mut out));
        assert_eq!(out, b"ab");
        assert!(!remove_nulls(b"ab", &mut out));
        assert!(replace_nulls(b"\0a\0", &mut out));
        assert_eq!(out, b" a ");
        assert!(!replace_nulls(b"a", &mut out));
    }
}
