//! Collections: ordered name → value lists, names compared ASCII case-insensitively.
//!
//! One type serves request collections (`ARGS`, `REQUEST_HEADERS`: several values may share a
//! name, insertion order kept) and `TX`/persistent collections (`setvar` replaces by name).

/// Shared bytes: an element's name and value are copied once into the collection, then rules
/// take their values by reference count, not by copy.
pub use crate::shared_bytes::Bytes;

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::OnceLock;

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
#[derive(Debug, Clone, Default)]
pub struct Collection {
    entries: Vec<Entry>,
    /// [`name_hash`] of each entry's name, in entry order: a lookup by name in a small
    /// collection compares these words and only confirms the names that hash alike.
    hashes: Vec<u64>,
    /// A large collection's positions by name hash, made at its first lookup by name (CRS
    /// reads or sets a `TX:x` ~400 times a request in a `TX` of 50-70 elements, each time
    /// walking every hash) and kept from then on; dropped by a removal, to be made again.
    /// `ARGS` of a large body, never looked up by name, never has one.
    index: OnceLock<Index>,
    /// Each entry's [`name_marks`], in a collection walked with patterns on its names
    /// (`TX:/^header_name_920450_/`, CRS 3's `&TX:'/LEAKAGE\\\/ERRORS/'`): `TX` from the rule
    /// set's plan on ([`Collection::mark_names`]); the request's, whose names would cost a
    /// pass each, have none. (Boxed: a transaction holds ~25 collections, moved as it is made
    /// and dropped; a `Vec` inline would be two words more in each.)
    #[allow(clippy::box_collection)]
    marks: Option<Box<Vec<u64>>>,
}

/// The bit of each byte in [`name_marks`] (ASCII case aside): letters, digits and `_-./` a bit
/// each, other bytes share the rest. (A mask a byte, not a bit number: a name's marks are a
/// load and an `or` a byte.)
const MARK: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let l = (b as u8).to_ascii_lowercase();
        let bit = match l {
            b'a'..=b'z' => l - b'a',
            b'0'..=b'9' => 26 + (l - b'0'),
            b'_' => 36,
            b'-' => 37,
            b'.' => 38,
            b'/' => 39,
            _ => 40 + l % 24,
        };
        t[b] = 1 << bit;
        b += 1;
    }
    t
};

/// A set of the bytes of `name`, one bit each ([`MARK`]; ASCII case aside): a name that lacks
/// a bit of a literal's marks cannot hold the literal.
pub fn name_marks(name: &[u8]) -> u64 {
    name.iter().fold(0, |m, &b| m | MARK[usize::from(b)])
}

/// Entries by [`name_hash`]: the first and last position of each hash, and from each
/// position the next one of the same hash.
///
/// A request can choose names (`ARGS`, header names copied into `TX` by CRS's 920450) that
/// hash alike: names of one hash share a list, walked as the whole collection was before;
/// hashes that fall in one bucket of the map cost its probe, 16 slots a step.
#[derive(Debug, Clone, Default)]
struct Index {
    ends: HashMap<u64, (u32, u32), BuildHasherDefault<crate::word_hash::KeyHasher>>,
    next: Vec<u32>,
}

/// End of an [`Index`] list.
const NONE: u32 = u32::MAX;

/// A collection this large gets an [`Index`] when it is looked up by name.
const INDEXED: usize = 16;

impl Index {
    fn of(hashes: &[u64]) -> Index {
        let mut index = Index {
            ends: HashMap::with_capacity_and_hasher(hashes.len(), Default::default()),
            next: Vec::with_capacity(hashes.len()),
        };
        for &h in hashes {
            index.push(h);
        }
        index
    }

    /// Links the next position, of an entry with this hash.
    fn push(&mut self, hash: u64) {
        let at = self.next.len() as u32;
        self.next.push(NONE);
        match self.ends.entry(hash) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let last = &mut e.get_mut().1;
                self.next[*last as usize] = at;
                *last = at;
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert((at, at));
            }
        }
    }
}

