//! # sekisho-ffi
//!
//! A drop-in for libmodsecurity v3's C API: the `msc_*` functions of `modsecurity/*.h`, the
//! `ModSecurityIntervention` struct, and a `RulesSet` handle whose first bytes have the layout of
//! libmodsecurity's `RulesSetProperties` (OpenLiteSpeed's module reads them). Built as a cdylib
//! with SONAME `libmodsecurity.so.3` (see `build.rs` and `scripts/build-ffi.sh`), so the nginx
//! connector loads it unchanged; built as a staticlib for OpenLiteSpeed, which links
//! `libmodsecurity.a`.
//!
//! Modules: [`engine`] (`msc_init`, log callback, version), [`rules`] (`msc_rules_*`, the
//! `RulesSet` layout), [`transaction`] (`msc_new_transaction`, `msc_process_*`,
//! `msc_intervention`). This file holds what they share: the panic boundary and the C-heap
//! string helpers.
//!
//! ## The boundary
//!
//! Every exported function body runs inside [`ffi_boundary!`]: a panic is caught there and turned
//! into the function's documented error value (`-1`/`0`/NULL/nothing), so no unwinding crosses
//! into C. NULL pointer arguments return the same error value. Strings handed to the caller
//! (`*error`, `ModSecurityIntervention::url`/`log`) are allocated with the C library's
//! `malloc`, because connectors release them with `free()`.
//!
//! ## Version
//!
//! The library identifies as the libmodsecurity release whose API it implements:
//! `msc_who_am_i` returns `"ModSecurity v3.0.15 (Linux)"` and the headers define
//! `MODSECURITY_VERSION "3.0.15"`, `MODSECURITY_VERSION_NUM 30150100`. Connectors compare those
//! numbers to choose features (nginx: `>= 304010` → `rules_set.h`, `msc_set_request_hostname`
//! for 3.0.13+), and all functions of 3.0.15 are present, so claiming 3.0.15 is the honest
//! value for them. [`SEKISHO_VERSION`] names the engine behind it.

#![allow(clippy::missing_safety_doc)]

pub mod engine;
pub mod rules;
pub mod transaction;

#[cfg(test)]
mod tests;

use std::ffi::{c_char, c_void, CStr};

/// libmodsecurity version implemented (`MODSECURITY_VERSION` in the headers).
pub const MODSECURITY_VERSION: &str = "3.0.15";
/// `MODSECURITY_VERSION_NUM` in the headers (major, minor, 2-digit patch, tag number 0100).
pub const MODSECURITY_VERSION_NUM: u32 = 30150100;
/// The Sekisho crate version this library was built from.
pub const SEKISHO_VERSION: &str = env!("CARGO_PKG_VERSION");

extern "C" {
    fn malloc(size: usize) -> *mut c_void;
    fn free(ptr: *mut c_void);
}

/// Runs `$body` under `catch_unwind`; on a panic returns `$err` instead. Every `extern "C"`
/// function of this crate is written as `ffi_boundary!(ERR, { ... })`, and returns `ERR` early
/// for NULL arguments, so the error value of each function is stated once, at its top.
#[macro_export]
macro_rules! ffi_boundary {
    ($err:expr, $body:block) => {{
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(v) => v,
            Err(_) => $err,
        }
    }};
}

/// A copy of `s` in memory from C's `malloc`, NUL-terminated (interior NULs become `\x00`
/// text), for the caller to `free()`. NULL if `malloc` fails.
pub(crate) fn c_strdup(s: &str) -> *mut c_char {
    let escaped;
    let s = if s.contains('\0') {
        escaped = s.replace('\0', "\\x00");
        escaped.as_str()
    } else {
        s
    };
    // SAFETY: malloc of len+1 bytes; we write exactly len bytes plus the terminator.
    unsafe {
        let p = malloc(s.len() + 1) as *mut u8;
        if p.is_null() {
            return std::ptr::null_mut();
        }
        std::ptr::copy_nonoverlapping(s.as_ptr(), p, s.len());
        *p.add(s.len()) = 0;
        p as *mut c_char
    }
}

/// Releases a string from [`c_strdup`] (or any `malloc`'d pointer); NULL is ignored.
pub(crate) unsafe fn c_free(p: *mut c_void) {
    if !p.is_null() {
        free(p);
    }
}

/// The bytes of a NUL-terminated C string, or `None` for NULL.
pub(crate) unsafe fn c_bytes<'a>(p: *const c_char) -> Option<&'a [u8]> {
    if p.is_null() {
        None
    } else {
        Some(CStr::from_ptr(p).to_bytes())
    }
}

/// A NUL-terminated C string as text (invalid UTF-8 replaced), or `None` for NULL.
pub(crate) unsafe fn c_text(p: *const c_char) -> Option<String> {
    c_bytes(p).map(|b| String::from_utf8_lossy(b).into_owned())
}

/// `len` bytes at `p`; an empty slice for `len == 0`, `None` for NULL with `len > 0`.
pub(crate) unsafe fn c_slice<'a>(p: *const u8, len: usize) -> Option<&'a [u8]> {
    if len == 0 {
        Some(&[])
    } else if p.is_null() {
        None
    } else {
        Some(std::slice::from_raw_parts(p, len))
    }
}
