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
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(b) | set);
        }
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
