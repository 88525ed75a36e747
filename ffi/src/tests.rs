//! Unit tests through the exported functions, as a C caller uses them.

use crate::engine::*;
use crate::rules::*;
use crate::transaction::*;
use std::ffi::{c_char, c_void, CStr, CString};
use std::mem::offset_of;
use std::ptr::{null, null_mut};

extern "C" {
    fn free(p: *mut c_void);
}

/// Log callback: pushes the line onto the `Vec<String>` behind `data`.
unsafe extern "C" fn collect(data: *mut c_void, line: *const c_void) {
    let lines = &mut *(data as *mut Vec<String>);
    lines.push(
        CStr::from_ptr(line as *const c_char)
            .to_string_lossy()
            .into_owned(),
    );
}

fn cs(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn fresh_it() -> ModSecurityIntervention {
    ModSecurityIntervention {
        status: 200,
        pause: 0,
        url: null_mut(),
        log: null_mut(),
        disruptive: 0,
    }
}

/// Adds `text`; Ok(count) or Err(error text, freed here).
unsafe fn add(rules: *mut RulesSet, text: &str) -> Result<i32, String> {
    let mut err: *const c_char = null();
    let t = cs(text);
    let n = msc_rules_add(rules, t.as_ptr(), &mut err);
    if n < 0 {
        assert!(!err.is_null());
        let msg = CStr::from_ptr(err).to_string_lossy().into_owned();
        msc_rules_error_cleanup(err);
        Err(msg)
    } else {
        assert!(err.is_null(), "error untouched on success");
        Ok(n)
    }
}

const DENY: &str = "SecRuleEngine On\n\
    SecRule ARGS \"@rx (?i)union\\s+select\" \"id:1001,phase:1,deny,status:403,log,msg:'SQLi'\"\n";

#[test]
fn rules_set_layout_matches_libmodsecurity() {
    // x86_64 offsets of RulesSetProperties in libmodsecurity 3.0.9 / 3.0.13+ (connectors.md).
    assert_eq!(offset_of!(RulesSetProperties, audit_log), 0x00);
    assert_eq!(
        offset_of!(RulesSetProperties, request_body_limit_action),
        0x08
    );
    assert_eq!(
        offset_of!(RulesSetProperties, response_body_limit_action),
        0x0c
    );
    assert_eq!(
        offset_of!(RulesSetProperties, sec_request_body_access),
        0x10
    );
    assert_eq!(
        offset_of!(RulesSetProperties, sec_response_body_access),
        0x14
    );
    assert_eq!(
        offset_of!(RulesSetProperties, sec_xml_external_entity),
        0x18
    );
    assert_eq!(
        offset_of!(RulesSetProperties, tmp_save_uploaded_files),
        0x1c
    );
    assert_eq!(offset_of!(RulesSetProperties, upload_keep_files), 0x20);
    assert_eq!(offset_of!(RulesSetProperties, arguments_limit), 0x28);
    assert_eq!(
        offset_of!(RulesSetProperties, request_body_json_depth_limit),
        0x38
    );
    assert_eq!(offset_of!(RulesSetProperties, request_body_limit), 0x48);
    assert_eq!(
        offset_of!(RulesSetProperties, request_body_no_files_limit),
        0x58
    );
    assert_eq!(offset_of!(RulesSetProperties, response_body_limit), 0x68);
    assert_eq!(offset_of!(ConfigDouble, value), 8);
    assert_eq!(
        offset_of!(RulesSetProperties, request_body_limit) + offset_of!(ConfigDouble, value),
        0x50
    );
    assert_eq!(
        offset_of!(RulesSetProperties, response_body_limit) + offset_of!(ConfigDouble, value),
        0x70
    );
    assert_eq!(offset_of!(RulesSetProperties, upload_file_limit), 0x78);
    assert_eq!(offset_of!(RulesSetProperties, upload_file_mode), 0x80);
    assert_eq!(offset_of!(RulesSetProperties, debug_log), 0x88);
    assert_eq!(
        offset_of!(RulesSetProperties, remote_rules_action_on_failed),
        0x90
    );
    assert_eq!(offset_of!(RulesSetProperties, sec_rule_engine), 0x94);
    assert_eq!(std::mem::size_of::<RulesSetProperties>(), 0x98);
    assert_eq!(offset_of!(RulesSet, properties), 0);
    assert_eq!(std::mem::size_of::<ModSecurityIntervention>(), 32);
    assert_eq!(offset_of!(ModSecurityIntervention, url), 8);
    assert_eq!(offset_of!(ModSecurityIntervention, log), 16);
    assert_eq!(offset_of!(ModSecurityIntervention, disruptive), 24);
}

#[test]
fn properties_follow_adds_as_raw_memory() {
    unsafe {
        let rules = msc_create_rules_set();
        let base = rules as *const u8;
        let read_i = |off: usize| *(base.add(off) as *const i32);
        let read_d = |off: usize| *(base.add(off) as *const f64);
        assert_eq!(read_i(0x10), PROPERTY_NOT_SET_CONFIG_BOOLEAN);
        assert_eq!(read_d(0x50), 0.0);
        add(
            rules,
            "SecRequestBodyAccess On\nSecResponseBodyAccess Off\nSecRequestBodyLimit 13107200\n",
        )
        .unwrap();
        assert_eq!(read_i(0x10), TRUE_CONFIG_BOOLEAN);
        assert_eq!(read_i(0x14), FALSE_CONFIG_BOOLEAN);
        assert_eq!(read_d(0x50), 13107200.0);
        assert_eq!(read_d(0x70), 0.0);
        // A merge brings the other set's settings (later wins).
        let other = msc_create_rules_set();
        add(
            other,
            "SecResponseBodyAccess On\nSecResponseBodyLimit 524288\nSecRuleEngine DetectionOnly\n",
        )
        .unwrap();
        let mut err: *const c_char = null();
        assert_eq!(msc_rules_merge(rules, other, &mut err), 0);
        assert_eq!(read_i(0x14), TRUE_CONFIG_BOOLEAN);
        assert_eq!(read_d(0x70), 524288.0);
        assert_eq!(read_i(0x94), DETECTION_ONLY_RULE_ENGINE);
        assert_eq!(msc_rules_cleanup(other), 1);
        assert_eq!(msc_rules_cleanup(rules), 1);
    }
}

#[test]
fn merge_into_an_empty_set_takes_the_rules_as_built() {
    unsafe {
        let parent = msc_create_rules_set();
        assert_eq!(
            add(parent, &format!("SecRequestBodyAccess On\n{DENY}")),
            Ok(1)
        );
        // a location without rules of its own inherits: no compile, the same rules
        let child = msc_create_rules_set();
        let mut err: *const c_char = null();
        assert_eq!(msc_rules_merge(child, parent, &mut err), 1);
        assert!(std::sync::Arc::ptr_eq(
            &(*child).compiled(),
            &(*parent).compiled()
        ));
        assert_eq!(
            *((child as *const u8).add(0x10) as *const i32),
            TRUE_CONFIG_BOOLEAN
        );
        // merging an empty set changes nothing; adding to the child compiles both sources
        let empty = msc_create_rules_set();
        assert_eq!(msc_rules_merge(child, empty, &mut err), 0);
        assert_eq!(
            add(child, "SecRule ARGS \"@rx b\" \"id:77,phase:2,deny\""),
            Ok(1)
        );
        assert!(!std::sync::Arc::ptr_eq(
            &(*child).compiled(),
            &(*parent).compiled()
        ));
        assert_eq!((*child).compiled().rule_count(), 2);
        assert_eq!((*parent).compiled().rule_count(), 1);
        for r in [empty, child, parent] {
            assert_eq!(msc_rules_cleanup(r), 1);
        }
    }
}

#[test]
fn add_counts_like_libmodsecurity_and_accumulates() {
    unsafe {
        let rules = msc_create_rules_set();
        assert_eq!(add(rules, DENY), Ok(1));
        // A chain counts once, a SecMarker seven times.
        let more = "SecRule ARGS \"@rx a\" \"id:2,phase:2,pass,chain\"\n\
                    SecRule ARGS \"@rx b\" \"t:none\"\n\
                    SecMarker END\n\
                    SecAction \"id:3,phase:2,pass,nolog\"\n";
        assert_eq!(add(rules, more), Ok(1 + 7 + 1));
        // A duplicate SecRule id across adds fails and loads nothing (libmodsecurity checks
        // SecRule ids only).
        let dup = add(
            rules,
            "SecAction \"id:4,phase:2,pass\"\nSecRule ARGS \"@rx c\" \"id:1001,phase:2,pass\"\n",
        );
        assert!(dup.is_err(), "{dup:?}");
        assert_eq!(add(rules, "SecAction \"id:4,phase:2,pass\"\n"), Ok(1));
        assert_eq!(msc_rules_cleanup(rules), 1);
    }
}

#[test]
fn error_string_is_malloced_and_located() {
    unsafe {
        let rules = msc_create_rules_set();
        let e = add(rules, "SecRuleEngine On\nSecFoo bar\n").unwrap_err();
        assert!(
            e.starts_with(
                "Rules error. File: <<reference missing or not informed>>. Line: 2. Column: "
            ),
            "{e}"
        );
        // libc free() is accepted too.
        let mut err: *const c_char = null();
        let path = cs("/nonexistent/sekisho.conf");
        assert_eq!(msc_rules_add_file(rules, path.as_ptr(), &mut err), -1);
        let msg = CStr::from_ptr(err).to_string_lossy().into_owned();
        assert!(msg.contains("/nonexistent/sekisho.conf"), "{msg}");
        free(err as *mut c_void);
        // Remote rules: an error, never a download.
        let mut err: *const c_char = null();
        let (k, u) = (cs("key"), cs("https://example.com/rules.conf"));
        assert_eq!(
            msc_rules_add_remote(rules, k.as_ptr(), u.as_ptr(), &mut err),
            -1
        );
        assert!(!err.is_null());
        msc_rules_error_cleanup(err);
        // A NULL error pointer is allowed.
        let bad = cs("SecFoo");
        assert_eq!(msc_rules_add(rules, bad.as_ptr(), null_mut()), -1);
        msc_rules_cleanup(rules);
    }
}

#[test]
fn add_file_resolves_and_counts() {
    let dir = std::env::temp_dir().join(format!("sekisho-ffi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rules.conf");
    std::fs::write(&file, DENY).unwrap();
    unsafe {
        let rules = msc_create_rules_set();
        let p = cs(file.to_str().unwrap());
        let mut err: *const c_char = null();
        assert_eq!(msc_rules_add_file(rules, p.as_ptr(), &mut err), 1);
        msc_rules_cleanup(rules);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn deny_transaction_gives_403_and_logs() {
    unsafe {
        let ms = msc_init();
        let who = CStr::from_ptr(msc_who_am_i(ms)).to_str().unwrap();
        assert_eq!(who, "ModSecurity v3.0.15 (Linux)");
        let conn = cs("sekisho-ffi-test");
        msc_set_connector_info(ms, conn.as_ptr());
        msc_set_log_cb(ms, Some(collect));
        let rules = msc_create_rules_set();
        // A logging, non-disruptive rule: its line goes to the callback (the deny's line
        // only to the intervention, as in libmodsecurity).
        assert_eq!(
            add(rules, "SecRule REQUEST_HEADERS:Host \"@rx example\" \"id:1000,phase:1,pass,log,msg:'seen'\"\n"),
            Ok(1)
        );
        assert_eq!(add(rules, DENY), Ok(1));

        let mut lines: Vec<String> = Vec::new();
        let id = cs("test-id-1");
        let t = msc_new_transaction_with_id(
            ms,
            rules,
            id.as_ptr() as *mut c_char,
            &mut lines as *mut Vec<String> as *mut c_void,
        );
        assert!(!t.is_null());
        let (c, s) = (cs("10.0.0.1"), cs("10.0.0.2"));
        assert_eq!(
            msc_process_connection(t, c.as_ptr(), 4000, s.as_ptr(), 80),
            1
        );
        let mut it = fresh_it();
        assert_eq!(msc_intervention(t, &mut it), 0);
        let (u, m, v) = (cs("/?q=1%20UNION%20SELECT%20pw"), cs("GET"), cs("1.1"));
        assert_eq!(msc_process_uri(t, u.as_ptr(), m.as_ptr(), v.as_ptr()), 1);
        let (hk, hv) = (b"Host", b"example.com");
        assert_eq!(
            msc_add_n_request_header(t, hk.as_ptr(), hk.len(), hv.as_ptr(), hv.len()),
            1
        );
        assert_eq!(msc_process_request_headers(t), 1);
        assert_eq!(msc_intervention(t, &mut it), 1);
        assert_eq!(it.status, 403);
        assert_eq!(it.disruptive, 1);
        assert!(it.url.is_null());
        assert!(!it.log.is_null());
        let log = CStr::from_ptr(it.log).to_string_lossy().into_owned();
        assert!(log.contains("[id \"1001\"]"), "{log}");
        assert!(!log.contains("%d"), "{log}");
        // The caller frees with libc free(); then it is reset: nothing pending.
        free(it.log as *mut c_void);
        let mut it2 = fresh_it();
        assert_eq!(msc_intervention(t, &mut it2), 0);
        assert_eq!(it2.status, 200);
        assert!(it2.log.is_null());

        assert!(
            lines.iter().any(|l| l.contains("[id \"1000\"]")),
            "log callback lines: {lines:?}"
        );
        assert!(
            !lines.iter().any(|l| l.contains("[id \"1001\"]")),
            "intervention log sent to the callback: {lines:?}"
        );
        assert_eq!(msc_get_rules_messages_size(t), 2);
        let mut ids = [0i64; 4];
        assert_eq!(msc_get_rules_messages_rule_ids(t, ids.as_mut_ptr(), 4), 2);
        assert_eq!(&ids[..2], &[1000, 1001]);
        assert_eq!(msc_get_rules_messages_rule_ids(t, ids.as_mut_ptr(), 1), 1);
        assert_eq!(msc_update_status_code(t, 403), 1);
        assert_eq!(msc_process_logging(t), 1);
        msc_transaction_cleanup(t);
        // Rules freed before the engine; the transaction already kept its Arc.
        assert_eq!(msc_rules_cleanup(rules), 1);
        msc_cleanup(ms);
    }
}

#[test]
fn transaction_outlives_rule_set_and_later_adds_do_not_change_it() {
    unsafe {
        let ms = msc_init();
        let rules = msc_create_rules_set();
        add(rules, "SecRuleEngine On\n").unwrap();
        let t = msc_new_transaction(ms, rules, null_mut());
        add(rules, DENY).unwrap();
        assert_eq!(msc_rules_cleanup(rules), 1);
        let (u, m, v) = (cs("/?q=union select"), cs("GET"), cs("1.1"));
        msc_process_uri(t, u.as_ptr(), m.as_ptr(), v.as_ptr());
        msc_process_request_headers(t);
        let mut it = fresh_it();
        assert_eq!(
            msc_intervention(t, &mut it),
            0,
            "created before the deny rule"
        );
        msc_transaction_cleanup(t);
        msc_cleanup(ms);
    }
}

#[test]
fn bodies_and_lengths() {
    unsafe {
        let ms = msc_init();
        let rules = msc_create_rules_set();
        add(
            rules,
            "SecRuleEngine On\nSecRequestBodyAccess On\nSecResponseBodyAccess On\n",
        )
        .unwrap();
        let t = msc_new_transaction(ms, rules, null_mut());
        let body = b"a=1&b=2";
        assert_eq!(msc_append_request_body(t, body.as_ptr(), body.len()), 1);
        assert_eq!(msc_process_request_body(t), 1);
        assert_eq!(msc_get_request_body_length(t), body.len());
        let (k, v) = (cs("Content-Type"), cs("text/html"));
        assert_eq!(
            msc_add_response_header(t, k.as_ptr() as *const u8, v.as_ptr() as *const u8),
            1
        );
        let p = cs("HTTP 1.1");
        assert_eq!(msc_process_response_headers(t, 200, p.as_ptr()), 1);
        let rb = b"<html>hi</html>";
        assert_eq!(msc_append_response_body(t, rb.as_ptr(), rb.len()), 1);
        assert_eq!(msc_process_response_body(t), 1);
        assert_eq!(msc_get_response_body_length(t), rb.len());
        let got = CStr::from_ptr(msc_get_response_body(t));
        assert_eq!(got.to_bytes(), rb);
        // Body from a file.
        let path = std::env::temp_dir().join(format!("sekisho-ffi-body-{}", std::process::id()));
        std::fs::write(&path, b"x=1").unwrap();
        let t2 = msc_new_transaction(ms, rules, null_mut());
        let cp = cs(path.to_str().unwrap());
        assert_eq!(msc_request_body_from_file(t2, cp.as_ptr()), 1);
        assert_eq!(msc_get_request_body_length(t2), 3);
        let missing = cs("/nonexistent/body");
        assert_eq!(msc_request_body_from_file(t2, missing.as_ptr()), 0);
        let _ = std::fs::remove_file(&path);
        msc_transaction_cleanup(t2);
        msc_transaction_cleanup(t);
        msc_rules_cleanup(rules);
        msc_cleanup(ms);
    }
}

#[test]
fn null_arguments_return_error_values() {
    unsafe {
        let t: *mut Transaction = null_mut();
        let s = cs("x");
        assert!(msc_who_am_i(null_mut()).is_null());
        msc_set_connector_info(null_mut(), s.as_ptr());
        msc_set_log_cb(null_mut(), None);
        msc_cleanup(null_mut());
        assert_eq!(msc_rules_add(null_mut(), s.as_ptr(), null_mut()), -1);
        assert_eq!(msc_rules_add_file(null_mut(), null(), null_mut()), -1);
        assert_eq!(msc_rules_merge(null_mut(), null_mut(), null_mut()), -1);
        msc_rules_dump(null_mut());
        assert_eq!(msc_rules_cleanup(null_mut()), 0);
        msc_rules_error_cleanup(null());
        assert!(msc_new_transaction(null_mut(), null_mut(), null_mut()).is_null());
        assert!(
            msc_new_transaction_with_id(null_mut(), null_mut(), null_mut(), null_mut()).is_null()
        );
        assert_eq!(msc_process_connection(t, s.as_ptr(), 1, s.as_ptr(), 2), 0);
        assert_eq!(msc_process_uri(t, s.as_ptr(), s.as_ptr(), s.as_ptr()), 0);
        assert_eq!(msc_add_request_header(t, null(), null()), 0);
        assert_eq!(msc_add_n_request_header(t, null(), 0, null(), 0), 0);
        assert_eq!(msc_process_request_headers(t), 0);
        assert_eq!(msc_append_request_body(t, null(), 0), 0);
        assert_eq!(msc_request_body_from_file(t, null()), 0);
        assert_eq!(msc_process_request_body(t), 0);
        assert_eq!(msc_add_response_header(t, null(), null()), 0);
        assert_eq!(msc_add_n_response_header(t, null(), 0, null(), 0), 0);
        assert_eq!(msc_process_response_headers(t, 200, null()), 0);
        assert_eq!(msc_update_status_code(t, 200), 0);
        assert_eq!(msc_append_response_body(t, null(), 0), 0);
        assert_eq!(msc_process_response_body(t), 0);
        assert!(msc_get_response_body(t).is_null());
        assert_eq!(msc_get_response_body_length(t), 0);
        assert_eq!(msc_get_request_body_length(t), 0);
        assert_eq!(msc_process_logging(t), 0);
        assert_eq!(msc_intervention(t, null_mut()), 0);
        msc_intervention_cleanup(null_mut());
        assert_eq!(msc_set_request_hostname(t, null()), 0);
        assert_eq!(msc_get_rules_messages_size(t), 0);
        assert_eq!(msc_get_rules_messages_rule_ids(t, null_mut(), 4), 0);
        msc_transaction_cleanup(t);

        // NULL arguments on a live transaction.
        let ms = msc_init();
        let rules = msc_create_rules_set();
        let live = msc_new_transaction(ms, rules, null_mut());
        assert_eq!(msc_process_connection(live, null(), 1, null(), 2), 0);
        assert_eq!(msc_process_uri(live, null(), null(), null()), 0);
        assert_eq!(msc_add_n_request_header(live, null(), 3, null(), 3), 0);
        assert_eq!(msc_append_request_body(live, null(), 10), 0);
        assert_eq!(msc_process_response_headers(live, -1, null()), 0);
        assert_eq!(msc_intervention(live, null_mut()), 0);
        let mut it = fresh_it();
        it.log = crate::c_strdup("x");
        msc_intervention_cleanup(&mut it);
        assert!(it.log.is_null());
        msc_transaction_cleanup(live);
        msc_rules_cleanup(rules);
        msc_cleanup(ms);
    }
}

#[test]
fn out_of_order_and_odd_sequences_do_not_panic() {
    // A deterministic pseudo-random walk over the transaction API, with odd arguments.
    unsafe {
        let ms = msc_init();
        msc_set_log_cb(ms, Some(collect));
        let rules = msc_create_rules_set();
        add(rules, DENY).unwrap();
        add(rules, "SecRequestBodyAccess On\nSecResponseBodyAccess On\nSecRequestBodyLimit 64\nSecResponseBodyLimit 64\n").unwrap();
        let mut lines: Vec<String> = Vec::new();
        let data = &mut lines as *mut Vec<String> as *mut c_void;
        let mut seed: u64 = 0x5eed;
        let strs = [
            cs(""),
            cs("GET"),
            cs("/a?b=union select"),
            cs("\u{7f}\u{1}"),
            cs("1.1"),
            cs("%zz%00"),
        ];
        for _round in 0..40 {
            let t = msc_new_transaction(ms, rules, data);
            for _ in 0..30 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let pick = |k: u64| strs[((seed >> k) % strs.len() as u64) as usize].as_ptr();
                let blob = vec![b'x'; ((seed >> 20) % 100) as usize];
                match (seed >> 33) % 16 {
                    0 => drop(msc_process_connection(
                        t,
                        pick(3),
                        (seed >> 5) as i32,
                        pick(7),
                        -5,
                    )),
                    1 => drop(msc_process_uri(t, pick(3), pick(9), pick(11))),
                    2 => drop(msc_add_request_header(
                        t,
                        pick(3) as *const u8,
                        pick(5) as *const u8,
                    )),
                    3 => drop(msc_process_request_headers(t)),
                    4 => drop(msc_append_request_body(t, blob.as_ptr(), blob.len())),
                    5 => drop(msc_process_request_body(t)),
                    6 => drop(msc_add_n_response_header(
                        t,
                        blob.as_ptr(),
                        blob.len(),
                        blob.as_ptr(),
                        0,
                    )),
                    7 => drop(msc_process_response_headers(
                        t,
                        (seed % 700) as i32,
                        pick(2),
                    )),
                    8 => drop(msc_append_response_body(t, blob.as_ptr(), blob.len())),
                    9 => drop(msc_process_response_body(t)),
                    10 => drop(msc_process_logging(t)),
                    11 => drop(msc_update_status_code(t, (seed % 1000) as i32 - 100)),
                    12 => {
                        let mut it = fresh_it();
                        if msc_intervention(t, &mut it) != 0 {
                            msc_intervention_cleanup(&mut it);
                        }
                    }
                    13 => drop(msc_get_response_body(t)),
                    14 => drop(msc_set_request_hostname(t, pick(4) as *const u8)),
                    _ => drop(msc_get_request_body_length(t) + msc_get_response_body_length(t)),
                }
            }
            msc_transaction_cleanup(t);
        }
        msc_rules_cleanup(rules);
        msc_cleanup(ms);
    }
}

#[test]
fn panics_become_error_values() {
    let v: i32 = crate::ffi_boundary!(-1, {
        if std::hint::black_box(true) {
            panic!("boom");
        }
        5
    });
    assert_eq!(v, -1);
}
