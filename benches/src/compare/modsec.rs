//! libmodsecurity v3 through its C API, loaded at run time with `dlopen`.
//!
//! The library is opened with `RTLD_NOW | RTLD_LOCAL` from a path, so the same driver runs
//! Debian's 3.0.9, the PyPI wheel's 3.0.15 and Sekisho's own drop-in (`libmodsecurity.so.3` from
//! `scripts/build-ffi.sh`) without linking any of them. `dlopen`/`dlsym` are declared here rather
//! than taken from a crate: they are the only foreign functions needed besides `free`.
//!
//! Transactions are driven as the nginx connector drives them (see `tests/oracle/txn.c`): after
//! every step `msc_intervention` is asked, and a disruptive one stops the request there, leaving
//! only `msc_process_logging`.

use super::engine::{Engine, Prepared, Sink};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::Path;

#[link(name = "dl")]
extern "C" {
    fn dlopen(filename: *const c_char, flag: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn dlclose(handle: *mut c_void) -> c_int;
    fn dlerror() -> *mut c_char;
}

extern "C" {
    /// libmodsecurity hands out `strdup`ed strings (intervention url/log, load errors): they go
    /// back to libc, not to Rust's allocator.
    fn free(p: *mut c_void);
}

const RTLD_NOW: c_int = 2;
const RTLD_LOCAL: c_int = 0;

/// `ModSecurityIntervention` (intervention.h; the same in 3.0.9 and 3.0.15).
#[repr(C)]
struct Intervention {
    status: c_int,
    pause: c_int,
    url: *mut c_char,
    log: *mut c_char,
    disruptive: c_int,
}

type Msc = c_void;
type RulesSet = c_void;
type Txn = c_void;
type LogCb = unsafe extern "C" fn(*mut c_void, *const c_void);

/// Declares [`Api`], the `msc_*` functions the benchmark calls, and `Api::resolve`, which looks
/// each one up with `dlsym` and gives it its prototype from the C headers.
macro_rules! api {
    ($($field:ident: $sym:literal => $ty:ty,)*) => {
        struct Api {
            $($field: $ty,)*
        }

        impl Api {
            /// # Safety
            /// `handle` is a live `dlopen` handle of a libmodsecurity v3 API.
            unsafe fn resolve(handle: *mut c_void) -> Result<Api, String> {
                Ok(Api {
                    $($field: {
                        let p = dlsym(handle, concat!($sym, "\0").as_ptr() as *const c_char);
                        if p.is_null() {
                            return Err(format!("no symbol {}", $sym));
                        }
                        std::mem::transmute::<*mut c_void, $ty>(p)
                    },)*
                })
            }
        }
    };
}

api! {
    init: "msc_init" => unsafe extern "C" fn() -> *mut Msc,
    set_log_cb: "msc_set_log_cb" => unsafe extern "C" fn(*mut Msc, LogCb),
    who_am_i: "msc_who_am_i" => unsafe extern "C" fn(*mut Msc) -> *const c_char,
    cleanup: "msc_cleanup" => unsafe extern "C" fn(*mut Msc),
    create_rules_set: "msc_create_rules_set" => unsafe extern "C" fn() -> *mut RulesSet,
    rules_add_file: "msc_rules_add_file" =>
        unsafe extern "C" fn(*mut RulesSet, *const c_char, *mut *const c_char) -> c_int,
    rules_cleanup: "msc_rules_cleanup" => unsafe extern "C" fn(*mut RulesSet) -> c_int,
    new_transaction: "msc_new_transaction" =>
        unsafe extern "C" fn(*mut Msc, *mut RulesSet, *mut c_void) -> *mut Txn,
    process_connection: "msc_process_connection" =>
        unsafe extern "C" fn(*mut Txn, *const c_char, c_int, *const c_char, c_int) -> c_int,
    process_uri: "msc_process_uri" =>
        unsafe extern "C" fn(*mut Txn, *const c_char, *const c_char, *const c_char) -> c_int,
    add_n_request_header: "msc_add_n_request_header" =>
        unsafe extern "C" fn(*mut Txn, *const u8, usize, *const u8, usize) -> c_int,
    process_request_headers: "msc_process_request_headers" => unsafe extern "C" fn(*mut Txn) -> c_int,
    append_request_body: "msc_append_request_body" =>
        unsafe extern "C" fn(*mut Txn, *const u8, usize) -> c_int,
    process_request_body: "msc_process_request_body" => unsafe extern "C" fn(*mut Txn) -> c_int,
    add_n_response_header: "msc_add_n_response_header" =>
        unsafe extern "C" fn(*mut Txn, *const u8, usize, *const u8, usize) -> c_int,
    process_response_headers: "msc_process_response_headers" =>
        unsafe extern "C" fn(*mut Txn, c_int, *const c_char) -> c_int,
    process_response_body: "msc_process_response_body" => unsafe extern "C" fn(*mut Txn) -> c_int,
    intervention: "msc_intervention" => unsafe extern "C" fn(*mut Txn, *mut Intervention) -> c_int,
    process_logging: "msc_process_logging" => unsafe extern "C" fn(*mut Txn) -> c_int,
    transaction_cleanup: "msc_transaction_cleanup" => unsafe extern "C" fn(*mut Txn),
}

/// A libmodsecurity opened from a path, with its `ModSecurity` instance and loaded rule sets.
pub struct ModSec {
    handle: *mut c_void,
    api: Api,
    msc: *mut Msc,
    rules: Vec<*mut RulesSet>,
}

fn last_dl_error() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated string owned by libc.
    unsafe {
        let e = dlerror();
        if e.is_null() {
            "unknown dlopen error".into()
        } else {
            CStr::from_ptr(e).to_string_lossy().into_owned()
        }
    }
}

