//! Compiled patterns shared across rule sets in the process.
//!
//! The same configuration is often compiled again: the C API recompiles a rule set's sources
//! after every `msc_rules_add*`/`msc_rules_merge` (nginx adds each `modsecurity_rules_file` and
//! merges per location), and a server reload compiles everything anew. Regex compilation is
//! most of the load time, so a pattern compiled once is handed out again while some rule set
//! still holds it (the cache keeps weak references: a pattern no rule set uses is freed).

use super::{CompileError, Regex};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

type Cache = Mutex<HashMap<String, Weak<Regex>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// [`Regex::new`], reusing the compiled pattern when another rule set still has it.
pub fn shared(pattern: &str) -> Result<Arc<Regex>, CompileError> {
    if let Some(re) = cache()
        .lock()
        .ok()
        .and_then(|c| c.get(pattern).and_then(Weak::upgrade))
    {
        return Ok(re);
    }
    // compiled outside the lock: other threads keep loading meanwhile
    let re = Arc::new(Regex::new(pattern)?);
    if let Ok(mut c) = cache().lock() {
        // forget patterns no rule set holds any more, now and then
        if c.len() >= 1024 && c.len().is_power_of_two() {
            c.retain(|_, w| w.strong_count() > 0);
        }
        c.insert(pattern.to_string(), Arc::downgrade(&re));
    }
    Ok(re)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_pattern_is_reused_a_dropped_one_is_freed() {
        let a = shared("(?i)shared-cache-test-1").unwrap();
        let b = shared("(?i)shared-cache-test-1").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let weak = Arc::downgrade(&a);
        drop((a, b));
        assert!(weak.upgrade().is_none());
        assert!(shared("(?i)shared-cache-test-1")
            .unwrap()
            .is_match(b"SHARED-CACHE-TEST-1"));
        assert!(matches!(shared("("), Err(CompileError::Invalid(_))));
    }
}
