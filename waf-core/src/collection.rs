//! Collections: ordered name → value lists, names compared ASCII case-insensitively.
//!
//! One type serves request collections (`ARGS`, `REQUEST_HEADERS`: several values may share a
//! name, insertion order kept) and `TX`/persistent collections (`setvar` replaces by name).

/// Shared bytes: an element's name and value are copied once into the collection, then rules
/// take their values by reference count, not by copy.
pub type Bytes = std::sync::Arc<[u8]>;

/// One element of a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: Bytes,
    pub value: Bytes,
    /// Where the value sits in the request, `(offset, length)`, as libmodsecurity's
    /// `VariableOrigin` counts it (the `v<offset>,<length>` of a log line's `[ref]`); `None`
    /// for values that do not come from the request (`TX`, `ENV`...).
    pub origin: Option<(usize, usize)>,
}

/// An ordered multimap with case-insensitive names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collection {
    entries: Vec<Entry>,
}

impl Collection {
    pub fn new() -> Collection {
        Collection::default()
    }

    /// Appends an element (names may repeat).
    pub fn add(&mut self, name: &[u8], value: &[u8]) {
        self.add_at(name, value, None);
    }

    /// Appends an element with the place of its value in the request.
    pub fn add_at(&mut self, name: &[u8], value: &[u8], origin: Option<(usize, usize)>) {
        self.entries.push(Entry {
            name: name.into(),
            value: value.into(),
            origin,
        });
    }

    /// Sets `name` to `value`: the first element of that name is replaced (others removed);
    /// appended when absent.
    pub fn set(&mut self, name: &[u8], value: Vec<u8>) {
        let value: Bytes = value.into();
        let mut found = false;
        self.entries.retain_mut(|e| {
            if !e.name.eq_ignore_ascii_case(name) {
                return true;
            }
            if found {
                return false;
            }
            found = true;
            e.value = value.clone();
            e.origin = None;
            true
        });
        if !found {
            self.entries.push(Entry {
                name: name.into(),
                value,
                origin: None,
            });
        }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
            .map(|e| &e.value[..])
    }

    pub fn contains(&self, name: &[u8]) -> bool {
        self.get(name).is_some()
    }

    /// Removes every element named `name`.
    pub fn remove(&mut self, name: &[u8]) {
        self.entries.retain(|e| !e.name.eq_ignore_ascii_case(name));
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Entry> {
        self.entries.iter()
    }
}

impl<'a> IntoIterator for &'a Collection {
    type Item = &'a Entry;
    type IntoIter = std::slice::Iter<'a, Entry>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replaces_case_insensitively_add_appends() {
        let mut c = Collection::new();
        c.add(b"A", b"1");
        c.add(b"a", b"2");
        assert_eq!(c.len(), 2);
        c.set(b"A", b"3".to_vec());
        assert_eq!(c.len(), 1);
        assert_eq!(c.get(b"a"), Some(&b"3"[..]));
        c.set(b"b", b"4".to_vec());
        c.remove(b"B");
        assert!(!c.contains(b"b"));
    }
}
