//! Load-time work spread over the machine's cores: a configuration's files parse
//! independently of each other ([`crate::Loader`]), and a rule set's regexes and automata build
//! independently (Sekisho's engine), which is most of a load. Requests never use this.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Threads a load uses: `SEKISHO_LOAD_THREADS` (1: the caller's alone), else the machine's
/// cores, up to 4 (past that the sequential rest of a load dominates).
pub fn threads() -> usize {
    std::env::var("SEKISHO_LOAD_THREADS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(4)))
        .max(1)
}

/// Runs `work` on this thread and on up to `threads - 1` helpers started in `scope`; returns
/// the helpers to join. A helper that cannot be started leaves its share to the others.
pub fn spawn_helpers<'scope, F: Fn() + Send + Sync + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    helpers: usize,
    work: &'scope F,
) -> Vec<std::thread::ScopedJoinHandle<'scope, ()>> {
    (0..helpers)
        .filter_map(|_| {
            std::thread::Builder::new()
                .name("sekisho-load".into())
                // the main thread's: a pattern's recursive descent fits where it did
                .stack_size(8 << 20)
                .spawn_scoped(scope, work)
                .ok()
        })
        .collect()
}

/// `items.iter().map(f).collect()`, the items shared among [`threads`] threads when `worth`
/// it (the caller's judgement: for a few small items, starting a thread costs more than the
/// work). A panic in `f` is raised again here, as the sequential map would raise it.
pub fn map<T: Sync, R: Send>(items: &[T], worth: bool, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let helpers = threads().min(items.len()).saturating_sub(1);
    if helpers == 0 || !worth {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Vec::with_capacity(items.len()));
    let work = || {
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            mine.push((i, f(item)));
        }
        if let Ok(mut d) = done.lock() {
            d.extend(mine);
        }
    };
    std::thread::scope(|s| {
        let handles = spawn_helpers(s, helpers, &work);
        work();
        for h in handles {
            if let Err(panic) = h.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn map_keeps_the_order() {
        let items: Vec<u64> = (0..500).collect();
        // uneven work, so that the threads finish out of order
        let out = super::map(&items, true, |&i| {
            (0..(i % 7) * 1000).fold(i, |x, _| std::hint::black_box(x))
        });
        assert_eq!(out, items);
    }
}
