//! Persistent collections (`IP`, `GLOBAL`, `SESSION`, `USER`, `RESOURCE`): what `initcol`,
//! `setsid`, `setuid` and `setrsc` open and `setvar`/`expirevar` change, kept across
//! transactions. This is the in-process store (libmodsecurity's "in memory per process"
//! backend): one per [`RuleSet`](crate::RuleSet), shared by its transactions, variables expiring
//! at the time `expirevar` gives them. A shared or on-disk store can replace it later behind the
//! same operations.

use crate::collection::Collection;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// A change to one variable of a persistent collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Set(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
    /// `expirevar`: the variable disappears after this many seconds.
    Expire(Vec<u8>, u64),
}

#[derive(Debug, Default)]
struct Stored {
    /// (name, value, expiry as Unix seconds)
    vars: Vec<(Vec<u8>, Vec<u8>, Option<u64>)>,
}

/// The in-process store: collection → key → variables. (By collection first: a lookup by the
/// names it is given, without a copy of them; CRS 3.3.4 opens `GLOBAL` and `IP` on every
/// request.)
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<HashMap<String, HashMap<Vec<u8>, Stored>>>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// The live variables of `collection` for `key` (expired ones dropped).
    pub fn load(&self, collection: &str, key: &[u8]) -> Collection {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Collection::new();
        if let Some(s) = map.get_mut(collection).and_then(|keys| keys.get_mut(key)) {
            let t = now();
            s.vars.retain(|(_, _, exp)| exp.map_or(true, |e| e > t));
            for (n, v, _) in &s.vars {
                out.add(n, v);
            }
        }
        out
    }

    /// Applies one change.
    pub fn apply(&self, collection: &str, key: &[u8], change: Change) {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let s = map
            .entry(collection.to_string())
            .or_default()
            .entry(key.to_vec())
            .or_default();
        match change {
            Change::Set(name, value) => {
                match s
                    .vars
                    .iter_mut()
                    .find(|(n, _, _)| n.eq_ignore_ascii_case(&name))
                {
                    Some(slot) => slot.1 = value,
                    None => s.vars.push((name, value, None)),
                }
            }
            Change::Remove(name) => s.vars.retain(|(n, _, _)| !n.eq_ignore_ascii_case(&name)),
            Change::Expire(name, secs) => {
                let at = now().saturating_add(secs);
                if let Some(slot) = s
                    .vars
                    .iter_mut()
                    .find(|(n, _, _)| n.eq_ignore_ascii_case(&name))
                {
                    slot.2 = Some(at);
                }
            }
        }
    }
}

/// The persistent collections a transaction opened (`initcol`, `setsid`, `setuid`, `setrsc`)
/// or wrote to, each with the key it was opened with: the five libmodsecurity knows, by name.
/// (A map by owned names allocated a ~1.8 KB tree node and two names an `initcol`: 2% of a CRS
/// 3.3.4 request.)
#[derive(Debug, Default)]
pub(crate) struct Opened(Vec<(&'static str, Collection, Option<Vec<u8>>)>);

/// `name` (lowercase) as the name of one of the five persistent collections.
pub(crate) fn known_name(name: &str) -> Option<&'static str> {
    ["ip", "global", "session", "user", "resource"]
        .into_iter()
        .find(|&k| k == name)
}

impl Opened {
    fn find(&self, name: &str) -> Option<&(&'static str, Collection, Option<Vec<u8>>)> {
        self.0.iter().find(|(n, ..)| *n == name)
    }

    /// The collection `name`, if it is open.
    pub(crate) fn get(&self, name: &str) -> Option<&Collection> {
        self.find(name).map(|(_, c, _)| c)
    }

    /// The key `name` was opened with.
    pub(crate) fn key(&self, name: &str) -> Option<&Vec<u8>> {
        self.find(name).and_then(|(.., k)| k.as_ref())
    }

    /// The collection `name`, opened empty (without a key) if it is not open.
    pub(crate) fn get_or_default(&mut self, name: &'static str) -> &mut Collection {
        let at = match self.0.iter().position(|(n, ..)| *n == name) {
            Some(at) => at,
            None => {
                self.0.push((name, Collection::new(), None));
                self.0.len() - 1
            }
        };
        &mut self.0[at].1
    }

    /// Opens `name` as `collection`, under `key` (in place of what it held).
    pub(crate) fn open(&mut self, name: &'static str, collection: Collection, key: Vec<u8>) {
        match self.0.iter_mut().find(|(n, ..)| *n == name) {
            Some(e) => *e = (name, collection, Some(key)),
            None => self.0.push((name, collection, Some(key))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_remove_expire() {
        let s = MemoryStore::new();
        s.apply(
            "ip",
            b"1.2.3.4",
            Change::Set(b"hits".to_vec(), b"1".to_vec()),
        );
        s.apply(
            "ip",
            b"1.2.3.4",
            Change::Set(b"HITS".to_vec(), b"2".to_vec()),
        );
        assert_eq!(s.load("ip", b"1.2.3.4").get(b"hits"), Some(&b"2"[..]));
        assert!(s.load("ip", b"5.6.7.8").is_empty());
        s.apply("ip", b"1.2.3.4", Change::Expire(b"hits".to_vec(), 0));
        assert!(s.load("ip", b"1.2.3.4").is_empty());
        s.apply("ip", b"k", Change::Set(b"a".to_vec(), b"1".to_vec()));
        s.apply("ip", b"k", Change::Remove(b"A".to_vec()));
        assert!(s.load("ip", b"k").is_empty());
    }
}
