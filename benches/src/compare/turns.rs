//! Turns: the engines' workers run one at a time, in short alternating turns.
//!
//! The machines this runs on are shared: the same binary's median moves by half from one run to
//! the next as neighbours come and go. Run one engine's whole workload and then the other's,
//! and each sees different neighbours: a ratio of the two medians then measures the neighbours
//! as much as the engines (one set of runs gave 6.5x to 17x on the same code). So every
//! worker of a rule set is started at once, and each stops before every step — a load, a
//! workload's verdict pass, [`TURN_REQUESTS`] timed requests — until the driver says go; the
//! driver gives the turns round the workers, one worker running at a time (the others wait on a
//! pipe, using no CPU), in reversed order every other cycle. Each engine's samples are then
//! spread over the same stretch of time as the other's. The time between a worker's turns is
//! not in its samples: a transaction is timed from its start to its end, in thread CPU time.
//! Each turn runs its first request once untimed before the timed ones, for every engine: the
//! other engine's turn leaves the processor's caches cold, and a workload of one request was
//! otherwise a cold start in every sample.
//!
//! A worker waits for its turn spinning (polling its stdin without blocking) when there is a
//! core for every worker ([`Turns::spin`]): a worker that blocked let its core go idle for the
//! whole of the other engine's turn — ~250 ms of libmodsecurity's 100 requests against ~5 ms of
//! Sekisho's — and a core (a virtual machine's vCPU above all) comes back from idling slow for
//! milliseconds: on a 2-core VM, sleeping 250 ms every 100 requests made Sekisho's median on
//! CRS's regression inputs 29–46% dearer (35 → 45–56 µs), spinning as long 5–15%. Blocking,
//! the turns charged that to the faster engine, which idles the most (Sekisho alone in
//! `compare`: 44 µs on the regression inputs, 54 µs on the benign set; in turns with 3.0.15:
//! 66–69 µs and 92–99 µs).
//!
//! The worker side is [`Turns`]; the driver side [`Worker`] and [`run_in_turns`]. A worker run
//! by hand (`compare --worker ...`) takes no turns.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;

/// Timed requests per turn: a few tens of milliseconds for Sekisho on CRS's regression inputs,
/// under a second for libmodsecurity, so both engines' samples come from the same seconds.
pub const TURN_REQUESTS: usize = 100;

/// What a worker prints when it stops for its turn, and what the driver answers.
const TURN: &str = "turn";
const GO: &str = "go";

/// The worker's side: stops before each step when the driver runs it in turns; `spin`: waits
/// spinning, its core kept busy (see the module's doc).
pub struct Turns {
    pub on: bool,
    pub spin: bool,
}

impl Turns {
    /// Says `turn` on `out` and waits for the driver's `go` on stdin. An error when the driver
    /// has gone (stdin closed): the worker stops.
    pub fn wait(&self, out: &mut impl Write) -> Result<(), String> {
        if !self.on {
            return Ok(());
        }
        writeln!(out, "{TURN}")
            .and_then(|_| out.flush())
            .map_err(|e| format!("telling the driver: {e}"))?;
        if self.spin {
            wait_readable(0);
        }
        let mut line = String::new();
        match std::io::stdin().read_line(&mut line) {
            Ok(_) if line.trim_end() == GO => Ok(()),
            Ok(_) => Err("the driver stopped giving turns".into()),
            Err(e) => Err(format!("waiting for the driver: {e}")),
        }
    }
}

/// `struct pollfd` (Linux).
#[repr(C)]
struct PollFd {
    fd: i32,
    events: i16,
    revents: i16,
}

const POLLIN: i16 = 1;

extern "C" {
    fn poll(fds: *mut PollFd, nfds: u64, timeout: i32) -> i32;
}

/// Returns once `fd` has something to read (or an error or hang-up to report), polling it
/// without blocking in the meantime. The driver writes a worker's `go` only after the worker
/// asked for it, so nothing is ever left in stdin's buffer that the poll would not see.
fn wait_readable(fd: i32) {
    loop {
        let mut p = PollFd {
            fd,
            events: POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, a timeout of 0 (no wait).
        let n = unsafe { poll(&mut p, 1, 0) };
        if n != 0 {
            // readable, hung up, or an error: the read that follows says which
            return;
        }
        std::hint::spin_loop();
    }
}

/// Whether workers waiting for their turns spin (see the module's doc): when each of
/// `workers` has a core of its own, and `SEKISHO_COMPARE_BLOCK` is not set.
pub fn spin_while_waiting(workers: usize) -> bool {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    workers <= cores && std::env::var_os("SEKISHO_COMPARE_BLOCK").is_none()
}

/// The driver's side of one worker process.
pub struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr: Option<JoinHandle<String>>,
    /// Everything the worker printed but its `turn` lines.
    output: String,
}

/// A worker's end: its exit status, what it printed (less the `turn` lines), its stderr.
pub struct Finished {
    pub status: std::io::Result<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Worker {
    /// Starts `cmd` (a `compare --worker ...` command) with pipes on its three streams; its
    /// stderr is read on a thread of its own, so a worker that writes much there never blocks.
    pub fn spawn(mut cmd: Command) -> std::io::Result<Worker> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let (stdin, stdout, mut stderr) = (
            child.stdin.take(),
            child.stdout.take().expect("piped stdout"),
            child.stderr.take().expect("piped stderr"),
        );
        let stderr = std::thread::spawn(move || {
            let mut s = Vec::new();
            std::io::Read::read_to_end(&mut stderr, &mut s).ok();
            String::from_utf8_lossy(&s).into_owned()
        });
        Ok(Worker {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            stderr: Some(stderr),
            output: String::new(),
        })
    }

