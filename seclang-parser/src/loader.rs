//! Reading configuration files: `Include`/`IncludeOptional` expansion (globs, paths relative to
//! the including file, cycle detection) and the all-or-nothing result.

use crate::ast::{Directive, DirectiveKind};
use crate::error::{Error, Errors};
use crate::span::{FileId, SourceMap, Span};
use std::path::{Path, PathBuf};

/// Deeper include nesting than this is reported as an error (it is a cycle in practice).
const MAX_INCLUDE_DEPTH: usize = 64;

/// A configuration read without errors: every directive of every file, includes expanded in
/// place (the `Include` directives themselves are not kept).
#[derive(Debug, Clone)]
pub struct Config {
    pub sources: SourceMap,
    pub directives: Vec<Directive>,
    pub stats: Stats,
    /// Accepted as libmodsecurity accepts it, but probably not what was meant.
    pub warnings: Vec<Error>,
    /// The directory relative paths were resolved from ([`Loader::current_dir`]), if set.
    pub current_dir: Option<PathBuf>,
}

/// Counts for the `rules check` summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Files read (top-level and included).
    pub files: usize,
    /// Directives read, `Include`s and chained `SecRule`s included.
    pub directives: usize,
    /// Rules as libmodsecurity counts them: `SecRule`/`SecAction`/`SecRuleScript`, a chain
    /// counting once.
    pub rules: usize,
    /// `SecMarker`s.
    pub markers: usize,
}

impl Stats {
    /// What libmodsecurity's `msc_rules_add*` returns for the same files: each rule counts
    /// once, each `SecMarker` seven times (it places a copy in each of its seven internal
    /// phases).
    pub fn libmodsecurity_count(&self) -> usize {
        self.rules + 7 * self.markers
    }
}

/// Reads configuration files and texts; collects every error; [`Loader::finish`] returns the
/// whole configuration or, if anything failed, only the errors.
#[derive(Debug, Default)]
pub struct Loader {
    sources: SourceMap,
    directives: Vec<Directive>,
    errors: Vec<Error>,
    warnings: Vec<Error>,
    /// The phase of each `SecDefaultAction` seen: one per phase per configuration.
    default_action_phases: Vec<(u8, Span)>,
    /// Canonical paths of the files being read, outermost first.
    stack: Vec<PathBuf>,
    files: usize,
    directive_count: usize,
    /// Where a relative `Include` is tried first ("as given"); the process's current directory
    /// when `None`.
    current_dir: Option<PathBuf>,
}

impl Loader {
    pub fn new() -> Loader {
        Loader::default()
    }

    /// Resolves relative `Include`s against `dir` first (instead of the process's current
    /// directory), as libmodsecurity would if the server ran in `dir`.
    pub fn current_dir(&mut self, dir: &Path) -> &mut Loader {
        self.current_dir = Some(dir.to_path_buf());
        self
    }

    /// Reads a file (and what it includes).
    pub fn add_file(&mut self, path: &Path) -> &mut Loader {
        let id = self.sources.add(path);
        match std::fs::read(path) {
            Ok(bytes) => self.read_source(id, path, &bytes, None, None),
            Err(e) => self.errors.push(Error::new(
                Span::new(id, 1, 1),
                format!("cannot read file: {e}"),
                "",
            )),
        }
        self
    }

    /// Reads rules given as text. `name` labels the errors; relative `Include`s are resolved
    /// against `base_dir` (the current directory when `None`).
    pub fn add_str(&mut self, name: &str, text: &str, base_dir: Option<&Path>) -> &mut Loader {
        let id = self.sources.add(name);
        let base = base_dir.map(|d| d.join(name));
        let origin = base.unwrap_or_else(|| PathBuf::from(name));
        self.read_source(id, &origin, text.as_bytes(), None, None);
        self
    }

    /// Everything read, or every error found.
    pub fn finish(mut self) -> Result<Config, Errors> {
        self.check_duplicate_ids();
        if !self.errors.is_empty() {
            return Err(Errors {
                sources: self.sources,
                errors: self.errors,
            });
        }
        let rules = crate::rule_count(&self.directives);
        let markers = self
            .directives
            .iter()
            .filter(|d| matches!(d.kind, DirectiveKind::Marker(_)))
            .count();
        Ok(Config {
            sources: self.sources,
            directives: self.directives,
            warnings: self.warnings,
            current_dir: self.current_dir,
            stats: Stats {
                files: self.files,
                directives: self.directive_count,
                rules,
                markers,
            },
        })
    }

