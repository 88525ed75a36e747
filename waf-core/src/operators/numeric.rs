//! `@eq`, `@ge`, `@gt`, `@le`, `@lt`: integer comparisons.
//!
//! **Description.** Both the value and the argument are read as integers the way
//! libmodsecurity's C++ reads them, never failing (checked against libmodsecurity 3.0.15):
//! - `@eq` uses `std::stoi` on both sides: leading white space (`\t\n\v\f\r `), a sign, then
//!   decimal digits, the rest ignored; no digits, or a number outside the 32-bit `int` range,
//!   reads as 0 (so `@eq 0` matches `2147483648` and `abc`).
//! - `@ge`, `@gt`, `@le`, `@lt` use `atoll`: the same reading in 64 bits, saturating at the
//!   64-bit limits, no digits reading as 0.
//!
//! Reading stops at the first byte that does not fit (`5.9` is 5, `0x5` is 0).
//!
//! **Arguments.** An integer, or a text with macros expanded at run time (`@gt
//! %{tx.inbound_anomaly_score_threshold}`). A non-numeric argument is accepted, as
//! libmodsecurity accepts it (the parser warns).
//!
//! **Example.** `SecRule TX:ANOMALY_SCORE "@ge %{tx.threshold}" "id:1,phase:2,deny"`

use super::{Operator, OperatorContext, Param};
use seclang_parser::MacroString;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
}

/// A numeric comparison: `value OP argument`.
#[derive(Debug)]
pub struct Numeric {
    op: Comparison,
    param: Param,
    /// The comparison with the argument read once, when it has no macro (it was read again
    /// for every value).
    constant: Option<IntegerTest>,
}

impl Numeric {
    pub(crate) fn new(op: Comparison, arg: &MacroString) -> Numeric {
        let param = Param::new(arg);
        let constant = match &param {
            Param::Static(text) => Some(IntegerTest::new(op, text)),
            _ => None,
        };
        Numeric {
            op,
            param,
            constant,
        }
    }
}

/// A comparison with a constant argument, read as the operator reads it: what
/// [`Operator::integer_test`] gives, to answer for a number without its text (a count: CRS's
/// `&REQUEST_HEADERS:Host "@eq 0"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntegerTest {
    op: Comparison,
    /// The argument, read by `std::stoi` for `@eq`, by `atoll` for the others.
    argument: i64,
}

impl IntegerTest {
    fn new(op: Comparison, argument: &[u8]) -> IntegerTest {
        let argument = match op {
            Comparison::Eq => stoi_or_zero(argument),
            _ => atoll(argument),
        };
        IntegerTest { op, argument }
    }

    /// Whether the comparison holds for a value read as the operator reads it: `value` is
    /// `stoi`'s reading for `@eq`, `atoll`'s for the others.
    fn holds_for_read(&self, value: i64) -> bool {
        match self.op {
            Comparison::Eq => value == self.argument,
            Comparison::Ge => value >= self.argument,
            Comparison::Gt => value > self.argument,
            Comparison::Le => value <= self.argument,
            Comparison::Lt => value < self.argument,
        }
    }

    /// Whether the comparison holds for the decimal text of `n` (as `evaluate` on it says).
    pub fn holds(&self, n: i64) -> bool {
        let read = match self.op {
            // (`std::stoi` reads a number outside `int` as 0)
            Comparison::Eq if i32::try_from(n).is_err() => 0,
            _ => n,
        };
        self.holds_for_read(read)
    }

    /// Whether the comparison holds for `value`'s text.
    fn holds_for_text(&self, value: &[u8]) -> bool {
        let read = match self.op {
            Comparison::Eq => stoi_or_zero(value),
            _ => atoll(value),
        };
        self.holds_for_read(read)
    }
}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Leading blanks, sign, digits: `(negative, digits)`.
fn number_prefix(s: &[u8]) -> (bool, &[u8]) {
    let start = s.iter().position(|&b| !is_c_space(b)).unwrap_or(s.len());
    let s = &s[start..];
    let (neg, rest) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    (neg, &rest[..n])
}

