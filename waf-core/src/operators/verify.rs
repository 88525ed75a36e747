//! `@verifyCC`, `@verifyCPF`, `@verifySSN`, `@verifySVNR`: a pattern finds candidate numbers,
//! a checksum confirms them.
//!
//! **Description.** True when a match of the pattern passes the check:
//! - `@verifyCC`: the Luhn (mod 10) check over the match's digits;
//! - `@verifyCPF`: the Brazilian CPF check digits over the first 11 digits, excluding the 11
//!   all-same/sequential numbers libmodsecurity lists;
//! - `@verifySSN`: 9 digits, not all sequential nor all repeated, no zero area, group or
//!   serial, area below 740 and not 666;
//! - `@verifySVNR`: the Austrian social insurance number check digit over the first 10
//!   digits, excluding libmodsecurity's list of all-same/sequential numbers.
//!
//! Which matches are candidates follows libmodsecurity: `@verifyCC` tries the first match
//! from every offset of the value (`pcre2_match` with a start offset); the others search each
//! suffix `value[i..]` (for `i` up to the second-to-last byte) with `Regex::searchAll`, whose
//! candidates are the matches' groups too. Both reduce to "the first match of each distinct
//! start", visited in one pass: linear for patterns of bounded length. A work budget (bytes
//! searched) stands in for PCRE's match limit on patterns that can match unboundedly long
//! runs; past it the operator reports no match. When several candidates pass, `TX:0` is the
//! one libmodsecurity stores (for the suffix searches, the last one in the first suffix that
//! has one), found by replaying its loop within the same budget.
//!
//! **Arguments.** A PCRE pattern (no macros). A pattern that does not compile is a load error
//! (libmodsecurity 3.0.15 refuses it for `@verifyCC`, and crashes for the others); an empty
//! pattern never matches.
//!
//! **Captures.** `TX:0`: the number that passed.
//!
//! **Example.** `SecRule ARGS "@verifyCC \d{13,16}" "id:1,phase:2,deny,capture"`

use super::{Operator, OperatorContext};
use crate::regex::{Captures, Regex};

/// Bytes of searching allowed per evaluation, beyond the value's own length.
const BUDGET: usize = 1 << 22;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    CreditCard,
    Cpf,
    Ssn,
    Svnr,
}

/// One of the `@verify*` operators.
#[derive(Debug)]
pub struct Verify {
    kind: Kind,
    re: Option<Regex>,
}

impl Verify {
    pub(crate) fn compile(kind: Kind, param: &str) -> Result<Verify, String> {
        let name = match kind {
            Kind::CreditCard => "@verifyCC",
            Kind::Cpf => "@verifyCPF",
            Kind::Ssn => "@verifySSN",
            Kind::Svnr => "@verifySVNR",
        };
        if param.is_empty() {
            return Ok(Verify { kind, re: None });
        }
        let re = Regex::new(param).map_err(|e| format!("{name}: {e}"))?;
        Ok(Verify { kind, re: Some(re) })
    }

    fn check(&self, s: &[u8]) -> bool {
        match self.kind {
            Kind::CreditCard => luhn(s),
            Kind::Cpf => cpf(s),
            Kind::Ssn => ssn(s),
            Kind::Svnr => svnr(s),
        }
    }
}

/// libmodsecurity's `VerifyCC::luhnVerify`.
fn luhn(s: &[u8]) -> bool {
    const W: [u32; 10] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];
    let mut sum = [0u32; 2];
    let mut odd = 0usize;
    let mut digits = 0;
    for &c in s {
        if c.is_ascii_digit() {
            let d = usize::from(c - b'0');
            sum[0] += if odd == 0 { W[d] } else { d as u32 };
            sum[1] += if odd == 1 { W[d] } else { d as u32 };
            odd = 1 - odd;
            digits += 1;
        }
    }
    digits > 0 && sum[odd] % 10 == 0
}

/// The first `n` ASCII digits of `s` (a C string: it ends at a NUL), if there are exactly
/// `n` digits before the end.
fn first_digits(s: &[u8], n: usize) -> Option<Vec<u32>> {
    let mut out = Vec::with_capacity(n);
    for &c in s.iter().take_while(|&&c| c != 0) {
        if out.len() < n && c.is_ascii_digit() {
            out.push(u32::from(c - b'0'));
        }
    }
    (out.len() == n).then_some(out)
}

fn all_same_or_listed(d: &[u32], listed: &[&str]) -> bool {
    let text: String = d.iter().map(|x| char::from(b'0' + *x as u8)).collect();
    listed.contains(&text.as_str())
}