    /// Reads one file's text (already `parsed` when it was prefetched).
    fn read_source(
        &mut self,
        id: FileId,
        path: &Path,
        bytes: &[u8],
        include_span: Option<Span>,
        parsed: Option<crate::Parsed>,
    ) {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if self.stack.contains(&canonical) || self.stack.len() >= MAX_INCLUDE_DEPTH {
            let mut chain: Vec<String> = self
                .stack
                .iter()
                .skip_while(|p| **p != canonical)
                .map(|p| p.display().to_string())
                .collect();
            chain.push(canonical.display().to_string());
            let span = include_span.unwrap_or(Span::new(id, 1, 1));
            self.errors.push(Error::new(
                span,
                format!("include cycle: {}", chain.join(" -> ")),
                "",
            ));
            return;
        }
        self.files += 1;
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let good = &bytes[..e.valid_up_to()];
                let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
                let col =
                    good.len() - good.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
                self.errors.push(Error::new(
                    Span::new(id, line as u32, col as u32),
                    "the file is not valid UTF-8",
                    "",
                ));
                return;
            }
        };
        self.stack.push(canonical);
        let parsed = parsed.unwrap_or_else(|| crate::parse_source(text, id));
        self.errors.extend(parsed.errors);
        self.warnings.extend(parsed.warnings);
        let mut included = self.prefetch(path, &parsed.directives).into_iter();
        for d in parsed.directives {
            self.directive_count += 1;
            match &d.kind {
                DirectiveKind::Include {
                    path: pattern,
                    optional,
                } => {
                    if let Some(files) = included.next() {
                        self.include(pattern, *optional, d.span, files);
                    }
                }
                DirectiveKind::DefaultAction(actions) => {
                    self.check_default_action_phase(actions, d.span);
                    self.directives.push(d);
                }
                _ => self.directives.push(d),
            }
        }
        self.stack.pop();
    }

    /// Two `SecRule`s (chain starters) with one id: libmodsecurity refuses the load. (It lets
    /// `SecAction`s share ids; so does this check.)
    fn check_duplicate_ids(&mut self) {
        let mut seen: std::collections::HashMap<u64, Span> = std::collections::HashMap::new();
        let mut chained = false;
        for d in &self.directives {
            let DirectiveKind::Rule(rule) = &d.kind else {
                continue;
            };
            let child = chained;
            chained = rule.is_chain_start();
            if child {
                continue;
            }
            let Some(id) = rule.id() else { continue };
            if let Some(first) = seen.get(&id) {
                let first_at =
                    format!("{}:{}", self.sources.name(first.file).display(), first.line);
                self.errors.push(Error::new(
                    d.span,
                    format!("rule id {id} is duplicated (first at {first_at})"),
                    "",
                ));
            } else {
                seen.insert(id, d.span);
            }
        }
    }

    /// libmodsecurity allows one `SecDefaultAction` per phase (phase 1 when none is named).
    fn check_default_action_phase(&mut self, actions: &[crate::ast::Action], span: Span) {
        let phase = actions
            .iter()
            .find_map(|a| match a.argument {
                crate::ast::ActionArgument::Phase(p) => Some(p),
                _ => None,
            })
            .unwrap_or(1);
        if let Some((_, first)) = self.default_action_phases.iter().find(|(p, _)| *p == phase) {
            self.errors.push(Error::new(
                span,
                format!(
                    "SecDefaultAction for phase {phase} was already given (at line {}); one per phase",
                    first.line
                ),
                "",
            ));
        } else {
            self.default_action_phases.push((phase, span));
        }
    }

    /// For each `Include` among `directives` (of the file `from`), in order: the files it
    /// names, each read and parsed, the parsing spread over the load's threads (CRS's rule
    /// files are 2 MB of text; a connector includes each). A file is parsed even if its
    /// `Include` will find it in an include cycle; nothing of it is kept then.
    fn prefetch(&mut self, from: &Path, directives: &[crate::Directive]) -> Vec<Included> {
        let expanded: Vec<Result<Vec<PathBuf>, String>> = directives
            .iter()
            .filter_map(|d| match &d.kind {
                DirectiveKind::Include { path: pattern, .. } => {
                    Some(expand(self.current_dir.as_deref(), from, pattern))
                }
                _ => None,
            })
            .collect();
        let mut included: Vec<Included> = expanded
            .into_iter()
            .map(|files| {
                files.map(|files| {
                    files
                        .into_iter()
                        .map(|path| Prefetched {
                            id: self.sources.add(&path),
                            read: std::fs::read(&path),
                            path,
                            parsed: None,
                        })
                        .collect()
                })
            })
            .collect();
        // (each file's text, or `None` for one that will be reported unreadable)
        let texts: Vec<Option<(FileId, &str)>> = included
            .iter()
            .flatten()
            .flatten()
            .map(|p| Some((p.id, std::str::from_utf8(p.read.as_ref().ok()?).ok()?)))
            .collect();
        let size: usize = texts.iter().flatten().map(|(_, t)| t.len()).sum();
        let parsed = crate::parallel::map(&texts, size >= 64 * 1024, |t| {
            t.map(|(id, text)| crate::parse_source(text, id))
        });
        for (p, parsed) in included.iter_mut().flatten().flatten().zip(parsed) {
            p.parsed = parsed;
        }
        included
    }

    fn include(&mut self, pattern: &str, optional: bool, span: Span, files: Included) {
        let files = match files {
            Ok(files) => files,
            Err(message) => {
                self.errors.push(Error::new(span, message, pattern));
                return;
            }
        };
        if files.is_empty() {
            if !optional {
                self.errors.push(Error::new(
                    span,
                    format!("Include: no file matches '{pattern}'"),
                    pattern,
                ));
            }
            return;
        }
        for file in files {
            match file.read {
                Ok(bytes) => self.read_source(file.id, &file.path, &bytes, Some(span), file.parsed),
                Err(e) if optional && e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => self.errors.push(Error::new(
                    span,
                    format!("cannot read '{}': {e}", file.path.display()),
                    pattern,
                )),
            }
        }
    }
}

