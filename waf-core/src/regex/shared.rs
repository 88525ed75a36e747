//! `@rx` patterns shared across rule sets in the process ([`crate::shared_cache`]): regex
//! compilation is most of the load time.

use super::{CompileError, Regex};
use crate::shared_cache::SharedCache;
use std::sync::Arc;

static CACHE: SharedCache<String, Regex> = SharedCache::new();

/// [`Regex::new`], reusing the compiled pattern when another rule set still has it.
pub fn shared(pattern: &str) -> Result<Arc<Regex>, CompileError> {
    CACHE.get_or_build(pattern, || pattern.to_string(), || Regex::new(pattern))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_pattern_is_reused() {
        let a = shared("(?i)shared-cache-test-1").unwrap();
        let b = shared("(?i)shared-cache-test-1").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(a.is_match(b"SHARED-CACHE-TEST-1"));
        assert!(matches!(shared("("), Err(CompileError::Invalid(_))));
    }
}
