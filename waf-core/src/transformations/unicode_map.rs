//! `SecUnicodeMapFile`'s table, for [`url_decode_uni_with_map`](super::url_decode_uni_with_map):
//! Unicode code points (U+0000 to U+FFFF) to the byte `t:urlDecodeUni` writes for `%uHHHH`.
//!
//! The file is ModSecurity's `unicode.mapping` format: whitespace-separated tokens; a decimal
//! token starts a code page (`20127 (US-ASCII)`), and the `hhhh:hh` tokens after the selected
//! code page's number are its mappings, up to the first token without a `:`. Read as
//! libmodsecurity's `ConfigUnicodeMap::loadConfig` reads it, quirks included: a code page whose
//! number is absent still gives a map (with only the built-in entries), and a number is any
//! token whose leading digits equal the code page (`atol`).
//!
//! Built in, before the file is read (RFC 3490's full stops): U+002E, U+3002, U+FF0E and U+FF61
//! all map to `.`.
//!
//! Example: `UnicodeMap::parse(b"20127 (US-ASCII)\n00a0:20 00c0:41\n1252 (ANSI)\n00c0:c0", 20127)`
//! maps U+00C0 to `A`, U+00A0 to a space, and nothing else but the full stops.

use std::fmt;
use std::path::Path;

/// A loaded `SecUnicodeMapFile` for one code page.
#[derive(Clone)]
pub struct UnicodeMap {
    /// For each code point, the mapped value (its low byte is written), or -1 when unmapped.
    table: Box<[i32]>,
    code_page: u32,
}

/// Why a unicode map file could not be loaded.
#[derive(Debug)]
pub enum UnicodeMapError {
    /// The file could not be read.
    Io(std::io::Error),
    /// The file is empty.
    Empty,
}

impl fmt::Display for UnicodeMapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnicodeMapError::Io(e) => write!(f, "cannot read the unicode map file: {e}"),
            UnicodeMapError::Empty => f.write_str("the unicode map file is empty"),
        }
    }
}

impl std::error::Error for UnicodeMapError {}

impl fmt::Debug for UnicodeMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mapped = self.table.iter().filter(|&&v| v != -1).count();
        f.debug_struct("UnicodeMap")
            .field("code_page", &self.code_page)
            .field("mapped", &mapped)
            .finish()
    }
}

impl UnicodeMap {
    /// Reads `path` (as `SecUnicodeMapFile path code_page` does). Fails, as libmodsecurity does,
    /// when the file cannot be read or is empty.
    pub fn load(path: &Path, code_page: u32) -> Result<UnicodeMap, UnicodeMapError> {
        let contents = std::fs::read(path).map_err(UnicodeMapError::Io)?;
        if contents.is_empty() {
            return Err(UnicodeMapError::Empty);
        }
        Ok(UnicodeMap::parse(&contents, code_page))
    }