/// A file an `Include` names, read (and parsed) before the `Include` is reached.
struct Prefetched {
    id: FileId,
    path: PathBuf,
    read: std::io::Result<Vec<u8>>,
    parsed: Option<crate::Parsed>,
}

/// What one `Include` names (or why its pattern is refused).
type Included = Result<Vec<Prefetched>, String>;

/// The files an include pattern names, sorted. A relative pattern is tried as given (against
/// the current directory) and then against the including file's directory, in libmodsecurity's
/// order.
fn expand(cwd: Option<&Path>, from: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    let candidates: Vec<PathBuf> = if Path::new(pattern).is_absolute() {
        vec![PathBuf::from(pattern)]
    } else {
        let dir = from.parent().unwrap_or(Path::new(""));
        let as_given = match cwd {
            Some(c) => c.join(pattern),
            None => PathBuf::from(pattern),
        };
        vec![as_given, dir.join(pattern)]
    };
    let is_glob = pattern.contains(['*', '?', '[']);
    for candidate in &candidates {
        if !is_glob {
            if candidate.is_file() {
                return Ok(vec![candidate.clone()]);
            }
            continue;
        }
        let text = candidate.to_string_lossy();
        let paths = glob::glob(&text).map_err(|e| format!("Include: invalid glob: {e}"))?;
        let mut files: Vec<PathBuf> = paths
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        if !files.is_empty() {
            files.sort();
            return Ok(files);
        }
    }
    if is_glob {
        Ok(Vec::new())
    } else {
        // Not found anywhere: report the path relative to the including file.
        Ok(vec![candidates[candidates.len() - 1].clone()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Included files large enough to be parsed on several threads come out as if read one
    /// after the other: directives in include order, each error at its own file and line.
    #[test]
    fn prefetched_files_keep_their_order_and_positions() {
        let dir = std::env::temp_dir().join(format!("sekisho-prefetch-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("rules")).unwrap();
        // (each file ~30 KB of comments, so that together they pass the threshold)
        let padding = "# padding\n".repeat(3000);
        for (i, name) in ["a", "b", "c", "d"].iter().enumerate() {
            let mut text = format!("{padding}SecMarker {name}\n");
            if i == 2 {
                text.push_str("SecNoSuchDirective x\n");
            }
            text.push_str(&format!("SecMarker {name}-end\n"));
            std::fs::write(dir.join("rules").join(format!("{name}.conf")), text).unwrap();
        }
        std::fs::write(
            dir.join("main.conf"),
            "SecMarker first\nInclude rules/*.conf\nSecMarker last\n",
        )
        .unwrap();
        let mut loader = Loader::new();
        loader.add_file(&dir.join("main.conf"));
        let errors = loader
            .finish()
            .expect_err("c.conf has an unknown directive");
        assert_eq!(errors.errors.len(), 1);
        let e = &errors.errors[0];
        assert!(errors.sources.name(e.span.file).ends_with("rules/c.conf"));
        assert_eq!(e.span.line, 3002);
        std::fs::write(dir.join("rules/c.conf"), format!("{padding}SecMarker c\n")).unwrap();
        let mut loader = Loader::new();
        loader.add_file(&dir.join("main.conf"));
        let config = loader.finish().unwrap();
        let markers: Vec<String> = config
            .directives
            .iter()
            .map(|d| match &d.kind {
                DirectiveKind::Marker(m) => {
                    let file = config.sources.name(d.span.file);
                    format!(
                        "{m}@{}:{}",
                        file.file_name().unwrap().to_string_lossy(),
                        d.span.line
                    )
                }
                _ => String::new(),
            })
            .collect();
        assert_eq!(
            markers,
            [
                "first@main.conf:1",
                "a@a.conf:3001",
                "a-end@a.conf:3002",
                "b@b.conf:3001",
                "b-end@b.conf:3002",
                "c@c.conf:3001",
                "d@d.conf:3001",
                "d-end@d.conf:3002",
                "last@main.conf:3",
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
