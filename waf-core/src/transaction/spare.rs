//! What a finished transaction leaves, emptied, to the thread's next one: hash tables and
//! buffers keep their room ([`super::transform_cache::TransformCache`], the per-phase tables
//! and the scalars). Grown anew on every request, the hash tables were rehashed step after
//! step, and the scalars' vectors were large enough for glibc's allocator to first merge every
//! small block freed since the last request.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::thread::LocalKey;

/// A thread's spare `T`.
pub(crate) type Slot<T> = LocalKey<RefCell<Option<T>>>;

/// The thread's spare `T`, or a new one.
pub(crate) fn take<T: Default>(slot: &'static Slot<T>) -> T {
    slot.try_with(|s| s.borrow_mut().take())
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Keeps `value`, emptied by the caller, as the thread's spare.
pub(crate) fn keep<T>(slot: &'static Slot<T>, value: T) {
    let _ = slot.try_with(|s| *s.borrow_mut() = Some(value));
}

/// A table or buffer emptied for reuse, with room kept for at most `room` entries (a request
/// with thousands of values grows them past it; a thread does not hold on to that).
pub(crate) trait Empty {
    fn empty(&mut self, room: usize);
}

impl<K: Eq + Hash, V, S: BuildHasher> Empty for HashMap<K, V, S> {
    fn empty(&mut self, room: usize) {
        self.clear();
        self.shrink_to(room);
    }
}

impl<T> Empty for Vec<T> {
    fn empty(&mut self, room: usize) {
        self.clear();
        self.shrink_to(room);
    }
}
