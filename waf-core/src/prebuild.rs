//! What a load builds on several threads: the rules' `@rx` patterns and `@pmFromFile` phrase
//! trees are independent of each other and of the rules, and building them is most of a CRS
//! load (compiling the patterns alone is three quarters of it). Helper threads build them from
//! a queue while the loading thread compiles the rules ([`Prebuilt::run`]), which take theirs
//! with [`Prebuilt::pattern`] and [`Prebuilt::phrases`]: each is built once, by whichever
//! thread comes first, and a thread asking for one that another is building waits for it.

use crate::operators::pm::Pm;
use crate::operators::CompileContext;
use crate::regex::{CompileError, Regex};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Something a rule will ask for.
pub(crate) enum Job<'p> {
    /// A static `@rx`/`@rxGlobal` pattern.
    Pattern(&'p str),
    /// `@pmFromFile`'s argument, and the directory of the rule's file.
    Phrases(&'p str, PathBuf),
}

type PhrasesKey<'p> = (&'p str, PathBuf);

/// A phrase list and its load warnings (a data file that is a directory), or the error.
type BuiltPhrases = Result<(Pm, Vec<String>), String>;

pub(crate) struct Prebuilt<'p> {
    /// In file order: the order the loading thread asks for them.
    jobs: Vec<Job<'p>>,
    /// Where the helpers start in `jobs` ([`Self::run`]); they go round to its beginning.
    start: AtomicUsize,
    /// Jobs the helpers have taken.
    next: AtomicUsize,
    patterns: HashMap<&'p str, OnceLock<Result<Arc<Regex>, CompileError>>>,
    phrases: HashMap<PhrasesKey<'p>, OnceLock<BuiltPhrases>>,
}

/// The part of a load's work that is neither: the rules themselves, about a twentieth on CRS.
const OTHER_WORK: f64 = 0.05;

/// Below this weight of jobs a load builds them itself: starting a thread costs more than
/// a few small patterns (a server merging a location's handful of rules, the test suites).
const MIN_SHARED_WEIGHT: usize = 2000;

/// How much a job weighs, for sharing them out: a pattern's cost goes by its length; a
/// phrase file costs about what a 1 KB pattern does (CRS's).
fn weight(job: &Job<'_>) -> usize {
    match job {
        Job::Pattern(p) => p.len(),
        Job::Phrases(..) => 1000,
    }
}

impl<'p> Prebuilt<'p> {
    pub(crate) fn new(jobs: impl IntoIterator<Item = Job<'p>>) -> Prebuilt<'p> {
        let mut patterns = HashMap::new();
        let mut phrases = HashMap::new();
        let jobs = jobs
            .into_iter()
            .filter(|job| match job {
                Job::Pattern(p) => patterns.insert(*p, OnceLock::new()).is_none(),
                Job::Phrases(a, dir) => {
                    phrases.insert((*a, dir.clone()), OnceLock::new()).is_none()
                }
            })
            .collect();
        Prebuilt {
            jobs,
            start: AtomicUsize::new(0),
            next: AtomicUsize::new(0),
            patterns,
            phrases,
        }
    }

    /// [`crate::regex::shared`]`(pattern)`, compiled at most once among the threads of this
    /// load.
    pub(crate) fn pattern(&self, pattern: &str) -> Result<Arc<Regex>, CompileError> {
        match self.patterns.get(pattern) {
            Some(cell) => cell.get_or_init(|| crate::regex::shared(pattern)).clone(),
            None => crate::regex::shared(pattern),
        }
    }

    /// [`Pm::from_files`]`(argument)` for a rule in `dir`, and its load warnings, built at
    /// most once among the threads of this load.
    pub(crate) fn phrases(&self, argument: &str, dir: &Path) -> BuiltPhrases {
        let build = || {
            let mut warnings = Vec::new();
            let pm = Pm::from_files(argument, &mut CompileContext::new(dir, &mut warnings))?;
            Ok((pm, warnings))
        };
        match self.phrases.get(&(argument, dir.to_path_buf())) {
            Some(cell) => cell.get_or_init(build).clone(),
            None => build(),
        }
    }

    /// Builds queued jobs until none is left or [`Self::stop`].
    fn work(&self) {
        let start = self.start.load(Ordering::Relaxed);
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= self.jobs.len() {
                break;
            }
            match &self.jobs[(start + i) % self.jobs.len()] {
                Job::Pattern(p) => drop(self.pattern(p)),
                Job::Phrases(a, dir) => drop(self.phrases(a, dir)),
            }
        }
    }

