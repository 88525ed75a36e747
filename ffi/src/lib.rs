//! # sekisho-ffi
//!
//! Will be the drop-in for libmodsecurity v3's C API (`msc_*`, SONAME `libmodsecurity.so.3`),
//! every exported function behind a panic boundary (issue "C API"). No `msc_*` function is
//! exported yet.