/// C's `atoll` (glibc: saturating on overflow).
pub(crate) fn atoll(s: &[u8]) -> i64 {
    let (neg, digits) = number_prefix(s);
    let mut v: i64 = 0;
    for &d in digits {
        let d = i64::from(d - b'0');
        v = if neg {
            v.saturating_mul(10).saturating_sub(d)
        } else {
            v.saturating_mul(10).saturating_add(d)
        };
    }
    v
}

/// `std::stoi`, with libmodsecurity's `catch (...) { 0 }`.
pub(crate) fn stoi_or_zero(s: &[u8]) -> i64 {
    let (neg, digits) = number_prefix(s);
    if digits.is_empty() {
        return 0;
    }
    let mut v: i64 = 0;
    for &d in digits {
        v = v * 10 + i64::from(d - b'0');
        if v > 1 << 32 {
            return 0;
        }
    }
    let v = if neg { -v } else { v };
    if (i64::from(i32::MIN)..=i64::from(i32::MAX)).contains(&v) {
        v
    } else {
        0
    }
}

impl Operator for Numeric {
    /// (A comparison of the value with the argument, nothing recorded.)
    fn reports_only_ranges(&self) -> bool {
        true
    }

    fn integer_test(&self) -> Option<IntegerTest> {
        self.constant
    }

    fn evaluate(&self, ctx: &mut dyn OperatorContext, value: &[u8]) -> bool {
        let test = match self.constant {
            Some(test) => test,
            // (an argument with macros, read at each evaluation)
            None => IntegerTest::new(self.op, &self.param.get(ctx)),
        };
        test.holds_for_text(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::testing::{eval, op, Cx};

    #[test]
    fn c_readings() {
        assert_eq!(atoll(b" +5x"), 5);
        assert_eq!(atoll(b"\x0b-12"), -12);
        assert_eq!(atoll(b"9223372036854775808"), i64::MAX);
        assert_eq!(atoll(b"-99999999999999999999"), i64::MIN);
        assert_eq!(atoll(b"abc"), 0);
        assert_eq!(stoi_or_zero(b"2147483647"), 2_147_483_647);
        assert_eq!(stoi_or_zero(b"2147483648"), 0);
        assert_eq!(stoi_or_zero(b"-2147483648"), -2_147_483_648);
        assert_eq!(stoi_or_zero(b"-2147483649"), 0);
        assert_eq!(stoi_or_zero(b"99999999999999999999999"), 0);
        assert_eq!(stoi_or_zero(b"5.9"), 5);
        assert_eq!(stoi_or_zero(b"0x5"), 0);
    }

    #[test]
    fn comparisons() {
        assert!(eval(&*op("@eq 0"), b"2147483648"));
        assert!(eval(&*op("@eq 0"), b"xxx"));
        assert!(eval(&*op("@gt 2147483648"), b"2147483649"));
        assert!(eval(&*op("@ge 5"), b"9223372036854775808"));
        assert!(eval(&*op("@lt 5"), b"abc"));
        assert!(!eval(&*op("@le 5"), b"6"));
        let o = op("@ge %{tx.t}");
        let mut cx = Cx::default();
        cx.vars.insert("t".into(), b"5".to_vec());
        assert!(o.evaluate(&mut cx, b"5") && !o.evaluate(&mut cx, b"4"));
    }

    /// An integer test answers for a number as the operator answers for its decimal text.
    #[test]
    fn integer_tests_answer_as_the_text_would() {
        let numbers = [
            0,
            1,
            2,
            -1,
            5,
            2_147_483_647,
            2_147_483_648,
            -2_147_483_649,
            i64::MAX,
            i64::MIN,
        ];
        let mut cx = Cx::default();
        for arg in [
            "0",
            "1",
            "-1",
            "5",
            " 2",
            "x",
            "2147483648",
            "9223372036854775808",
        ] {
            for name in ["eq", "ge", "gt", "le", "lt"] {
                let o = op(&format!("@{name} {arg}"));
                let test = o.integer_test().expect("a constant argument");
                for n in numbers {
                    let text = n.to_string();
                    assert_eq!(
                        test.holds(n),
                        o.evaluate(&mut cx, text.as_bytes()),
                        "@{name} {arg} on {n}"
                    );
                }
            }
        }
        assert_eq!(op("@ge %{tx.t}").integer_test(), None);
    }
}