/// The log callback: `data` is the transaction's [`Sink`] (NULL for configuration-time messages,
/// which go to stderr so a load problem is seen).
unsafe extern "C" fn log_cb(data: *mut c_void, msg: *const c_void) {
    if msg.is_null() {
        return;
    }
    let text = CStr::from_ptr(msg as *const c_char);
    if data.is_null() {
        eprintln!("config-log: {}", text.to_string_lossy());
        return;
    }
    let sink = &mut *(data as *mut Sink);
    sink.line(|| text.to_string_lossy().into_owned());
}

impl ModSec {
    /// Opens the library at `path` and runs `msc_init` (with the log callback set).
    pub fn open(path: &Path) -> Result<ModSec, String> {
        let cpath = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
        // SAFETY: dlopen with a NUL-terminated path; the handle is checked.
        let handle = unsafe { dlopen(cpath.as_ptr(), RTLD_NOW | RTLD_LOCAL) };
        if handle.is_null() {
            return Err(format!("dlopen {}: {}", path.display(), last_dl_error()));
        }
        // SAFETY: a live handle; a missing symbol is an error.
        let api = match unsafe { Api::resolve(handle) } {
            Ok(api) => api,
            Err(e) => {
                // SAFETY: nothing from the library is in use yet.
                unsafe { dlclose(handle) };
                return Err(format!("{}: {e}", path.display()));
            }
        };
        // SAFETY: the functions were resolved above; msc_init returns an owned instance.
        let msc = unsafe {
            let msc = (api.init)();
            if msc.is_null() {
                dlclose(handle);
                return Err("msc_init returned NULL".into());
            }
            (api.set_log_cb)(msc, log_cb);
            msc
        };
        Ok(ModSec {
            handle,
            api,
            msc,
            rules: Vec::new(),
        })
    }

