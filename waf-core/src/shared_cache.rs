//! Compiled values shared across rule sets in the process.
//!
//! The same configuration is often compiled again: the C API recompiles a rule set's sources
//! after every `msc_rules_add*`/`msc_rules_merge` (nginx adds each `modsecurity_rules_file` and
//! merges per location), a server reload compiles everything anew, and CRS gives several rules
//! the same phrase file. A value built once (an `@rx` pattern, an `@pm` phrase tree) is handed
//! out again while some rule set still holds it: the cache keeps weak references, so a value no
//! rule set uses is freed.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, Weak};

pub(crate) struct SharedCache<K, V> {
    map: Mutex<Option<HashMap<K, Weak<V>>>>,
}

impl<K: Hash + Eq, V> SharedCache<K, V> {
    pub(crate) const fn new() -> Self {
        SharedCache {
            map: Mutex::new(None),
        }
    }

    /// The value for `key`, built (outside the lock: other threads keep loading meanwhile) and
    /// remembered when no rule set holds one. `owned` makes the map's key.
    pub(crate) fn get_or_build<Q, E>(
        &self,
        key: &Q,
        owned: impl FnOnce() -> K,
        build: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(v) = self
            .map
            .lock()
            .ok()
            .and_then(|m| m.as_ref().and_then(|m| m.get(key)).and_then(Weak::upgrade))
        {
            return Ok(v);
        }
        let v = Arc::new(build()?);
        if let Ok(mut m) = self.map.lock() {
            let m = m.get_or_insert_with(HashMap::new);
            // forget values no rule set holds any more, now and then
            if m.len() >= 1024 && m.len().is_power_of_two() {
                m.retain(|_, w| w.strong_count() > 0);
            }
            m.insert(owned(), Arc::downgrade(&v));
        }
        Ok(v)
    }

    /// [`Self::get_or_build`] for a build that cannot fail.
    pub(crate) fn get_or_insert<Q>(
        &self,
        key: &Q,
        owned: impl FnOnce() -> K,
        build: impl FnOnce() -> V,
    ) -> Arc<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self.get_or_build(key, owned, || Ok::<V, std::convert::Infallible>(build())) {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_value_is_reused_a_dropped_one_is_freed() {
        static CACHE: SharedCache<String, String> = SharedCache::new();
        let build =
            |s: &str| CACHE.get_or_build(s, || s.to_string(), || Ok::<_, ()>(s.to_uppercase()));
        let a = build("x").unwrap();
        let b = build("x").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let weak = Arc::downgrade(&a);
        drop((a, b));
        assert!(weak.upgrade().is_none());
        assert_eq!(*build("x").unwrap(), "X");
        assert_eq!(
            CACHE.get_or_build("y", || "y".into(), || Err("no")),
            Err("no")
        );
    }
}
