//! Source locations: which file, which line, which column.
//!
//! A directive can run over several physical lines (`\` continuations). The lexer glues them into
//! one logical line and keeps a [`LineMap`] so that any byte of the logical line maps back to the
//! physical line and column it came from; errors and AST nodes carry that physical [`Span`].

use std::path::{Path, PathBuf};

/// Index of a source in a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A position in a source: file, 1-based line, 1-based column (in bytes).
///
/// Spans are location metadata: they do not take part in AST equality (`==` on two spans is
/// always true), so an AST printed and parsed again compares equal to the original.
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    pub file: FileId,
    pub line: u32,
    pub column: u32,
}

impl PartialEq for Span {
    fn eq(&self, _: &Span) -> bool {
        true
    }
}
impl Eq for Span {}

/// Consistent with `==`: every span hashes alike.
impl std::hash::Hash for Span {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl Span {
    pub fn new(file: FileId, line: u32, column: u32) -> Span {
        Span { file, line, column }
    }
}

/// The files (and in-memory texts) a configuration was read from.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    names: Vec<PathBuf>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    /// Registers a source by name (a path, or a label such as `<inline>`).
    pub fn add(&mut self, name: impl Into<PathBuf>) -> FileId {
        self.names.push(name.into());
        FileId((self.names.len() - 1) as u32)
    }

    pub fn name(&self, id: FileId) -> &Path {
        self.names
            .get(id.0 as usize)
            .map(PathBuf::as_path)
            .unwrap_or_else(|| Path::new("<unknown>"))
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &Path)> {
        self.names
            .iter()
            .enumerate()
            .map(|(i, p)| (FileId(i as u32), p.as_path()))
    }
}

/// Maps byte offsets of a logical line back to physical line and column.
#[derive(Debug, Clone, Default)]
pub(crate) struct LineMap {
    file: FileId,
    /// (offset in the logical line where a physical segment starts, its line, its start column)
    segments: Vec<(usize, u32, u32)>,
}

impl LineMap {
    pub(crate) fn new(file: FileId) -> LineMap {
        LineMap {
            file,
            segments: Vec::new(),
        }
    }

    pub(crate) fn clear(&mut self) {
        self.segments.clear();
    }

    pub(crate) fn push(&mut self, logical_offset: usize, line: u32, column: u32) {
        self.segments.push((logical_offset, line, column));
    }

    pub(crate) fn span(&self, offset: usize) -> Span {
        let idx = match self.segments.binary_search_by(|s| s.0.cmp(&offset)) {
            Ok(i) => i,
            Err(0) => 0,
            Err(i) => i - 1,
        };
        match self.segments.get(idx) {
            Some(&(start, line, col)) => {
                Span::new(self.file, line, col + offset.saturating_sub(start) as u32)
            }
            None => Span::new(self.file, 1, 1),
        }
    }
}
