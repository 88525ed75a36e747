//! A hasher for the engine's own hash tables, whose keys are a few machine words: a cache's
//! `(pointer, length, chain)`, a collection's name hashes ([`crate::collection`]); and for the
//! load's tables of the rules' literals. SipHash cost more than the lookups it served. (Names
//! a request chooses can be made to fall in one bucket; the collection's index says what that
//! costs.)

use std::hash::Hasher;

/// The multiplier (an odd constant with its bits spread: FxHash's).
const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// A multiply-fold hasher for keys of a few machine words (the default SipHash costs more
/// than the lookups it serves).
#[derive(Debug, Default)]
pub(crate) struct KeyHasher(u64);

impl KeyHasher {
    /// A hasher that starts from this process's secret (drawn once from std's random keys),
    /// for a table of texts a request chooses: without the secret, texts cannot be chosen to
    /// fall in one bucket.
    pub(crate) fn keyed() -> KeyHasher {
        static SECRET: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        let secret = SECRET.get_or_init(|| {
            use std::hash::BuildHasher;
            std::collections::hash_map::RandomState::new().hash_one(0x5e_c1_5a_u64)
        });
        KeyHasher(*secret)
    }

    /// The [`KeyHasher::keyed`] hash of `bytes` written as [`KeyHasher::write_words`] writes
    /// them with `set` (texts a request chose, in tables that may outlive it).
    pub(crate) fn text_hash(bytes: &[u8], set: u64) -> u64 {
        let mut h = KeyHasher::keyed();
        h.write_words(bytes, set);
        h.finish()
    }

    /// `bytes` as little-endian words, the last one padded with zeros, each with the bits of
    /// `set` set (0: as they are; 0x20 in each byte: ASCII case aside).
    pub(crate) fn write_words(&mut self, bytes: &[u8], set: u64) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.write_u64(u64::from_le_bytes(b) | set);
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            self.write_u64(last_word(bytes, rest.len()) | set);
        }
    }
}

/// The last `rest` (1 to 7) bytes of `bytes` as a little-endian word padded with zeros, read
/// in place: copied to a zeroed word on the stack, they were read back as one word right
/// after the byte-wise stores, which the processor could not forward (a stall at every
/// short text a request's tables hashed).
#[inline(always)]
fn last_word(bytes: &[u8], rest: usize) -> u64 {
    let n = bytes.len();
    if n >= 8 {
        // the word that ends the text, shifted down past the bytes hashed already
        let w = u64::from_le_bytes(bytes[n - 8..].try_into().expect("8 bytes"));
        return w >> (8 * (8 - rest));
    }
    // a text shorter than a word: two reads that overlap, or meet, in the middle
    let four = |at: usize| u64::from(u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4")));
    let two = |at: usize| u64::from(u16::from_le_bytes(bytes[at..at + 2].try_into().expect("2")));
    match n {
        4..=7 => four(0) | (four(n - 4) << (8 * (n - 4))),
        2..=3 => two(0) | (two(n - 2) << (8 * (n - 2))),
        _ => u64::from(bytes[0]),
    }
}

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    /// Eight bytes at a time (the load's literal tables hash thousands of phrases).
    fn write(&mut self, bytes: &[u8]) {
        self.write_words(bytes, 0);
    }
    fn write_u64(&mut self, n: u64) {
        // a folded multiply (the product's high half onto its low half): a difference in a
        // word's high bytes reaches every bit. A plain multiply carries a difference only
        // upwards: texts differing in a word's last byte and in the next word's first hashed
        // alike (432 of the 20,000 `text N` of the test below).
        let product = u128::from(self.0 ^ n) * u128::from(K);
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
}

#[cfg(test)]
mod tests {
    use super::KeyHasher;
    use std::collections::HashSet;

    proptest::proptest! {
        /// The last word read in place is the text's last bytes copied into a zeroed word.
        #[test]
        fn the_last_word_is_the_padded_rest(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..40)) {
            let rest = bytes.len() % 8;
            if rest > 0 {
                let mut padded = [0u8; 8];
                padded[..rest].copy_from_slice(&bytes[bytes.len() - rest..]);
                proptest::prop_assert_eq!(super::last_word(&bytes, rest), u64::from_le_bytes(padded));
            }
        }
    }

    /// Texts that differ in the high byte of one word and the low byte of the next hash apart
    /// (a multiply-rotate hasher gave 432 of them another's hash).
    #[test]
    fn numbered_texts_hash_apart() {
        let hashes: HashSet<(u64, usize)> = (0..20_000)
            .map(|i| format!("text {i}"))
            .map(|t| {
                (
                    KeyHasher::text_hash(t.as_bytes(), 0x2020_2020_2020_2020),
                    t.len(),
                )
            })
            .collect();
        assert_eq!(hashes.len(), 20_000);
    }
}