/// libmodsecurity's `VerifyCPF::verify`.
fn cpf(s: &[u8]) -> bool {
    const BAD: [&str; 11] = [
        "00000000000",
        "01234567890",
        "11111111111",
        "22222222222",
        "33333333333",
        "44444444444",
        "55555555555",
        "66666666666",
        "77777777777",
        "88888888888",
        "99999999999",
    ];
    let Some(mut d) = first_digits(s, 11) else {
        return false;
    };
    if all_same_or_listed(&d, &BAD) {
        return false;
    }
    let (p1, p2) = (d[9], d[10]);
    let sum: u32 = (0..9).map(|i| d[i] * (10 - i as u32)).sum();
    let f = sum % 11;
    d[9] = if f < 2 { 0 } else { 11 - f };
    let sum: u32 = (0..10).map(|i| d[i] * (11 - i as u32)).sum();
    let f = sum % 11;
    d[10] = if f < 2 { 0 } else { 11 - f };
    p1 == d[9] && p2 == d[10]
}

/// libmodsecurity's `VerifySSN::verify`.
fn ssn(s: &[u8]) -> bool {
    let digits: Vec<u32> = s
        .iter()
        .filter(|c| c.is_ascii_digit())
        .map(|c| u32::from(c - b'0'))
        .collect();
    if digits.len() != 9 {
        return false;
    }
    let sequential = (0..8).filter(|&i| digits[i] + 1 == digits[i + 1]).count();
    let repeated = (0..8).filter(|&i| digits[i] == digits[i + 1]).count();
    if sequential == 8 || repeated == 8 {
        return false;
    }
    let area = digits[0] * 100 + digits[1] * 10 + digits[2];
    let group = digits[3] * 10 + digits[4];
    let serial = digits[5] * 1000 + digits[6] * 100 + digits[7] * 10 + digits[8];
    area != 0 && group != 0 && serial != 0 && area < 740 && area != 666
}

/// libmodsecurity's `VerifySVNR::verify`.
fn svnr(s: &[u8]) -> bool {
    const BAD: [&str; 10] = [
        "0000000000",
        "0123456789",
        "1234567890",
        "1111111111",
        "2222222222",
        "3333333333",
        "4444444444",
        "5555555555",
        "6666666666",
        "7777777777",
    ];
    let Some(d) = first_digits(s, 10) else {
        return false;
    };
    if all_same_or_listed(&d, &BAD) {
        return false;
    }
    let mut sum = (d[0] * 3
        + d[1] * 7
        + d[2] * 9
        + d[4] * 5
        + d[5] * 8
        + d[6] * 4
        + d[7] * 2
        + d[8]
        + d[9] * 6)
        % 11;
    if sum == 10 {
        sum = 0;
    }
    sum == d[3]
}

/// PCRE's return code: 1 + the highest group that took part.
fn pcre_rc(caps: &Captures) -> usize {
    (0..caps.len())
        .rev()
        .find(|&g| caps.get(g).is_some())
        .map_or(0, |g| g + 1)
}

/// The candidates libmodsecurity's `searchAll` takes from one match: its groups in order (up
/// to PCRE's return code), stopping before a group that did not take part and after an
/// empty one.
fn candidates(
    caps: &Captures,
    mut f: impl FnMut((usize, usize)) -> bool,
) -> Option<(usize, usize)> {
    for i in 0..pcre_rc(caps) {
        let (s, e) = caps.get(i)?;
        if f((s, e)) {
            return Some((s, e));
        }
        if s == e {
            return None;
        }
    }
    None
}

impl Verify {
    /// `@verifyCC`: the first passing match of the searches from each offset.
    fn credit_card(&self, re: &Regex, v: &[u8]) -> Option<(usize, usize)> {
        let mut caps = Captures::new();
        let mut budget = BUDGET.saturating_add(v.len());
        let mut o = 0;
        while o < v.len() {
            if !re.captures_at(v, o, &mut caps) {
                return None;
            }
            let (s, e) = caps.get(0)?;
            budget = budget.checked_sub(e - o + 1)?;
            if self.check(&v[s..e]) {
                return Some((s, e));
            }
            o = s + 1;
        }
        None
    }

    /// `@verifyCPF`, `@verifySSN`, `@verifySVNR`: whether a candidate of a suffix search
    /// passes, visiting each distinct first match once.
    fn suffixes(&self, re: &Regex, v: &[u8]) -> Option<(usize, usize)> {
        if v.len() < 2 {
            return None;
        }
        let mut caps = Captures::new();
        let mut budget = BUDGET.saturating_add(v.len());
        let mut j = 0;
        while j < v.len() - 1 {
            let hay = &v[j..];
            if !re.captures(hay, &mut caps) {
                if re.is_context_free() {
                    return None;
                }
                j += 1;
                continue;
            }
            let (s, e) = caps.get(0)?;
            budget = budget.checked_sub(e + 1)?;
            if let Some((cs, ce)) = candidates(&caps, |(a, b)| self.check(&hay[a..b])) {
                return Some((j + cs, j + ce));
            }
            j += if re.is_context_free() { s + 1 } else { 1 };
        }
        None
    }