    /// Lets the helpers take no more jobs.
    fn stop(&self) {
        self.next.store(self.jobs.len(), Ordering::Relaxed);
    }

    /// Runs `load` (the rules' compilation) on this thread with up to `threads - 1` helpers
    /// building the jobs meanwhile; they stop when it returns. A helper that cannot be started
    /// leaves its share to the others; one that panics (a bug) leaves its job to the rule that
    /// has it, which builds it again and fails the same way where the panic is caught.
    pub(crate) fn run<T>(&self, threads: usize, load: impl FnOnce() -> T) -> T {
        let total: usize = self.jobs.iter().map(weight).sum();
        let helpers = threads.min(self.jobs.len()).saturating_sub(1);
        if helpers == 0 || total < MIN_SHARED_WEIGHT {
            return load();
        }
        // The loading thread builds the jobs it reaches before the helpers do: those of the
        // first files, while the helpers start further on, where the jobs left for it make
        // its share of all the work even with theirs.
        let share = (1.0 / (helpers + 1) as f64 - OTHER_WORK).max(0.0);
        let mut before = 0;
        let start = self
            .jobs
            .iter()
            .position(|job| {
                before += weight(job);
                before as f64 > share * total as f64
            })
            .unwrap_or(0);
        self.start.store(start, Ordering::Relaxed);
        let work = || self.work();
        std::thread::scope(|s| {
            let handles = crate::parallel::spawn_helpers(s, helpers, &work);
            let out = load();
            self.stop();
            for h in handles {
                let _ = h.join();
            }
            out
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_job_is_built_once() {
        let dir = std::env::temp_dir().join(format!("sekisho-prebuild-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("words.data"), "alpha\nbeta\n").unwrap();
        // (one long enough for the helpers to be started)
        let long = format!("prebuild-test-{}", "(?:ab|c)".repeat(300));
        let patterns = [
            "prebuild-test-(a|b)+",
            "(?i)prebuild-test-c",
            "prebuild-test-(",
            "prebuild-test-(a|b)+",
            long.as_str(),
        ];
        let jobs = patterns.iter().map(|p| Job::Pattern(p)).chain([
            Job::Phrases("words.data", dir.clone()),
            Job::Phrases("words.data", dir.clone()),
        ]);
        let pre = Prebuilt::new(jobs);
        assert_eq!(
            (pre.jobs.len(), pre.patterns.len(), pre.phrases.len()),
            (5, 4, 1)
        );
        assert!(pre.jobs.iter().map(weight).sum::<usize>() >= MIN_SHARED_WEIGHT);
        let (got, pm) = pre.run(3, || {
            // the helpers work meanwhile
            (
                patterns.map(|p| pre.pattern(p)),
                pre.phrases("words.data", &dir),
            )
        });
        assert!(matches!(got[2], Err(CompileError::Invalid(_))));
        assert!(Arc::ptr_eq(
            got[0].as_ref().unwrap(),
            got[3].as_ref().unwrap()
        ));
        // each cell holds what the rules got, and another thread's ask gives the same
        for (p, g) in patterns.iter().zip(&got) {
            let held = pre.patterns[p].get().expect("built");
            assert_eq!(
                held.as_ref().ok().map(Arc::as_ptr),
                g.as_ref().ok().map(Arc::as_ptr)
            );
        }
        let again = std::thread::scope(|s| s.spawn(|| pre.pattern(patterns[1])).join().unwrap());
        assert!(Arc::ptr_eq(&again.unwrap(), got[1].as_ref().unwrap()));
        assert!(got[1].as_ref().unwrap().is_match(b"PREBUILD-TEST-C"));
        let held = pre.phrases[&("words.data", dir.clone())]
            .get()
            .expect("built");
        assert!(held.as_ref().unwrap().0.same_tree(&pm.as_ref().unwrap().0));
        // what no job names is built as usual
        assert!(pre.pattern("prebuild-test-other").is_ok());
        assert!(pre.phrases("missing.data", &dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
