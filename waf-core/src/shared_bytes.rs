//! Shared bytes: the buffers of collections' names and values ([`Bytes`]), and the blocks a
//! request's arguments are written into one after another ([`Arena`]).
//!
//! A [`Bytes`] is what `Arc<[u8]>` was (two words; a count shared by its clones; the bytes
//! never change), but it may be one of many slices of one block: a 1 MB JSON body's 66,000
//! arguments were 132,000 allocations of a few bytes, each freed on its own at the
//! transaction's end (with glibc's allocator ~8% of the body's time, and the end of the
//! transaction 3.8 ms of its ~45); written into an [`Arena`], they are ~40 blocks.
//!
//! Each slice's bytes follow its own [`SliceHeader`] (its count, and how far back its block
//! starts): a handle is the bytes' address and length, a clone or a drop counts at a fixed
//! place before them (as `Arc`'s do: a handle is as cheap to look at, clone and drop as it
//! was). A slice made on its own is its own allocation; one of an arena's block gives its
//! block back when its count reaches zero, and the block goes with its last slice
//! ([`BlockHeader`]).
//!
//! What a slice keeps alive is its whole block: a value that may outlive its request (one
//! kept for the thread's next transactions) is [`Bytes::unshared`] first.
//!
//! (Unsafe code, the crate's only: the layout above is small enough to check by reading and
//! by Miri, `cargo +nightly miri test -p waf-core --lib shared_bytes`; `bytes::Bytes` would be
//! four words a handle, and a call through a table for each count.)