    /// Replays libmodsecurity's loop (`for i ...: searchAll(input.substr(i))`, candidates in
    /// reverse order) to find the candidate it stores in `TX:0`; `None` past the budget.
    fn libmodsecurity_capture(&self, re: &Regex, v: &[u8]) -> Option<(usize, usize)> {
        let mut caps = Captures::new();
        let mut budget = BUDGET.saturating_add(v.len());
        for i in 0..v.len().saturating_sub(1) {
            let hay = &v[i..];
            let mut found: Vec<(usize, usize)> = Vec::new();
            let mut offset = 0;
            'search: while offset <= hay.len() && re.captures_at(hay, offset, &mut caps) {
                let end = caps.get(0).map_or(hay.len(), |(_, e)| e);
                budget = budget.checked_sub(end.saturating_sub(offset) + 1)?;
                for g in 0..pcre_rc(&caps) {
                    let Some((s, e)) = caps.get(g) else {
                        break 'search;
                    };
                    found.push((s, e));
                    offset = e;
                    if s == e {
                        break 'search;
                    }
                }
            }
            if let Some(&(s, e)) = found.iter().rev().find(|&&(s, e)| self.check(&hay[s..e])) {
                return Some((i + s, i + e));
            }
        }
        None
    }
}

impl Operator for Verify {
    fn evaluate(&self, ctx: &mut dyn OperatorContext, value: &[u8]) -> bool {
        let Some(re) = &self.re else {
            return false;
        };
        let found = match self.kind {
            Kind::CreditCard => self.credit_card(re, value),
            _ => self.suffixes(re, value),
        };
        let Some(span) = found else {
            return false;
        };
        if ctx.capturing() {
            let (s, e) = match self.kind {
                Kind::CreditCard => span,
                _ => self.libmodsecurity_capture(re, value).unwrap_or(span),
            };
            ctx.capture(0, &value[s..e]);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::testing::{eval, op, Cx};

    #[test]
    fn checksums() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"5484-6050-8915-8216"));
        assert!(!luhn(b"5484605089158217"));
        assert!(!luhn(b""));
        assert!(cpf(b"010.817.514-60"));
        assert!(!cpf(b"111.111.111-11"));
        assert!(ssn(b"574-57-8065"));
        assert!(!ssn(b"800-57-8065"));
        assert!(!ssn(b"123-45-6789"));
        assert!(svnr(b"1237010180"));
        assert!(!svnr(b"1111111111"));
    }

    #[test]
    fn language_cases() {
        let o = op(r"@verifyCC (?:^|[^\d])(\d+)(?:[^\d]|$)");
        assert!(eval(&*o, b"a5484605089158216b"));
        assert!(!eval(&*o, b"5484 6050 8915 8216"));
        assert!(!eval(&*o, b"15484605089158216"));
        let o = op(r"@verifySSN \d{3}-?\d{2}-?\d{4}");
        assert!(eval(&*o, b"asdf 574-57-8065 asdf"));
        assert!(!eval(&*o, b"asdf 123-45-6789 asdf"));
        assert!(!eval(&*o, b""));
        let o = op(r"@verifyCPF ([0-9]{3}\.){2}[0-9]{3}-[0-9]{2}");
        assert!(eval(&*o, b"asdf 010.817.514-60 asdf"));
        let o = op(r"@verifySVNR ([0-9]{4} ?[0-9]{6})");
        assert!(eval(&*o, b"asdf 1237 010180 asdf"));
        assert!(!eval(&*o, b"asdf 0100817 asdf"));
    }

    #[test]
    fn capture_and_long_inputs() {
        let o = op(r"@verifyCC \d{13,16}");
        let mut cx = Cx {
            capture: true,
            ..Cx::default()
        };
        assert!(o.evaluate(&mut cx, b"x 4111111111111111 y"));
        assert_eq!(cx.tx[&0], b"4111111111111111");
        // Unbounded pattern on a long run of digits: bounded work, no panic.
        let long = vec![b'1'; 200_000];
        let o = op(r"@verifySSN \d+");
        let _ = eval(&*o, &long);
        let o = op(r"@verifyCC \d+");
        let _ = eval(&*o, &long);
    }
}
