//! `@unconditionalMatch` and `@noMatch`.
//!
//! **Description.** `@unconditionalMatch` is always true, `@noMatch` always false, whatever
//! the value (libmodsecurity's `unconditional_match.cc`, `no_match.cc`).
//!
//! **Arguments.** None; an argument is ignored.
//!
//! **Example.** `SecRule REMOTE_ADDR "@unconditionalMatch" "id:1,phase:1,pass,nolog"`

use super::{Operator, OperatorContext};

/// `@unconditionalMatch`
#[derive(Debug)]
pub struct UnconditionalMatch;

/// `@noMatch`
#[derive(Debug)]
pub struct NoMatch;

impl Operator for UnconditionalMatch {
    fn evaluate(&self, _: &mut dyn OperatorContext, _: &[u8]) -> bool {
        true
    }
}

impl Operator for NoMatch {
    fn evaluate(&self, _: &mut dyn OperatorContext, _: &[u8]) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use crate::operators::testing::{eval, op};

    #[test]
    fn constant() {
        assert!(eval(&*op("@unconditionalMatch"), b""));
        assert!(!eval(&*op("@noMatch"), b"x"));
    }
}
