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

/// Puts `vector` back in `slot` (a transaction's scratch vector, lent with `mem::take`),
/// dropping what `take` left there without a call when it holds nothing: the compiler cannot
/// tell it is empty, and the drop's call cost ~10 instructions at each of the ~250 put-backs
/// of a request. (A vector of no capacity owns no memory and no elements: forgetting it frees
/// nothing that needed freeing.)
#[inline(always)]
pub(crate) fn put_back<T>(slot: &mut Vec<T>, vector: Vec<T>) {
    let left = std::mem::replace(slot, vector);
    if left.capacity() == 0 {
        std::mem::forget(left);
    }
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

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    /// The slot holds the vector put back; what was left there is dropped, elements and all,
    /// when it held anything (an element's count goes back down).
    #[test]
    fn put_back_drops_what_the_slot_held() {
        let shared = Rc::new(());
        let mut slot: Vec<Rc<()>> = vec![Rc::clone(&shared), Rc::clone(&shared)];
        super::put_back(&mut slot, vec![Rc::clone(&shared)]);
        assert_eq!(slot.len(), 1);
        assert_eq!(Rc::strong_count(&shared), 2);
        // (what a `mem::take` leaves: nothing to drop)
        let lent = std::mem::take(&mut slot);
        super::put_back(&mut slot, lent);
        assert_eq!(slot.len(), 1);
        assert_eq!(Rc::strong_count(&shared), 2);
        let mut with_room: Vec<Rc<()>> = Vec::with_capacity(4);
        super::put_back(&mut with_room, Vec::new());
        assert_eq!(with_room.capacity(), 0);
        drop(slot);
        assert_eq!(Rc::strong_count(&shared), 1);
    }
}