/// Collections are equal when their elements are (an index is how one is looked up).
impl PartialEq for Collection {
    fn eq(&self, other: &Collection) -> bool {
        self.entries == other.entries
    }
}

impl Eq for Collection {}

/// The positions of the elements of a name, in order ([`Collection::positions`]).
struct Positions<'a> {
    collection: &'a Collection,
    name: &'a [u8],
    hash: u64,
    /// With an index, the next position of the hash's list ([`NONE`] at its end); without,
    /// the next position to compare.
    at: usize,
    index: Option<&'a Index>,
}

impl Iterator for Positions<'_> {
    type Item = usize;
    // (inlined into its callers: a call's saving and restoring of registers was a third of
    // its cost, and CRS looks up `TX` by name ~100 times a request)
    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        let c = self.collection;
        match self.index {
            Some(index) => {
                while self.at != NONE as usize {
                    let i = self.at;
                    self.at = index.next[i] as usize;
                    if same_name(&c.entries[i].name, self.name) {
                        return Some(i);
                    }
                }
            }
            None => {
                while self.at < c.hashes.len() {
                    let i = self.at;
                    self.at += 1;
                    if c.hashes[i] == self.hash && same_name(&c.entries[i].name, self.name) {
                        return Some(i);
                    }
                }
            }
        }
        None
    }
}

/// Names equal without regard to ASCII case; those written alike (CRS writes its `TX` names
/// in one case) are found by a plain comparison first.
fn same_name(a: &[u8], b: &[u8]) -> bool {
    a == b || a.eq_ignore_ascii_case(b)
}

