//! A list of slices kept end to end in one buffer: CRS gives the matcher ~7,000 literals and
//! their owners, and the phrase lists ~6,000 phrases; a vector each cost more than the data.

/// Slices of `T`, one after the other, with where each ends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Ragged<T> {
    items: Vec<T>,
    ends: Vec<u32>,
}

impl<T> Default for Ragged<T> {
    fn default() -> Self {
        Ragged {
            items: Vec::new(),
            ends: Vec::new(),
        }
    }
}

impl<T: Clone> Ragged<T> {
    /// Appends a slice.
    pub fn push(&mut self, slice: &[T]) {
        self.items.extend_from_slice(slice);
        self.ends.push(self.items.len() as u32);
    }
}

impl<T> Ragged<T> {
    /// Slice `i`.
    pub fn get(&self, i: usize) -> &[T] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.items[start..self.ends[i] as usize]
    }

    /// How many slices.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// All the items, of every slice.
    pub fn items_len(&self) -> usize {
        self.items.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &[T]> {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Frees the room the buffers do not use.
    pub fn shrink_to_fit(&mut self) {
        self.items.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::Ragged;

    #[test]
    fn slices_come_back_as_pushed() {
        let mut r = Ragged::default();
        r.push(b"ab");
        r.push(b"");
        r.push(b"cde");
        assert_eq!(r.len(), 3);
        assert_eq!(r.items_len(), 5);
        assert_eq!(r.iter().collect::<Vec<_>>(), [&b"ab"[..], b"", b"cde"]);
    }
}
