//! The engine handle (`ModSecurity *`): `msc_init`, `msc_who_am_i`, `msc_set_connector_info`,
//! `msc_set_log_cb`, `msc_cleanup`.
//!
//! The handle only carries what transactions need from it: the log callback. Rule sets are
//! independent of it, as in libmodsecurity.

use crate::ffi_boundary;
use std::ffi::{c_char, c_void, CStr};
use std::sync::Mutex;

/// `ModSecLogCb`: `(logCbData, line)`; `line` is a NUL-terminated `const char *`.
pub type ModSecLogCb = Option<unsafe extern "C" fn(*mut c_void, *const c_void)>;

/// `msc_who_am_i`'s answer, libmodsecurity's format (see the crate docs for the choice).
static WHO_AM_I: &CStr = c"ModSecurity v3.0.15 (Linux)";

/// The `ModSecurity` handle of the C API (opaque to C).
#[derive(Debug, Default)]
pub struct ModSecurity {
    log_cb: Mutex<ModSecLogCb>,
    connector: Mutex<Option<String>>,
}

impl ModSecurity {
    /// The log callback in force (read when a transaction is created, as libmodsecurity does).
    pub(crate) fn log_cb(&self) -> ModSecLogCb {
        *self.log_cb.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What `msc_set_connector_info` recorded.
    pub fn connector_info(&self) -> Option<String> {
        self.connector
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// `ModSecurity *msc_init(void)`: a new engine handle; NULL only if a panic was caught.
#[no_mangle]
pub extern "C" fn msc_init() -> *mut ModSecurity {
    ffi_boundary!(std::ptr::null_mut(), {
        Box::into_raw(Box::<ModSecurity>::default())
    })
}

/// `const char *msc_who_am_i(ModSecurity *)`: `"ModSecurity v3.0.15 (Linux)"`, a static string;
/// NULL for a NULL handle.
#[no_mangle]
pub unsafe extern "C" fn msc_who_am_i(msc: *mut ModSecurity) -> *const c_char {
    ffi_boundary!(std::ptr::null(), {
        if msc.is_null() {
            return std::ptr::null();
        }
        WHO_AM_I.as_ptr()
    })
}

/// `void msc_set_connector_info(ModSecurity *, const char *)`: recorded; NULLs are ignored.
#[no_mangle]
pub unsafe extern "C" fn msc_set_connector_info(msc: *mut ModSecurity, connector: *const c_char) {
    ffi_boundary!((), {
        let (Some(ms), Some(info)) = (msc.as_ref(), crate::c_text(connector)) else {
            return;
        };
        *ms.connector.lock().unwrap_or_else(|e| e.into_inner()) = Some(info);
    })
}

/// `void msc_set_log_cb(ModSecurity *, ModSecLogCb)`: the callback for rule-match log lines
/// of transactions created afterwards (NULL callback: no logging). Intervention logs are not
/// sent to it (they come back through `msc_intervention`).
#[no_mangle]
pub unsafe extern "C" fn msc_set_log_cb(msc: *mut ModSecurity, cb: ModSecLogCb) {
    ffi_boundary!((), {
        if let Some(ms) = msc.as_ref() {
            *ms.log_cb.lock().unwrap_or_else(|e| e.into_inner()) = cb;
        }
    })
}

/// `void msc_cleanup(ModSecurity *)`: frees the handle; NULL is ignored. Transactions created
/// from it keep working (they copied the callback).
#[no_mangle]
pub unsafe extern "C" fn msc_cleanup(msc: *mut ModSecurity) {
    ffi_boundary!((), {
        if !msc.is_null() {
            drop(Box::from_raw(msc));
        }
    })
}