/// A hash of the name without regard to ASCII case: eight bytes at a time, each with its
/// `0x20` bit set (which makes a letter's two cases one, and some punctuation pairs too: the
/// names are compared after the hash), then the length. A byte at a time (FNV-1a over the
/// lowercase), CRS's `TX` names of 20-30 bytes cost ~8% of a minimal GET's instructions.
pub fn name_hash(name: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = crate::word_hash::KeyHasher::default();
    h.write_words(name, 0x2020_2020_2020_2020);
    h.write_u64(name.len() as u64);
    let h = h.finish();
    // (the low bits too depend on every word: a tag's bit is `hash % 64`)
    h ^ (h >> 32)
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
        self.push(name.into(), value.into(), origin);
    }

    /// Appends an element whose name and value are already shared buffers (no copy), with
    /// the place of its value in the request if it has one.
    pub fn add_shared(&mut self, name: Bytes, value: Bytes, origin: Option<(usize, usize)>) {
        self.push(name, value, origin);
    }

    /// [`Collection::add_shared`] of a name whose [`name_hash`] is known (an argument goes
    /// into `ARGS` and `ARGS_GET` or `ARGS_POST`: its name is hashed once for both).
    pub fn add_shared_hashed(
        &mut self,
        name: Bytes,
        hash: u64,
        value: Bytes,
        origin: Option<(usize, usize)>,
    ) {
        debug_assert_eq!(hash, name_hash(&name));
        self.push_hashed(name, hash, value, origin);
    }

    fn push(&mut self, name: Bytes, value: Bytes, origin: Option<(usize, usize)>) {
        let hash = name_hash(&name);
        self.push_hashed(name, hash, value, origin);
    }

    /// [`Collection::push`] of a name whose [`name_hash`] is known.
    fn push_hashed(
        &mut self,
        name: Bytes,
        hash: u64,
        value: Bytes,
        origin: Option<(usize, usize)>,
    ) {
        self.hashes.push(hash);
        if let Some(marks) = &mut self.marks {
            marks.push(name_marks(&name));
        }
        if let Some(index) = self.index.get_mut() {
            index.push(hash);
        }
        self.entries.push(Entry {
            name,
            value,
            origin,
        });
    }

    /// A collection of the elements at `positions` (in order), sharing their buffers.
    pub(crate) fn selected(&self, positions: &[u32]) -> Collection {
        let mut c = Collection::default();
        c.entries.reserve(positions.len());
        c.hashes.reserve(positions.len());
        for &i in positions {
            if let (Some(e), Some(&hash)) =
                (self.entries.get(i as usize), self.hashes.get(i as usize))
            {
                c.push_hashed(e.name.clone(), hash, e.value.clone(), e.origin);
            }
        }
        c
    }

    /// Makes this collection a copy of `source` with room for `extra` more elements, its
    /// index (if made) included, in this collection's own buffers when they are large enough:
    /// the `TX` of a rule set's plan is copied into each transaction, where CRS adds elements
    /// to it (a copy with no room to spare moved all of them at the first), into the buffers
    /// the thread's last transaction left ([`Collection::empty_keeping_room`]): three blocks of
    /// kilobytes from the allocator cost ~1-2k instructions each a request.
    ///
    /// An element that already is the source's at its place (the same buffers: the thread's
    /// last `TX`, made the snapshot again when its transaction ended) is kept as it is: a
    /// copy's element is two atomic counts on its buffers and two more when dropped, ~90 of
    /// each a request with CRS.
    pub fn copy_with_room(&mut self, source: &Collection, extra: usize) {
        self.entries.truncate(source.entries.len());
        for (e, s) in self.entries.iter_mut().zip(&source.entries) {
            let same = Bytes::ptr_eq(&e.name, &s.name)
                && Bytes::ptr_eq(&e.value, &s.value)
                && e.origin == s.origin;
            if !same {
                e.clone_from(s);
            }
        }
        let kept = self.entries.len();
        self.entries.reserve(source.entries.len() - kept + extra);
        self.entries.extend_from_slice(&source.entries[kept..]);
        self.hashes.clear();
        self.hashes.reserve(source.hashes.len() + extra);
        self.hashes.extend_from_slice(&source.hashes);
        match (&source.marks, &mut self.marks) {
            (Some(from), Some(to)) => {
                to.clear();
                to.reserve(from.len() + extra);
                to.extend_from_slice(from);
            }
            (Some(from), None) => {
                let mut to = Vec::with_capacity(from.len() + extra);
                to.extend_from_slice(from);
                self.marks = Some(Box::new(to));
            }
            (None, _) => self.marks = None,
        }
        match (source.index.get(), self.index.get_mut()) {
            (Some(from), Some(to)) => {
                // (the table's allocation is reused when its size is the source's)
                to.ends.clone_from(&from.ends);
                to.next.clear();
                to.next.reserve(from.next.len() + extra);
                to.next.extend_from_slice(&from.next);
            }
            (Some(from), None) => {
                let mut i = from.clone();
                i.next.reserve(extra);
                self.index = OnceLock::from(i);
            }
            (None, _) => self.index = OnceLock::new(),
        }
    }

    /// How many elements its buffer has room for.
    pub(crate) fn room(&self) -> usize {
        self.entries.capacity()
    }

    /// Empties the collection, keeping its buffers for the thread's next transaction unless
    /// they hold room for more than `room` elements; with `keep_index`, its index's too,
    /// emptied, for a copy ([`Collection::copy_with_room`]: `TX`). (A collection filled by
    /// appending, `ARGS`, is better without one: an index there is kept up at each element.)
    pub(crate) fn empty_keeping_room(&mut self, room: usize, keep_index: bool) {
        self.entries.clear();
        self.hashes.clear();
        if let Some(marks) = &mut self.marks {
            marks.clear();
        }
        if self.entries.capacity() > room {
            *self = Collection::new();
            return;
        }
        match self.index.get_mut() {
            Some(index) if keep_index => {
                index.ends.clear();
                index.next.clear();
            }
            _ => self.index = OnceLock::new(),
        }
    }

    /// Makes the index of a collection large enough to have one, with room in its table for
    /// `extra` more names: the plan's `TX`, whose copies each transaction grows (a copy of
    /// the table is cheap, its growth in every transaction was not).
    pub fn index_with_room(&mut self, extra: usize) {
        if self.entries.len() > INDEXED {
            let hashes = &self.hashes;
            self.index.get_or_init(|| Index::of(hashes));
            if let Some(index) = self.index.get_mut() {
                index.ends.reserve(extra);
            }
        }
    }

    /// Sets `name` to `value`: the first element of that name is replaced (others removed);
    /// appended when absent.
    pub fn set(&mut self, name: &[u8], value: impl Into<Bytes>) {
        self.set_with(name, name_hash(name), None, value.into());
    }

    /// [`Collection::set`] with the name as a shared buffer too, whose [`name_hash`] is
    /// known: an element it appends shares it.
    pub fn set_shared(&mut self, name: &Bytes, hash: u64, value: Bytes) {
        self.set_with(name, hash, Some(name), value);
    }

    fn set_with(&mut self, name: &[u8], hash: u64, shared: Option<&Bytes>, value: Bytes) {
        self.set_from(name, hash, shared, |_| value);
    }

    /// [`Collection::set_shared`] of the value `value` makes of the first value of `name`
    /// (`None`: there is none), found once: `setvar:tx.score=+5` reads and writes one element.
    pub fn update_shared(
        &mut self,
        name: &Bytes,
        hash: u64,
        value: impl FnOnce(Option<&[u8]>) -> Bytes,
    ) {
        self.set_from(name, hash, Some(name), value);
    }

    fn set_from(
        &mut self,
        name: &[u8],
        hash: u64,
        shared: Option<&Bytes>,
        value: impl FnOnce(Option<&[u8]>) -> Bytes,
    ) {
        debug_assert_eq!(hash, name_hash(name));
        let (first, more) = {
            let mut found = self.positions(name, hash);
            (found.next(), found.next().is_some())
        };
        match first {
            None => {
                let value = value(None);
                self.push_hashed(
                    shared.map_or_else(|| name.into(), Bytes::clone),
                    hash,
                    value,
                    None,
                )
            }
            Some(first) => {
                let e = &mut self.entries[first];
                e.value = value(Some(&e.value));
                e.origin = None;
                if more {
                    // rare: names added with `add` repeat; `set` keeps the first only
                    let mut seen = false;
                    self.retain(|e| {
                        let same = e.name.eq_ignore_ascii_case(name);
                        let keep = !same || !seen;
                        seen |= same;
                        keep
                    });
                }
            }
        }
    }

    /// The positions of the elements named `name` (whose [`name_hash`] is `hash`).
    fn positions<'a>(&'a self, name: &'a [u8], hash: u64) -> Positions<'a> {
        let index = if self.entries.len() > INDEXED {
            Some(self.index.get_or_init(|| Index::of(&self.hashes)))
        } else {
            None
        };
        let at = match index {
            Some(index) => index.ends.get(&hash).map_or(NONE, |&(first, _)| first) as usize,
            None => 0,
        };
        Positions {
            collection: self,
            name,
            hash,
            at,
            index,
        }
    }

    /// The elements named `name`, in order.
    pub fn named<'a>(&'a self, name: &'a [u8]) -> impl Iterator<Item = &'a Entry> + 'a {
        self.named_by_hash(name, name_hash(name))
    }

    /// [`Collection::named`] of a name whose [`name_hash`] is known.
    pub fn named_by_hash<'a>(
        &'a self,
        name: &'a [u8],
        hash: u64,
    ) -> impl Iterator<Item = &'a Entry> + 'a {
        self.positions(name, hash).map(|i| &self.entries[i])
    }

    /// The first value of `name`.
    pub fn get<'a>(&'a self, name: &[u8]) -> Option<&'a [u8]> {
        let first = self.positions(name, name_hash(name)).next();
        first.map(|i| &self.entries[i].value[..])
    }

    /// Keeps the elements for which `keep` holds.
    fn retain(&mut self, mut keep: impl FnMut(&Entry) -> bool) {
        let before = self.entries.len();
        let mut i = 0;
        self.entries.retain(|e| {
            let k = keep(e);
            if !k {
                self.hashes.remove(i);
                if let Some(marks) = &mut self.marks {
                    marks.remove(i);
                }
            } else {
                i += 1;
            }
            k
        });
        if self.entries.len() != before {
            // positions moved: the index is made again at the next lookup
            self.index = OnceLock::new();
        }
    }

    pub fn contains(&self, name: &[u8]) -> bool {
        self.get(name).is_some()
    }

    /// Removes every element named `name`.
    pub fn remove(&mut self, name: &[u8]) {
        self.retain(|e| !e.name.eq_ignore_ascii_case(name));
    }

    #[inline]
    pub fn clear(&mut self) {
        if self.entries.is_empty() && self.index.get().is_none() {
            // (`MATCHED_VARS` of each rule that did not match: most are empty already; told
            // here, inlined, not in a call ~200 times a request)
            return;
        }
        self.empty_all();
    }

    #[inline(never)]
    fn empty_all(&mut self) {
        self.entries.clear();
        self.hashes.clear();
        if let Some(marks) = &mut self.marks {
            marks.clear();
        }
        self.index = OnceLock::new();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The element added last.
    pub fn last(&self) -> Option<&Entry> {
        self.entries.last()
    }

    /// Keeps each name's [`name_marks`] from now on, for [`Collection::iter_marked`].
    pub fn mark_names(&mut self) {
        self.marks = Some(Box::new(
            self.entries.iter().map(|e| name_marks(&e.name)).collect(),
        ));
    }

    /// The elements whose names may hold every byte of `marks` ([`name_marks`] of a literal
    /// the names sought hold): all of them when the collection keeps no marks, or `marks` is
    /// 0. (A walk of CRS's `TX`, ~60 names, with a pattern was a test of each name.)
    pub fn iter_marked(&self, marks: u64) -> impl Iterator<Item = &Entry> + '_ {
        let kept: &[u64] = self.marks.as_deref().map_or(&[], |m| &m[..]);
        debug_assert!(self.marks.is_none() || kept.len() == self.entries.len());
        let marks = if self.marks.is_some() { marks } else { 0 };
        self.entries
            .iter()
            .enumerate()
            .filter(move |&(i, _)| marks == 0 || kept[i] & marks == marks)
            .map(|(_, e)| e)
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

    /// Names that differ in ASCII case only hash alike, at every length around the words'
    /// edges; a name and its longer forms (the last word padded) do not.
    #[test]
    fn names_hash_alike_without_regard_to_case() {
        let text = b"Restricted_Headers_Basic-AND-MORE.Of/Them";
        for len in 0..=text.len() {
            let name = &text[..len];
            assert_eq!(
                name_hash(name),
                name_hash(&name.to_ascii_lowercase()),
                "{len}"
            );
            assert_eq!(
                name_hash(name),
                name_hash(&name.to_ascii_uppercase()),
                "{len}"
            );
            let mut longer = name.to_vec();
            longer.push(b' ');
            assert_ne!(name_hash(name), name_hash(&longer), "{len}");
        }
        let mut c = Collection::new();
        (0..40).for_each(|i| c.add(format!("Name_{i}").as_bytes(), b"v"));
        assert_eq!(c.named(b"NAME_17").count(), 1);
    }

    /// A copy with room has the same elements, found by name through its copied index as
    /// before and after new ones are added, and the room asked for.
    #[test]
    fn a_copy_with_room_is_the_same_collection() {
        let mut c = Collection::new();
        for i in 0..40 {
            c.add(format!("k{i}").as_bytes(), b"v");
        }
        c.add(b"K7", b"again");
        assert_eq!(c.named(b"k7").count(), 2);
        // (into buffers a larger collection left, as a transaction's TX is)
        let mut copy = Collection::new();
        (0..60).for_each(|i| copy.add(format!("old{i}").as_bytes(), b"x"));
        assert!(copy.contains(b"old3"));
        copy.empty_keeping_room(1024, true);
        assert!(copy.is_empty() && !copy.contains(b"old3"));
        copy.copy_with_room(&c, 10);
        assert_eq!(copy, c);
        assert!(!copy.contains(b"old3"));
        assert!(copy.entries.capacity() >= 51 && copy.hashes.capacity() >= 51);
        assert_eq!(copy.index.get().is_some(), c.index.get().is_some());
        let values = |c: &Collection, n: &[u8]| -> Vec<Vec<u8>> {
            c.named(n).map(|e| e.value.to_vec()).collect()
        };
        assert_eq!(values(&copy, b"K7"), [b"v".to_vec(), b"again".to_vec()]);
        copy.set(b"k41", &b"new"[..]);
        copy.add(b"k7", b"third");
        assert_eq!(values(&copy, b"k41"), [b"new".to_vec()]);
        assert_eq!(values(&copy, b"k7").len(), 3);
        assert_eq!(values(&c, b"k7").len(), 2);
        assert_eq!(c.named(b"k41").count(), 0);
    }

    /// A collection copied again from its source (as the thread's last `TX` is) is the source
    /// again: an element set anew gets the source's back, those added since are dropped, and
    /// every element shares the source's buffers.
    #[test]
    fn a_copy_again_is_the_source_again() {
        let mut source = Collection::new();
        (0..20).for_each(|i| source.add(format!("k{i}").as_bytes(), b"v"));
        let mut copy = Collection::new();
        copy.copy_with_room(&source, 8);
        let counts = |c: &Collection| -> Vec<usize> {
            c.entries
                .iter()
                .map(|e| e.value.handles() as usize)
                .collect()
        };
        assert_eq!(counts(&source), vec![2; 20]);
        // a transaction's changes: one element set anew, two added
        copy.set(b"k5", &b"changed"[..]);
        copy.add(b"k20", b"added");
        copy.add(b"k5", b"again");
        copy.copy_with_room(&source, 8);
        assert_eq!(copy, source);
        assert!(copy
            .entries
            .iter()
            .zip(&source.entries)
            .all(|(a, b)| Bytes::ptr_eq(&a.value, &b.value)));
        assert_eq!(counts(&source), vec![2; 20]);
        let k5: Vec<&[u8]> = copy.named(b"k5").map(|e| &e.value[..]).collect();
        assert_eq!(k5, [&b"v"[..]]);
    }

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

    /// `update_shared` gives the first value of the name (or none) and keeps only what it
    /// makes of it, as reading it and then `set` do.
    #[test]
    fn update_reads_the_first_value_and_sets_it() {
        let mut c = Collection::new();
        let name: Bytes = b"score".as_slice().into();
        let hash = name_hash(&name);
        let plus = |by: u8| {
            move |pre: Option<&[u8]>| -> Bytes {
                let n = pre.map_or(0, |p| p[0] - b'0') + by;
                vec![b'0' + n].into()
            }
        };
        c.update_shared(&name, hash, plus(2));
        assert_eq!(c.get(b"SCORE"), Some(&b"2"[..]));
        c.add(b"Score", b"7");
        c.add(b"other", b"1");
        c.update_shared(&name, hash, plus(3));
        let scores: Vec<&[u8]> = c.named(b"score").map(|e| &e.value[..]).collect();
        assert_eq!(scores, [&b"5"[..]]);
        assert_eq!(c.len(), 2);
        assert!(Bytes::ptr_eq(&c.iter().next().unwrap().name, &name));
    }

    #[test]
    fn lookups_by_name_follow_every_change() {
        let mut c = Collection::new();
        for (n, v) in [("x", "1"), ("Y", "2"), ("x", "3"), ("z", "4"), ("X", "5")] {
            c.add(n.as_bytes(), v.as_bytes());
        }
        let values = |c: &Collection, n: &str| -> Vec<Vec<u8>> {
            c.named(n.as_bytes()).map(|e| e.value.to_vec()).collect()
        };
        assert_eq!(
            values(&c, "X"),
            [b"1".to_vec(), b"3".to_vec(), b"5".to_vec()]
        );
        c.set(b"x", b"6".to_vec());
        assert_eq!(values(&c, "x"), [b"6".to_vec()]);
        assert_eq!(
            c.iter().map(|e| e.name.to_vec()).collect::<Vec<_>>(),
            [b"x".to_vec(), b"Y".to_vec(), b"z".to_vec()]
        );
        c.remove(b"y");
        assert_eq!(values(&c, "z"), [b"4".to_vec()]);
        assert_eq!(c.get(b"Z"), Some(&b"4"[..]));
        c.set(b"w", b"7".to_vec());
        assert_eq!(c.get(b"W"), Some(&b"7"[..]));
        assert_eq!(c.len(), 3);
    }

    /// What a collection is: a list of elements, names compared without regard to case.
    #[derive(Default)]
    struct Model(Vec<(Vec<u8>, Vec<u8>)>);

    impl Model {
        fn named(&self, name: &[u8]) -> Vec<Vec<u8>> {
            self.0
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .collect()
        }
    }

    proptest::proptest! {
        /// Through additions of repeated names, sets, removals and clears of many elements,
        /// every lookup by name gives what a plain list gives.
        #[test]
        fn lookups_by_name_agree_with_a_plain_list(
            ops in proptest::collection::vec(
                (0..10u8, 0..48usize, proptest::prelude::any::<bool>()), 0..300),
        ) {
            use proptest::prelude::*;
            let name = |i: usize, upper: bool| -> Vec<u8> {
                let n = format!("name{i}");
                let n = if upper { n.to_uppercase() } else { n };
                n.into_bytes()
            };
            let mut c = Collection::new();
            // (marked, as `TX` is: a walk by marks offers every name that holds a literal)
            c.mark_names();
            let mut m = Model::default();
            for (k, (op, i, upper)) in ops.iter().enumerate() {
                let (n, v) = (name(*i, *upper), k.to_string().into_bytes());
                match op {
                    // mostly sets (TX), some additions (repeated names), few removals
                    0..=5 => {
                        c.set(&n, v.clone());
                        match m.0.iter().position(|(x, _)| x.eq_ignore_ascii_case(&n)) {
                            Some(p) => {
                                m.0[p].1 = v;
                                let mut seen = false;
                                m.0.retain(|(x, _)| {
                                    let same = x.eq_ignore_ascii_case(&n);
                                    let keep = !same || !seen;
                                    seen |= same;
                                    keep
                                });
                            }
                            None => m.0.push((n, v)),
                        }
                    }
                    6..=7 => {
                        c.add(&n, &v);
                        m.0.push((n, v));
                    }
                    8 => {
                        c.remove(&n);
                        m.0.retain(|(x, _)| !x.eq_ignore_ascii_case(&n));
                    }
                    _ if *i == 0 => {
                        c.clear();
                        m.0.clear();
                    }
                    // a lookup along the way (a large collection makes its index here, then
                    // keeps it through what follows)
                    _ => {
                        let got: Vec<Vec<u8>> = c.named(&n).map(|e| e.value.to_vec()).collect();
                        prop_assert_eq!(&got, &m.named(&n));
                    }
                }
                prop_assert_eq!(c.len(), m.0.len());
                for lit in [&b"name1"[..], b"E4", b"x"] {
                    let holds = |e: &&Entry| {
                        e.name.to_ascii_lowercase().windows(lit.len())
                            .any(|w| w.eq_ignore_ascii_case(lit))
                    };
                    let by_marks = c.iter_marked(name_marks(lit)).filter(holds).count();
                    prop_assert_eq!(by_marks, c.iter().filter(holds).count());
                    prop_assert!(c.iter_marked(name_marks(lit)).count() <= c.len());
                }
            }
            for i in 0..48 {
                let n = name(i, i % 2 == 0);
                let got: Vec<Vec<u8>> = c.named(&n).map(|e| e.value.to_vec()).collect();
                prop_assert_eq!(&got, &m.named(&n));
                prop_assert_eq!(c.get(&n).map(<[u8]>::to_vec), m.named(&n).first().cloned());
            }
        }
    }
}