    /// `msc_who_am_i`: `ModSecurity v3.0.9 (Linux)`.
    pub fn version(&self) -> String {
        // SAFETY: the string is owned by the instance and NUL-terminated.
        unsafe {
            let p = (self.api.who_am_i)(self.msc);
            if p.is_null() {
                return "?".into();
            }
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    }

    /// Takes a pending intervention (freeing its strings); its status and log line.
    unsafe fn take_intervention(&self, t: *mut Txn, sink: &mut Sink) -> Option<u16> {
        let mut it = Intervention {
            status: 200,
            pause: 0,
            url: std::ptr::null_mut(),
            log: std::ptr::null_mut(),
            disruptive: 0,
        };
        if (self.api.intervention)(t, &mut it) == 0 {
            return None;
        }
        if !it.log.is_null() {
            let log = CStr::from_ptr(it.log);
            sink.intervention_log(|| log.to_string_lossy().into_owned());
            free(it.log as *mut c_void);
        }
        if !it.url.is_null() {
            free(it.url as *mut c_void);
        }
        Some(it.status as u16)
    }
}

impl Engine for ModSec {
    fn load(&mut self, conf: &Path) -> Result<usize, String> {
        let cpath = CString::new(conf.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
        // SAFETY: a fresh rule set; the error string, if any, is libc-allocated and freed here.
        unsafe {
            let rules = (self.api.create_rules_set)();
            let mut err: *const c_char = std::ptr::null();
            let n = (self.api.rules_add_file)(rules, cpath.as_ptr(), &mut err);
            if n < 0 {
                let msg = if err.is_null() {
                    "unknown error".into()
                } else {
                    let m = CStr::from_ptr(err).to_string_lossy().into_owned();
                    free(err as *mut c_void);
                    m
                };
                (self.api.rules_cleanup)(rules);
                return Err(msg);
            }
            self.rules.push(rules);
            Ok(n as usize)
        }
    }

    fn unload_all_but_first(&mut self) {
        for r in self.rules.drain(1..) {
            // SAFETY: each rule set was created by this library and is not used after.
            unsafe {
                (self.api.rules_cleanup)(r);
            }
        }
    }

    fn run(&mut self, p: &Prepared, sink: &mut Sink) -> u16 {
        let api = &self.api;
        let req = &p.req;
        let rules = self.rules[0];
        // SAFETY: the transaction lives between new_transaction and transaction_cleanup; every
        // pointer passed stays valid for the call; `sink` outlives the transaction.
        unsafe {
            let t = (api.new_transaction)(self.msc, rules, sink as *mut Sink as *mut c_void);
            let status = 'request: {
                (api.process_connection)(
                    t,
                    c"127.0.0.1".as_ptr(),
                    40000,
                    c"127.0.0.1".as_ptr(),
                    80,
                );
                if let Some(s) = self.take_intervention(t, sink) {
                    break 'request s;
                }
                (api.process_uri)(t, p.uri.as_ptr(), p.method.as_ptr(), p.version.as_ptr());
                if let Some(s) = self.take_intervention(t, sink) {
                    break 'request s;
                }
                for (n, v) in &req.headers {
                    (api.add_n_request_header)(t, n.as_ptr(), n.len(), v.as_ptr(), v.len());
                }
                (api.process_request_headers)(t);
                if let Some(s) = self.take_intervention(t, sink) {
                    break 'request s;
                }
                if !req.body.is_empty() {
                    (api.append_request_body)(t, req.body.as_ptr(), req.body.len());
                    if let Some(s) = self.take_intervention(t, sink) {
                        break 'request s;
                    }
                }
                (api.process_request_body)(t);
                if let Some(s) = self.take_intervention(t, sink) {
                    break 'request s;
                }
                let (n, v) = super::engine::RESPONSE_HEADER;
                (api.add_n_response_header)(t, n.as_ptr(), n.len(), v.as_ptr(), v.len());
                (api.process_response_headers)(t, 200, c"HTTP 1.1".as_ptr());
                if let Some(s) = self.take_intervention(t, sink) {
                    break 'request s;
                }
                (api.process_response_body)(t);
                if let Some(s) = self.take_intervention(t, sink) {
                    break 'request s;
                }
                200
            };
            (api.process_logging)(t);
            let _ = self.take_intervention(t, sink);
            (api.transaction_cleanup)(t);
            status
        }
    }
}

impl Drop for ModSec {
    fn drop(&mut self) {
        // SAFETY: everything was made by this library. The handle is not dlclose'd: a C++
        // library's static destructors may run at unload, and the process ends right after.
        unsafe {
            for r in self.rules.drain(..) {
                (self.api.rules_cleanup)(r);
            }
            (self.api.cleanup)(self.msc);
        }
        let _ = self.handle;
    }
}