    /// Builds the map for `code_page` from a file's contents.
    pub fn parse(contents: &[u8], code_page: u32) -> UnicodeMap {
        let mut table = vec![-1i32; 0x10000].into_boxed_slice();
        for code in [0x3002, 0xff61, 0xff0e, 0x002e] {
            table[code] = 0x2e;
        }
        // libmodsecurity reads the file into a C string: a NUL ends it.
        let contents = &contents[..memchr::memchr(0, contents).unwrap_or(contents.len())];
        let tokens = contents
            .split(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
            .filter(|t| !t.is_empty());
        let (mut found, mut processing) = (false, false);
        // `sscanf` leaves its target alone when it reads nothing, and these outlive the loop.
        let (mut code, mut mapped) = (0i32, 0i32);
        for token in tokens {
            if atol(token) as u32 == code_page {
                found = true;
            }
            let colon = memchr::memchr(b':', token);
            if found && colon.is_some() {
                processing = true;
                read_mapping(token, &mut table, &mut code, &mut mapped);
            }
            if processing && colon.is_none() {
                break;
            }
        }
        UnicodeMap { table, code_page }
    }

    /// The byte for a code point, if the map has one.
    pub fn get(&self, code_point: u16) -> Option<u8> {
        match self.table[usize::from(code_point)] {
            -1 => None,
            v => Some(v as u8),
        }
    }

    /// The code page this map was loaded for.
    pub fn code_page(&self) -> u32 {
        self.code_page
    }

    /// libmodsecurity consults the map only for a code page above 0.
    pub(super) fn is_active(&self) -> bool {
        self.code_page > 0
    }
}

/// One `code:map` token. `code` and `mapped` persist across tokens: `sscanf` leaves them as they
/// were when it reads no digit.
fn read_mapping(token: &[u8], table: &mut [i32], code: &mut i32, mapped: &mut i32) {
    // `strtok_r(token, ":")`: leading colons are skipped, then the first field; the rest of the
    // token (after one colon) is the mapped value. A token of colons only has no field, and
    // libmodsecurity would pass NULL to `sscanf`: skip it.
    let start = token.iter().position(|&c| c != b':').unwrap_or(token.len());
    let rest = &token[start..];
    if rest.is_empty() {
        return;
    }
    let split = memchr::memchr(b':', rest).unwrap_or(rest.len());
    if let Some(v) = scan_hex(&rest[..split]) {
        *code = v;
    }
    if let Some(v) = scan_hex(rest.get(split + 1..).unwrap_or(&[])) {
        *mapped = v;
    }
    if let Some(slot) = usize::try_from(*code).ok().and_then(|i| table.get_mut(i)) {
        *slot = *mapped;
    }
}

/// `atol`: optional sign and decimal digits, saturating like `strtol`.
fn atol(s: &[u8]) -> i64 {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for &d in digits.iter().take_while(|d| d.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add(i64::from(d - b'0'));
    }
    if neg {
        v.saturating_neg()
    } else {
        v
    }
}

/// `sscanf(s, "%x", &int)`: optional sign, optional `0x`, hex digits; `None` when there are none.
/// Too large a value saturates (as `strtoul` does) before the conversion to `int`.
fn scan_hex(s: &[u8]) -> Option<i32> {
    let (neg, mut s) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if s.len() > 2 && s[0] == b'0' && matches!(s[1], b'x' | b'X') && s[2].is_ascii_hexdigit() {
        s = &s[2..];
    }
    let digits = s.iter().take_while(|d| d.is_ascii_hexdigit()).count();
    if digits == 0 {
        return None;
    }
    let mut v: u64 = 0;
    for &d in &s[..digits] {
        v = v
            .saturating_mul(16)
            .saturating_add(u64::from(super::xsingle2c(d)));
    }
    let v = if neg { v.wrapping_neg() } else { v };
    Some(v as u32 as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &[u8] = b"(comment)\n\n37 (IBM EBCDIC - U.S./Canada)\n00a0:41 00c0:42\n\n\
        20127 (US-ASCII)\n00a0:20 00c0:41 3002:2a\n\n1252 (ANSI - Latin I)\n00c0:c0\n";

    #[test]
    fn selects_the_code_page() {
        let map = UnicodeMap::parse(FILE, 20127);
        assert_eq!(map.get(0x00a0), Some(0x20));
        assert_eq!(map.get(0x00c0), Some(b'A'));
        assert_eq!(map.get(0x3002), Some(b'*')); // The file overrides a built-in entry.
        assert_eq!(map.get(0xff0e), Some(b'.'));
        assert_eq!(map.get(0x0041), None);
        assert!(map.is_active());
    }

    #[test]
    fn an_absent_code_page_keeps_only_the_built_ins() {
        let map = UnicodeMap::parse(FILE, 999);
        assert_eq!(map.get(0x00c0), None);
        assert_eq!(map.get(0x3002), Some(b'.'));
        assert!(!UnicodeMap::parse(FILE, 0).is_active());
    }

    #[test]
    fn scanf_and_atol() {
        assert_eq!(scan_hex(b"00c0"), Some(0xc0));
        assert_eq!(scan_hex(b"0x1F"), Some(0x1f));
        assert_eq!(scan_hex(b"zz"), None);
        assert_eq!(scan_hex(b"-1"), Some(-1));
        assert_eq!(atol(b"20127"), 20127);
        assert_eq!(atol(b"3002:2e"), 3002);
        assert_eq!(atol(b"(x"), 0);
    }
}
