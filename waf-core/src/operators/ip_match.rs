//! `@ipMatch` and `@ipMatchFromFile` / `@ipMatchF`: IPv4/IPv6 address and network matching.
//!
//! **Description.** True when the value is an address inside one of the networks. The value
//! is read as glibc's `inet_pton` reads it (libmodsecurity's `tree_contains_ip`): IPv6 when it
//! contains a `:`, else IPv4 in strict dotted-quad form (no leading zeros, no trailing text);
//! anything else is false. An IPv6 value is compared with the IPv6 networks only, an IPv4
//! value with the IPv4 networks only.
//!
//! **Arguments.** `@ipMatch`: addresses and networks separated by commas, each exactly as
//! libmodsecurity 3.0.15's `add_ip_from_param` takes it (all verified against the real
//! library): no blanks around the commas (`1.2.3.4, 5.6.7.8` is a load error), a prefix
//! length from 1 to 32 / 128 read with `atoi` (`/0` is a load error), and, a libmodsecurity
//! quirk, an IPv6 entry written with `/128` is a load error (write the bare address). A `#`
//! starts a comment to the end of the line. `@ipMatchFromFile`: one file, found as the path
//! given then beside the rule's file, with the same syntax on every line; `https://` sources
//! are refused (this build downloads nothing).
//!
//! **Example.** `SecRule REMOTE_ADDR "@ipMatch 127.0.0.1,::1" "id:1,phase:1,allow"`

use super::{find_resource, read_resource, CompileContext, Operator, OperatorContext};
use crate::word_hash::KeyHasher;
use std::collections::HashSet;
use std::hash::BuildHasherDefault;

/// The networks, by prefix length.
#[derive(Debug, Default)]
pub struct IpMatch {
    v4: Vec<(u32, Nets<u32>)>,
    v6: Vec<(u32, Nets<u128>)>,
}

/// The networks of one prefix length: hashed by a multiply (the rules', not the requests',
/// choose them), not SipHash, which was most of a look (~370 instructions, CRS's 905110 on
/// each request from the host itself).
type Nets<T> = HashSet<T, BuildHasherDefault<KeyHasher>>;