use std::alloc::{self, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{self, AtomicU32, AtomicUsize, Ordering};

/// What precedes a slice's bytes.
#[repr(C)]
struct SliceHeader {
    /// The slice's handles.
    count: AtomicU32,
    /// 0 for a slice that is its own allocation; else how far back from the slice's bytes
    /// its block starts.
    back: u32,
}

/// The start of an arena's block.
#[repr(C)]
struct BlockHeader {
    /// [`BIAS`] while the arena writes into the block, less one for each slice of it whose
    /// count reached zero; when the arena leaves it, the count of its live slices.
    live: AtomicUsize,
    /// The block's size in bytes (its layout, to free it).
    size: usize,
}

const SLICE: usize = std::mem::size_of::<SliceHeader>();
const SLICE_ALIGN: usize = std::mem::align_of::<SliceHeader>();
const BLOCK: usize = std::mem::size_of::<BlockHeader>();
const BLOCK_ALIGN: usize = std::mem::align_of::<BlockHeader>();
/// The header of every empty `Bytes`, shared (as `Arc<[u8]>`'s empty one is): its count
/// starts so high that its handles' drops never bring it to zero (its clones would abort
/// first, at `i32::MAX`).
static EMPTY: SliceHeader = SliceHeader {
    count: AtomicU32::new(1 << 30),
    back: 0,
};

/// A block's count while its arena writes into it: more than it can have slices, so that
/// the arena counts its slices itself and adds them once, when it leaves the block.
const BIAS: usize = 1 << 40;

/// Immutable shared bytes: a clone is a count, not a copy.
pub struct Bytes {
    /// The first byte, after the slice's [`SliceHeader`].
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the bytes are never written after the handle is made, and the counts are atomic:
// handles may move to and be shared between threads as `Arc<[u8]>` may.
unsafe impl Send for Bytes {}
unsafe impl Sync for Bytes {}

/// The layout of a slice that is its own allocation.
fn own_layout(len: usize) -> Layout {
    // (a length near `isize::MAX` is not in memory to copy)
    Layout::from_size_align(SLICE + len, SLICE_ALIGN).expect("slice size overflow")
}

/// A new allocation of `layout` (whose size is not zero).
fn allocate(layout: Layout) -> NonNull<u8> {
    // SAFETY: the callers' layouts hold a header at least.
    let at = unsafe { alloc::alloc(layout) };
    match NonNull::new(at) {
        Some(at) => at,
        None => alloc::handle_alloc_error(layout),
    }
}

/// Writes a slice of `data` at `at`: its header (count 1), then its bytes.
///
/// SAFETY: `at` is `SLICE_ALIGN`-aligned, with `SLICE + data.len()` bytes there that nothing
/// else uses, in an allocation `back` bytes before the slice's bytes (0: its own).
unsafe fn write_slice(at: NonNull<u8>, back: u32, data: &[u8]) -> Bytes {
    unsafe {
        at.cast::<SliceHeader>().write(SliceHeader {
            count: AtomicU32::new(1),
            back,
        });
        let bytes = at.add(SLICE);
        std::ptr::copy_nonoverlapping(data.as_ptr(), bytes.as_ptr(), data.len());
        Bytes {
            ptr: bytes,
            len: data.len(),
        }
    }
}

/// Drops `n` counts of `block`; frees it with the last.
///
/// SAFETY: `block` is a live block, and the caller holds `n` of its counts, given up here.
unsafe fn release_block(block: NonNull<u8>, n: usize) {
    let header = unsafe { block.cast::<BlockHeader>().as_ref() };
    if header.live.fetch_sub(n, Ordering::Release) != n {
        return;
    }
    // (as `Arc`'s drop: every other slice's uses happen before the free)
    atomic::fence(Ordering::Acquire);
    let size = header.size;
    // SAFETY: the layout the block was made with; no slice of it is left.
    unsafe {
        alloc::dealloc(
            block.as_ptr(),
            Layout::from_size_align_unchecked(size, BLOCK_ALIGN),
        )
    };
}

impl Bytes {
    /// The empty bytes (no allocation: every empty handle shares one static header).
    pub fn new() -> Bytes {
        EMPTY.count.fetch_add(1, Ordering::Relaxed);
        // SAFETY: just past the static header, whose count was just added to: a handle of no
        // bytes whose header is `SLICE` bytes before it.
        let ptr = unsafe { NonNull::from(&EMPTY).cast::<u8>().add(SLICE) };
        Bytes { ptr, len: 0 }
    }

    /// A slice of its own holding a copy of `data`.
    pub fn copy_from_slice(data: &[u8]) -> Bytes {
        if data.is_empty() {
            return Bytes::new();
        }
        let at = allocate(own_layout(data.len()));
        // SAFETY: a new allocation of the slice's layout.
        unsafe { write_slice(at, 0, data) }
    }

    fn header(&self) -> &SliceHeader {
        // SAFETY: a handle's bytes follow their slice's header, live while the handle is.
        unsafe { self.ptr.sub(SLICE).cast::<SliceHeader>().as_ref() }
    }

    /// Whether `a` and `b` are handles on the same bytes (clones of one another). (No two
    /// slices start at one address: each has its header before it.)
    #[inline]
    pub fn ptr_eq(a: &Bytes, b: &Bytes) -> bool {
        a.ptr == b.ptr
    }

    /// These bytes in a slice of their own when they are a slice of an arena's block: for a
    /// value that may outlive its request, which would keep the whole block alive.
    pub fn unshared(&self) -> Bytes {
        match self.header().back {
            0 => self.clone(),
            _ => Bytes::copy_from_slice(self),
        }
    }

    /// Whether this is a slice of its own (not of an arena's block).
    #[cfg(test)]
    pub(crate) fn is_own(&self) -> bool {
        self.header().back == 0
    }

    /// The handles on this slice (tests).
    #[cfg(test)]
    pub(crate) fn handles(&self) -> u32 {
        self.header().count.load(Ordering::Relaxed)
    }

    /// The slice's count reached zero: frees it, or gives it back to its block.
    #[cold]
    #[inline(never)]
    fn drop_slow(&mut self) {
        // (as `Arc`'s drop: every other handle's uses happen before the free)
        atomic::fence(Ordering::Acquire);
        let at = unsafe { self.ptr.sub(SLICE) };
        match self.header().back {
            // SAFETY: the slice's own allocation, of its layout; no handle is left.
            0 => unsafe { alloc::dealloc(at.as_ptr(), own_layout(self.len)) },
            // SAFETY: the slice's block is `back` bytes before its bytes, and the slice held
            // one of its counts.
            back => unsafe { release_block(self.ptr.sub(back as usize), 1) },
        }
    }
}

impl Clone for Bytes {
    #[inline]
    fn clone(&self) -> Bytes {
        let old = self.header().count.fetch_add(1, Ordering::Relaxed);
        // (as `Arc`: a count that could wrap is a leak of handles; stop)
        if old > i32::MAX as u32 {
            std::process::abort();
        }
        Bytes {
            ptr: self.ptr,
            len: self.len,
        }
    }
}

impl Drop for Bytes {
    #[inline]
    fn drop(&mut self) {
        if self.header().count.fetch_sub(1, Ordering::Release) == 1 {
            self.drop_slow();
        }
    }
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        // SAFETY: `len` bytes at `ptr`, kept alive by this handle, never written again.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Default for Bytes {
    fn default() -> Bytes {
        Bytes::new()
    }
}
impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::borrow::Borrow<[u8]> for Bytes {
    fn borrow(&self) -> &[u8] {
        self
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl PartialEq for Bytes {
    fn eq(&self, other: &Bytes) -> bool {
        **self == **other
    }
}

impl Eq for Bytes {}

impl PartialOrd for Bytes {
    fn partial_cmp(&self, other: &Bytes) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Bytes {
    fn cmp(&self, other: &Bytes) -> std::cmp::Ordering {
        (**self).cmp(&**other)
    }
}

impl std::hash::Hash for Bytes {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl From<&[u8]> for Bytes {
    fn from(data: &[u8]) -> Bytes {
        Bytes::copy_from_slice(data)
    }
}

impl<const N: usize> From<&[u8; N]> for Bytes {
    fn from(data: &[u8; N]) -> Bytes {
        Bytes::copy_from_slice(data)
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(data: Vec<u8>) -> Bytes {
        Bytes::copy_from_slice(&data)
    }
}

impl From<&Vec<u8>> for Bytes {
    fn from(data: &Vec<u8>) -> Bytes {
        Bytes::copy_from_slice(data)
    }
}

impl From<&str> for Bytes {
    fn from(data: &str) -> Bytes {
        Bytes::copy_from_slice(data.as_bytes())
    }
}

impl From<String> for Bytes {
    fn from(data: String) -> Bytes {
        Bytes::copy_from_slice(data.as_bytes())
    }
}

impl FromIterator<u8> for Bytes {
    fn from_iter<I: IntoIterator<Item = u8>>(iter: I) -> Bytes {
        Bytes::copy_from_slice(&iter.into_iter().collect::<Vec<u8>>())
    }
}

/// The first block an [`Arena`] makes,
const FIRST_BLOCK: usize = 1 << 10;
/// and the largest (each is twice the last);
const LARGEST_BLOCK: usize = 1 << 16;
/// bytes longer than this are a slice of their own.
const LONGEST_IN_BLOCK: usize = 1 << 9;

/// Writes bytes one after another into blocks, each a handle's slice of its block.
///
/// A transaction's arguments are written into its arena: most are a few bytes, made once and
/// dropped together at the transaction's end.
pub struct Arena {
    /// The block being written: where, the bytes of it used, its size, and the slices made
    /// of it (counted into the block when the arena leaves it).
    block: Option<(NonNull<u8>, usize, usize, usize)>,
    /// The size of the next block.
    next: usize,
}

// SAFETY: the arena's block is written only through `&mut Arena`, past every slice handed
// out; the counts are atomic.
unsafe impl Send for Arena {}
unsafe impl Sync for Arena {}

impl Default for Arena {
    fn default() -> Arena {
        Arena::new()
    }
}

impl Arena {
    pub const fn new() -> Arena {
        Arena {
            block: None,
            next: FIRST_BLOCK,
        }
    }

    /// A handle on a copy of `data`, a slice of the arena's block (a new one when the last
    /// is full) or, when longer than [`LONGEST_IN_BLOCK`], of its own.
    pub fn copy(&mut self, data: &[u8]) -> Bytes {
        if data.is_empty() || data.len() > LONGEST_IN_BLOCK {
            return Bytes::copy_from_slice(data);
        }
        let need = SLICE + data.len();
        let (block, at, size, made) = match self.block {
            Some((block, used, size, made)) if size - used >= need => (block, used, size, made),
            _ => {
                self.leave_block();
                let size = self.next;
                self.next = (size * 2).min(LARGEST_BLOCK);
                let block =
                    allocate(Layout::from_size_align(size, BLOCK_ALIGN).expect("block size"));
                // SAFETY: a new block, aligned for its header and larger than it.
                unsafe {
                    block.cast::<BlockHeader>().write(BlockHeader {
                        live: AtomicUsize::new(BIAS),
                        size,
                    })
                };
                (block, BLOCK, size, 0)
            }
        };
        // SAFETY: the block is live (the arena's bias), with `need` bytes unused at `at`
        // (BLOCK + SLICE + LONGEST_IN_BLOCK ≤ FIRST_BLOCK ≤ size), `at` aligned for a slice's
        // header, and the slice's bytes `at + SLICE` (< LARGEST_BLOCK < 2^32) after the
        // block's start.
        let bytes = unsafe {
            let start = block.add(at);
            write_slice(start, (at + SLICE) as u32, data)
        };
        let used = (at + need).next_multiple_of(SLICE_ALIGN).min(size);
        self.block = Some((block, used, size, made + 1));
        bytes
    }

    /// Counts the slices made of the block being written into it, and gives up the arena's
    /// hold on it.
    fn leave_block(&mut self) {
        if let Some((block, _, _, made)) = self.block.take() {
            // SAFETY: the block is live while the arena holds its bias; of the counts
            // `BIAS - made` are the arena's, the others each a live slice's.
            unsafe { release_block(block, BIAS - made) }
        }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        self.leave_block();
    }
}

const _: () = assert!(std::mem::size_of::<Bytes>() == 16);
const _: () = assert!(std::mem::size_of::<Option<Bytes>>() == 16);
const _: () = assert!(BLOCK + SLICE + LONGEST_IN_BLOCK <= FIRST_BLOCK);
const _: () = assert!(LARGEST_BLOCK < u32::MAX as usize && LARGEST_BLOCK < BIAS);
const _: () = assert!(BLOCK % SLICE_ALIGN == 0 && BLOCK_ALIGN >= SLICE_ALIGN);

#[cfg(test)]
mod tests {
    use super::*;

    /// The block a slice of an arena is in (`None`: a slice of its own).
    fn block_of(b: &Bytes) -> Option<*const u8> {
        match b.header().back {
            0 => None,
            // SAFETY (test): the slice's block starts `back` bytes before its bytes
            back => Some(unsafe { b.ptr.as_ptr().sub(back as usize) }),
        }
    }

    fn live(block: *const u8) -> usize {
        // SAFETY (test): a block some live slice is in.
        unsafe { (*block.cast::<BlockHeader>()).live.load(Ordering::Relaxed) }
    }

    #[test]
    fn a_copy_holds_its_bytes_and_counts_its_clones() {
        let a = Bytes::from(&b"value"[..]);
        assert_eq!(&a[..], b"value");
        assert_eq!(a.handles(), 1);
        assert_eq!(block_of(&a), None);
        let b = a.clone();
        assert!(Bytes::ptr_eq(&a, &b));
        assert_eq!(a.handles(), 2);
        drop(a);
        assert_eq!(b.handles(), 1);
        assert_eq!(&b[..], b"value");
        let c = Bytes::from(&b"value"[..]);
        assert_eq!(b, c);
        assert!(!Bytes::ptr_eq(&b, &c));
    }

    #[test]
    fn empty_bytes_share_one_static_header() {
        let e = Bytes::from(&b""[..]);
        assert!(e.is_empty());
        let f = e.clone();
        assert!(Bytes::ptr_eq(&e, &f) && Bytes::ptr_eq(&e, &Bytes::default()));
        assert!(e.handles() >= 1 << 30);
        assert_eq!(block_of(&e), None);
        let mut arena = Arena::new();
        let (x, z) = (arena.copy(b""), arena.copy(b"z"));
        assert!(Bytes::ptr_eq(&x, &e) && &z[..] == b"z");
        assert!(Bytes::ptr_eq(&x.unshared(), &e));
        drop((e, f, x));
        assert!(Bytes::new().is_empty());
    }

    #[test]
    fn an_arena_writes_slices_into_shared_blocks() {
        let mut arena = Arena::new();
        let pieces: Vec<Vec<u8>> = (0..2000u32)
            .map(|i| format!("json.items.array_{i}.name={}", i * 7).into_bytes())
            .collect();
        let handles: Vec<Bytes> = pieces.iter().map(|p| arena.copy(p)).collect();
        for (p, h) in pieces.iter().zip(&handles) {
            assert_eq!(&h[..], &p[..]);
            assert_eq!(h.handles(), 1);
        }
        let blocks: Vec<*const u8> = handles.iter().map(|h| block_of(h).unwrap()).collect();
        let first = blocks[0];
        let last = *blocks.last().unwrap();
        assert!(first != last);
        // a block the arena left counts its live slices; the one it writes, its bias less
        // the slices dropped
        let in_first = blocks.iter().filter(|&&b| b == first).count();
        assert!(in_first > 10);
        assert_eq!(live(first), in_first);
        assert_eq!(live(last), BIAS);
        // a long piece is a slice of its own
        let long = vec![b'x'; LONGEST_IN_BLOCK + 1];
        let l = arena.copy(&long);
        assert_eq!(block_of(&l), None);
        assert_eq!(&l[..], &long[..]);
        let in_last = blocks.iter().filter(|&&b| b == last).count();
        drop(arena);
        assert_eq!(live(last), in_last);
        // a clone is the slice's count, not the block's
        let again = handles[0].clone();
        assert_eq!((handles[0].handles(), live(first)), (2, in_first));
        drop(again);
        // the slices outlive the arena; the blocks go with their last slice
        let kept: Vec<Bytes> = handles.iter().step_by(97).cloned().collect();
        drop(handles);
        for (k, p) in kept.iter().zip(pieces.iter().step_by(97)) {
            assert_eq!(&k[..], &p[..]);
            assert_eq!(k.handles(), 1);
        }
        assert_eq!(live(first), 1);
    }

    #[test]
    fn a_slice_dropped_while_its_block_is_written_is_counted() {
        let mut arena = Arena::new();
        let a = arena.copy(b"a");
        let block = block_of(&a).unwrap();
        drop(a);
        assert_eq!(live(block), BIAS - 1);
        let b = arena.copy(b"b");
        assert_eq!(block_of(&b), Some(block));
        drop(arena);
        assert_eq!(live(block), 1);
        assert_eq!(&b[..], b"b");
    }

    #[test]
    fn unshared_copies_a_slice_out_of_its_block() {
        let mut arena = Arena::new();
        let a = arena.copy(b"first");
        let b = arena.copy(b"second");
        let own = b.unshared();
        assert_eq!(own, b);
        assert!(!Bytes::ptr_eq(&own, &b));
        assert_eq!(block_of(&own), None);
        drop((arena, a, b));
        assert_eq!(&own[..], b"second");
        // a slice of its own is kept as it is
        let solo = Bytes::from(&b"solo"[..]);
        assert!(Bytes::ptr_eq(&solo.unshared(), &solo));
    }

    #[test]
    fn handles_cross_threads() {
        let mut arena = Arena::new();
        let handles: Vec<Bytes> = (0..500u32)
            .map(|i| arena.copy(i.to_string().as_bytes()))
            .collect();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mine: Vec<Bytes> = handles.iter().skip(t).step_by(4).cloned().collect();
                std::thread::spawn(move || {
                    mine.iter()
                        .map(|b| std::str::from_utf8(b).unwrap().parse::<u64>().unwrap())
                        .sum::<u64>()
                })
            })
            .collect();
        drop(handles);
        drop(arena);
        let sum: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(sum, (0..500).sum::<u64>());
    }

    #[test]
    fn bytes_compare_and_hash_as_their_slices() {
        use std::collections::HashMap;
        let mut m: HashMap<Bytes, u32> = HashMap::new();
        m.insert(Bytes::from(&b"k"[..]), 1);
        assert_eq!(m.get(&b"k"[..]), Some(&1));
        let empty = Bytes::default();
        let mut v = vec![
            Bytes::from(&b"b"[..]),
            Bytes::from(&b"a"[..]),
            empty.clone(),
        ];
        v.sort();
        assert_eq!(v, [empty, Bytes::from(&b"a"[..]), Bytes::from(&b"b"[..])]);
        assert_eq!(format!("{:?}", Bytes::from(&b"a"[..])), "[97]");
    }
}