    /// Reads the worker's lines up to its next `turn`: `true` when it stopped there, `false`
    /// when it ended (or its stdout failed).
    fn run_to_turn(&mut self) -> bool {
        let mut line = String::new();
        loop {
            line.clear();
            match self.stdout.read_line(&mut line) {
                Ok(0) | Err(_) => return false,
                Ok(_) if line.trim_end() == TURN => return true,
                Ok(_) => self.output.push_str(&line),
            }
        }
    }

    /// Gives the worker its turn and waits for the next; `false` when it ended.
    fn take_turn(&mut self) -> bool {
        let told = match self.stdin.as_mut() {
            Some(s) => writeln!(s, "{GO}").and_then(|_| s.flush()).is_ok(),
            None => false,
        };
        told && self.run_to_turn()
    }

    /// Waits for the worker to end (its stdin closed first, so one still waiting stops).
    pub fn finish(mut self) -> Finished {
        self.stdin = None;
        // what it printed after its last turn, if the driver stopped early
        while self.run_to_turn() {}
        let status = self.child.wait();
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        Finished {
            status,
            stdout: std::mem::take(&mut self.output),
            stderr,
        }
    }
}

/// Runs `workers` (all started with turns on) until each has ended: one at a time, one turn
/// each per cycle, in reversed order every other cycle (A B, B A, A B...), so neither always
/// follows the other.
pub fn run_in_turns(workers: &mut [Worker]) {
    let mut waiting: Vec<bool> = workers.iter_mut().map(Worker::run_to_turn).collect();
    let mut reversed = false;
    while waiting.iter().any(|&w| w) {
        let n = workers.len();
        for k in 0..n {
            let i = if reversed { n - 1 - k } else { k };
            if waiting[i] {
                waiting[i] = workers[i].take_turn();
            }
        }
        reversed = !reversed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker written in shell: prints a line, then takes `turns` turns, writing its name and
    /// the turn number into a shared file in each.
    fn shell_worker(name: &str, turns: usize, log: &std::path::Path) -> Worker {
        let script = format!(
            "echo hello {name}; i=0; while [ $i -lt {turns} ]; do echo turn; read go || exit 3; \
             [ \"$go\" = go ] || exit 4; echo {name}$i >> {log}; echo did {name}$i; \
             i=$((i+1)); done",
            log = log.display()
        );
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script);
        Worker::spawn(cmd).unwrap()
    }

    #[test]
    fn workers_take_turns_one_at_a_time_in_alternating_order() {
        let dir = std::env::temp_dir().join(format!("sekisho-turns-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        let mut workers = vec![shell_worker("a", 3, &log), shell_worker("b", 2, &log)];
        run_in_turns(&mut workers);
        let order = std::fs::read_to_string(&log).unwrap();
        // a b | b a | a (b has ended)
        assert_eq!(
            order.split_whitespace().collect::<Vec<_>>(),
            ["a0", "b0", "b1", "a1", "a2"]
        );
        let done: Vec<Finished> = workers.into_iter().map(Worker::finish).collect();
        assert!(done.iter().all(|f| f.status.as_ref().unwrap().success()));
        assert_eq!(done[0].stdout, "hello a\ndid a0\ndid a1\ndid a2\n");
        assert_eq!(done[1].stdout, "hello b\ndid b0\ndid b1\n");
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A spinning wait returns when its descriptor has something to read, not before, and
    /// when the writer has gone.
    #[test]
    fn a_spinning_wait_returns_when_there_is_something_to_read() {
        use std::io::Read;
        use std::os::unix::io::AsRawFd;
        use std::os::unix::net::UnixStream;
        let (mut reader, mut writer) = UnixStream::pair().unwrap();
        let started = std::time::Instant::now();
        let late = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            writer.write_all(b"go\n").unwrap();
            writer
        });
        wait_readable(reader.as_raw_fd());
        assert!(started.elapsed() >= std::time::Duration::from_millis(90));
        let mut got = [0u8; 3];
        reader.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"go\n");
        // the writer gone: a hang-up, reported at once
        drop(late.join().unwrap());
        wait_readable(reader.as_raw_fd());
        assert_eq!(reader.read(&mut got).unwrap(), 0);
    }

    #[test]
    fn a_worker_that_dies_ends_its_turns_and_the_others_go_on() {
        let dir = std::env::temp_dir().join(format!("sekisho-turns-d-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("echo turn; read go; echo oops >&2; exit 7");
        let mut workers = vec![Worker::spawn(cmd).unwrap(), shell_worker("b", 2, &log)];
        run_in_turns(&mut workers);
        let mut done = workers.into_iter().map(Worker::finish);
        let dead = done.next().unwrap();
        assert_eq!(dead.status.unwrap().code(), Some(7));
        assert_eq!(dead.stderr, "oops\n");
        assert!(done.next().unwrap().status.unwrap().success());
        std::fs::remove_dir_all(&dir).ok();
    }
}
