//! Appending whole records to the `SecAuditLog` file, shared by every transaction and rule
//! set of the process that names the same path (as libmodsecurity's `SharedFiles`): the file
//! is opened on first use, each record goes out in one write under the file's mutex so that
//! concurrent transactions never interleave, and any error loses that record silently (the
//! transaction never fails for its audit log). Also the few process-wide values the formats
//! need (the random boundary, `server_id`, the relevant-status regexes).

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

type Files = Mutex<HashMap<String, Arc<Mutex<Option<File>>>>>;

fn files() -> &'static Files {
    static FILES: OnceLock<Files> = OnceLock::new();
    FILES.get_or_init(|| Mutex::new(HashMap::new()))
}

fn open(path: &str) -> std::io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // libmodsecurity's default file mode for audit logs
        o.mode(0o640);
    }
    o.open(path)
}

/// Appends `record` to the file at `path`; errors drop the record (and the handle, so the
/// next record tries to open the file again).
pub(crate) fn append(path: &str, record: &[u8]) {
    let slot = {
        let mut map = match files().lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        Arc::clone(map.entry(path.to_string()).or_default())
    };
    let mut file = match slot.lock() {
        Ok(f) => f,
        Err(poisoned) => poisoned.into_inner(),
    };
    if file.is_none() {
        *file = open(path).ok();
    }
    if let Some(f) = file.as_mut() {
        // O_APPEND plus the mutex: one record, not interleaved with another
        if f.write_all(record).is_err() {
            *file = None;
        }
    }
}

/// Whether the response status matches `SecAuditLogRelevantStatus` (a regex searched in the
/// status's decimal text). The compiled regexes are kept per pattern; a pattern that does not
/// compile matches nothing.
pub(crate) fn status_matches(pattern: &str, status: u16) -> bool {
    type Cache = Mutex<HashMap<String, Option<Arc<crate::regex::Regex>>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let re = {
        let mut map = match CACHE.get_or_init(|| Mutex::new(HashMap::new())).lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(pattern.to_string())
            .or_insert_with(|| crate::regex::Regex::new(pattern).ok().map(Arc::new))
            .clone()
    };
    re.is_some_and(|re| re.is_match(status.to_string().as_bytes()))
}

/// A record's boundary: 8 characters from `[A-Za-z0-9]`, different for every record (a
/// SplitMix64 over the clock and a counter: unpredictability is not needed, only variety).
pub(crate) fn boundary() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = nanos
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut out = String::with_capacity(8);
    for _ in 0..8 {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.push(CHARS[(z % CHARS.len() as u64) as usize] as char);
    }
    out
}

/// JSON's `server_id`: libmodsecurity's is a SHA-1 of the machine's name and addresses; this
/// one is a SHA-1 of the host name, stable for a machine.
pub(crate) fn server_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        use sha1::Digest;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let digest = sha1::Sha1::digest(host.trim().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_are_eight_alphanumerics_and_vary() {
        let a = boundary();
        let b = boundary();
        assert_eq!(a.len(), 8);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn relevant_status() {
        assert!(status_matches("^5", 503));
        assert!(!status_matches("^5", 200));
        assert!(status_matches("^(?:5|4(?!04))", 403));
        assert!(!status_matches("(", 500));
    }
}