fn hex_digit(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

/// glibc's `inet_pton4`.
fn pton4(s: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut idx = 0usize;
    let mut saw_digit = false;
    let mut octets = 0;
    for &c in s {
        if c.is_ascii_digit() {
            let new = u32::from(out[idx]) * 10 + u32::from(c - b'0');
            if saw_digit && out[idx] == 0 {
                return None;
            }
            if new > 255 {
                return None;
            }
            out[idx] = new as u8;
            if !saw_digit {
                octets += 1;
                if octets > 4 {
                    return None;
                }
                saw_digit = true;
            }
        } else if c == b'.' && saw_digit {
            if octets == 4 {
                return None;
            }
            idx += 1;
            out[idx] = 0;
            saw_digit = false;
        } else {
            return None;
        }
    }
    (octets == 4).then_some(out)
}

/// glibc's `inet_pton6`.
fn pton6(s: &[u8]) -> Option<[u8; 16]> {
    let mut tmp = [0u8; 16];
    let mut tp = 0usize;
    let mut colonp: Option<usize> = None;
    let mut i = 0;
    if s.is_empty() {
        return None;
    }
    if s[0] == b':' {
        i += 1;
        if s.get(1) != Some(&b':') {
            return None;
        }
    }
    let mut curtok = i;
    let mut xdigits = 0;
    let mut val: u32 = 0;
    while i < s.len() {
        let ch = s[i];
        i += 1;
        if let Some(d) = hex_digit(ch) {
            if xdigits == 4 {
                return None;
            }
            val = (val << 4) | d;
            if val > 0xffff {
                return None;
            }
            xdigits += 1;
            continue;
        }
        if ch == b':' {
            curtok = i;
            if xdigits == 0 {
                if colonp.is_some() {
                    return None;
                }
                colonp = Some(tp);
                continue;
            } else if i == s.len() {
                return None;
            }
            if tp + 2 > 16 {
                return None;
            }
            tmp[tp] = (val >> 8) as u8;
            tmp[tp + 1] = val as u8;
            tp += 2;
            xdigits = 0;
            val = 0;
            continue;
        }
        if ch == b'.' && tp + 4 <= 16 {
            if let Some(v4) = pton4(&s[curtok..]) {
                tmp[tp..tp + 4].copy_from_slice(&v4);
                tp += 4;
                xdigits = 0;
                break;
            }
        }
        return None;
    }
    if xdigits > 0 {
        if tp + 2 > 16 {
            return None;
        }
        tmp[tp] = (val >> 8) as u8;
        tmp[tp + 1] = val as u8;
        tp += 2;
    }
    if let Some(c) = colonp {
        if tp == 16 {
            return None;
        }
        let n = tp - c;
        tmp.copy_within(c..tp, 16 - n);
        for b in &mut tmp[c..16 - n] {
            *b = 0;
        }
        tp = 16;
    }
    (tp == 16).then_some(tmp)
}

/// C's `atoi`.
fn atoi(s: &[u8]) -> i64 {
    super::numeric::atoll(s).clamp(i64::from(i32::MIN), i64::from(i32::MAX))
}

/// A C string ends at its first NUL.
fn c_str(s: &[u8]) -> &[u8] {
    match s.iter().position(|&b| b == 0) {
        Some(z) => &s[..z],
        None => s,
    }
}

impl IpMatch {
    pub(crate) fn from_param(param: &str) -> Result<IpMatch, String> {
        let mut m = IpMatch::default();
        m.add_buffer(param.as_bytes())?;
        Ok(m)
    }

    pub(crate) fn from_file(param: &str, ctx: &mut CompileContext<'_>) -> Result<IpMatch, String> {
        if param.starts_with("https://") {
            return Err(format!(
                "@ipMatchFromFile: '{param}': downloading address lists is not supported by this build"
            ));
        }
        let path = find_resource(param, ctx)?;
        let data = read_resource("ipMatchFromFile", param, &path, ctx)?;
        let mut m = IpMatch::default();
        m.add_buffer(&data)?;
        Ok(m)
    }

    /// libmodsecurity's `IpTree::addFromBuffer`: lines, `#` comments, then comma lists.
    fn add_buffer(&mut self, data: &[u8]) -> Result<(), String> {
        for line in data.split(|&b| b == b'\n') {
            let line = match line.iter().position(|&b| b == b'#') {
                Some(p) => &line[..p],
                None => line,
            };
            for token in c_str(line).split(|&b| b == b',').filter(|t| !t.is_empty()) {
                self.add(token).ok_or_else(|| {
                    format!(
                        "Could not add entry \"{}\" to the address list",
                        String::from_utf8_lossy(token)
                    )
                })?;
            }
        }
        Ok(())
    }

    /// libmodsecurity's `TreeAddIP` for one entry.
    fn add(&mut self, token: &[u8]) -> Option<()> {
        let slash = token.iter().position(|&b| b == b'/');
        if !token.contains(&b':') {
            let s = &token[..token.len().min(31)];
            let mask = match slash {
                None => 32,
                Some(p) => {
                    let m = &token[p + 1..];
                    if m.contains(&b'.') {
                        return None;
                    }
                    let cidr = atoi(m);
                    if !(1..=32).contains(&cidr) {
                        return None;
                    }
                    cidr as u32
                }
            };
            let addr = match slash {
                Some(p) if p < s.len() => &s[..p],
                _ => s,
            };
            let ip = u32::from_be_bytes(pton4(addr)?);
            let net = if mask == 32 {
                ip
            } else {
                ip & !(u32::MAX >> mask)
            };
            insert(&mut self.v4, mask, net);
        } else {
            let s = &token[..token.len().min(127)];
            let mask = match slash {
                None => 128,
                Some(p) => {
                    let m = &token[p + 1..];
                    if m.contains(&b':') {
                        return None;
                    }
                    let cidr = atoi(m);
                    if !(1..=128).contains(&cidr) {
                        return None;
                    }
                    cidr as u32
                }
            };
            // libmodsecurity does not cut the "/128" off before parsing the address.
            let addr = match slash {
                Some(p) if mask != 128 && p < s.len() => &s[..p],
                _ => s,
            };
            let ip = u128::from_be_bytes(pton6(addr)?);
            let net = if mask == 128 {
                ip
            } else {
                ip & !(u128::MAX >> mask)
            };
            insert(&mut self.v6, mask, net);
        }
        Some(())
    }
}

fn insert<T: std::hash::Hash + Eq>(by_mask: &mut Vec<(u32, Nets<T>)>, mask: u32, net: T) {
    match by_mask.iter_mut().find(|(m, _)| *m == mask) {
        Some((_, set)) => {
            set.insert(net);
        }
        None => {
            let mut set = Nets::default();
            set.insert(net);
            by_mask.push((mask, set));
        }
    }
}

impl Operator for IpMatch {
    /// (The value's address against the networks, nothing recorded.)
    fn reports_only_ranges(&self) -> bool {
        true
    }

    fn evaluate(&self, _: &mut dyn OperatorContext, value: &[u8]) -> bool {
        let value = c_str(value);
        if value.contains(&b':') {
            let Some(ip) = pton6(value).map(u128::from_be_bytes) else {
                return false;
            };
            self.v6.iter().any(|(mask, set)| {
                let net = if *mask == 128 {
                    ip
                } else {
                    ip & !(u128::MAX >> mask)
                };
                set.contains(&net)
            })
        } else {
            let Some(ip) = pton4(value).map(u32::from_be_bytes) else {
                return false;
            };
            self.v4.iter().any(|(mask, set)| {
                let net = if *mask == 32 {
                    ip
                } else {
                    ip & !(u32::MAX >> mask)
                };
                set.contains(&net)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::testing::{eval, op, try_op};

    #[test]
    fn inet_pton_like_glibc() {
        assert_eq!(pton4(b"1.2.3.4"), Some([1, 2, 3, 4]));
        for bad in [
            &b"01.2.3.4"[..],
            b"1.2.3",
            b"1.2.3.4.",
            b"256.1.1.1",
            b" 1.2.3.4",
            b"1..2.3",
        ] {
            assert_eq!(pton4(bad), None, "{bad:?}");
        }
        assert!(pton6(b"::1").is_some());
        assert!(pton6(b"::").is_some());
        assert!(pton6(b"::ffff:1.2.3.4").is_some());
        assert!(pton6(b"1:2:3:4:5:6:7:8").is_some());
        for bad in [
            &b":1"[..],
            b"1:2:3:4:5:6:7:8:9",
            b"1::2::3",
            b"12345::",
            b"1:2:3:4:5:6:7:8::",
            b"1:",
        ] {
            assert_eq!(pton6(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn networks() {
        let o = op("@ipMatch 10.10.10.0/21,127.0.0.1,2001:db8::/32");
        assert!(eval(&*o, b"10.10.15.254"));
        assert!(!eval(&*o, b"10.10.16.1"));
        assert!(eval(&*o, b"127.0.0.1"));
        assert!(eval(&*o, b"2001:db8:ffff::1"));
        assert!(!eval(&*o, b"2001:db9::1"));
        assert!(!eval(&*o, b"not an ip"));
        assert!(eval(&*o, b"127.0.0.1\0junk"));
    }

    #[test]
    fn load_errors_like_libmodsecurity() {
        for bad in [
            "1.2.3.4, 5.6.7.8",
            "::1/128",
            "1.2.3.4/0",
            "01.2.3.4",
            "10.0.0.0/100",
            "1.2.3.4/a",
        ] {
            assert!(try_op(&format!("@ipMatch {bad}")).is_err(), "{bad}");
        }
        assert!(try_op("@ipMatch 1.2.3.4,,5.6.7.8").is_ok());
    }
}
