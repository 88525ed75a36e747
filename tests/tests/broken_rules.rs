//! Deliberately broken configurations (`tests/fixtures/broken/`): each must fail to load, with
//! every error reported at its exact `file:line:column` (physical line, 1-based byte column)
//! and with a message that says what is wrong.
//!
//! A load is all-or-nothing: `Loader::finish` returns `Err` and no directive at all when any
//! file has an error.

use seclang_parser::{DirectiveKind, Errors, Loader, OperatorArgument};
use sekisho_tests::repo_root;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    repo_root().join("tests/fixtures/broken")
}

fn fixture(name: &str) -> PathBuf {
    let p = fixtures().join(name);
    assert!(p.is_file(), "missing fixture {}", p.display());
    p
}

/// One expected error: the file it is reported in (relative to the fixtures directory, compared
/// by its canonical path), line, column, and a substring of the message.
struct Want<'a> {
    file: &'a str,
    line: u32,
    column: u32,
    message: &'a str,
}

fn want<'a>(file: &'a str, line: u32, column: u32, message: &'a str) -> Want<'a> {
    Want {
        file,
        line,
        column,
        message,
    }
}

fn load(path: &Path) -> Result<seclang_parser::Config, Errors> {
    let mut loader = Loader::new();
    loader.add_file(path);
    loader.finish()
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Loads `name` and checks that exactly the `wanted` errors come back, in order.
fn check(name: &str, wanted: &[Want<'_>]) -> Errors {
    let path = fixture(name);
    let errors = match load(&path) {
        Ok(config) => panic!(
            "{name}: loaded without errors ({} directives), expected {} error(s)",
            config.directives.len(),
            wanted.len()
        ),
        Err(e) => e,
    };
    let report = errors.to_string();
    assert_eq!(
        errors.errors.len(),
        wanted.len(),
        "{name}: wrong number of errors; got:\n{report}"
    );
    for (i, (e, w)) in errors.errors.iter().zip(wanted).enumerate() {
        let expected_file = fixtures().join(w.file);
        let got_file = errors.sources.name(e.span.file);
        assert!(
            same_file(got_file, &expected_file),
            "{name}: error {i} is reported in {}, expected {}; got:\n{report}",
            got_file.display(),
            expected_file.display()
        );
        assert_eq!(
            (e.span.line, e.span.column),
            (w.line, w.column),
            "{name}: error {i} at the wrong line:column; got:\n{report}"
        );
        assert!(
            e.message.contains(w.message),
            "{name}: error {i}: message {:?} does not contain {:?}",
            e.message,
            w.message
        );
        // The rendered form: `file:line:col: message`, then the snippet (if any) indented.
        let shown = e.display(&errors.sources).to_string();
        let prefix = format!("{}:{}:{}: ", got_file.display(), w.line, w.column);
        assert!(
            shown.starts_with(&prefix),
            "{name}: error {i} renders as {shown:?}, expected it to start with {prefix:?}"
        );
        let first_line = shown.lines().next().unwrap();
        assert!(
            first_line.contains(w.message),
            "{name}: error {i}: first line {first_line:?} lacks {:?}",
            w.message
        );
        if !e.snippet.is_empty() {
            assert!(
                shown.contains("\n    "),
                "{name}: error {i}: snippet not shown on its own indented line: {shown:?}"
            );
        }
    }
    errors
}

/// A single error in `name` itself.
fn check1(name: &str, line: u32, column: u32, message: &str) -> Errors {
    check(name, &[want(name, line, column, message)])
}

// --- names ----------------------------------------------------------------------------------

#[test]
fn unknown_directive() {
    // Line 2 is indented by two blanks: the column is the physical one.
    let e = check1("unknown-directive.conf", 2, 3, "unknown directive 'SecFoo'");
    assert!(e.errors[0].snippet.contains("SecFoo bar"));
}

#[test]
fn unknown_variable() {
    let e = check1("unknown-variable.conf", 1, 14, "unknown variable 'FOO'");
    assert_eq!(e.errors[0].snippet, "FOO");
}

#[test]
fn scalar_variable_with_selector() {
    // `REQUEST_URI:x`: the error points at the `:` that starts the selector.
    check1(
        "scalar-selector.conf",
        1,
        20,
        "variable 'REQUEST_URI' is not a collection and takes no selector",
    );
}

#[test]
fn unknown_operator() {
    // libmodsecurity takes `"@foo x"` as an implicit `@rx` of the literal text `@foo x`
    // (FINDINGS.md); Sekisho rejects it, at the `@`.
    check1("unknown-operator.conf", 1, 15, "unknown operator '@foo'");
}

#[test]
fn operator_without_argument() {
    check1(
        "operator-no-argument.conf",
        1,
        15,
        "operator '@rx' needs an argument",
    );
}

#[test]
fn eq_with_non_integer_is_a_warning_read_as_atoi() {
    // libmodsecurity reads `@eq ten` with atoi (0) and loads the rule (FINDINGS.md), so this
    // is a warning, not an error; it points at the argument `ten`, after `"@eq `.
    let config = load(&fixture("eq-not-integer.conf"))
        .unwrap_or_else(|e| panic!("`@eq ten` loads, as in libmodsecurity:\n{e}"));
    assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
    let w = &config.warnings[0];
    assert_eq!(
        (w.span.line, w.span.column),
        (1, 20),
        "{}",
        w.display(&config.sources)
    );
    assert!(
        w.message.contains("'@eq'") && w.message.contains("not an integer"),
        "{}",
        w.message
    );
    match &config.directives[0].kind {
        DirectiveKind::Rule(r) => {
            assert_eq!(r.operator.parsed, OperatorArgument::Integer(Some(0)))
        }
        k => panic!("{k:?}"),
    }
}

#[test]
fn eq_without_argument() {
    check1(
        "eq-no-argument.conf",
        1,
        16,
        "operator '@eq' needs an argument",
    );
}

#[test]
fn bad_validate_byte_range() {
    // `@validateByteRange 1-10,300`: 300 is out of range; the column is that of `300`.
    let e = check1("bad-byte-range.conf", 1, 39, "invalid byte range");
    assert_eq!(e.errors[0].snippet, "300");
}

#[test]
fn unknown_action() {
    check1("unknown-action.conf", 1, 33, "unknown action 'foo'");
}

#[test]
fn unknown_transformation() {
    // `t:none,t:lowercasex`: the second one, at its name.
    check1(
        "unknown-transformation.conf",
        1,
        42,
        "unknown transformation 'lowercasex'",
    );
}

#[test]
fn unknown_ctl_option() {
    check1("unknown-ctl.conf", 1, 32, "unknown ctl option 'ruleEngin'");
}

/// One target per `ctl:ruleRemoveTarget*`, as libmodsecurity v3 loads it ("Expecting an
/// action, got: |ARGS:b"): a list is an error at the `|`, on the continuation line.
#[test]
fn ctl_target_list() {
    check1(
        "ctl-target-list.conf",
        2,
        43,
        "ctl:ruleRemoveTargetById: '|' is not allowed in its value (letters, digits and \
         _/.*:;$[]- are) (one target per ctl: write a ctl for each)",
    );
}

// --- action arguments -----------------------------------------------------------------------

#[test]
fn action_without_argument_given_one() {
    // `deny:1`: at the argument.
    check1(
        "no-argument-action-given-one.conf",
        1,
        33,
        "action 'deny' takes no argument",
    );
}

#[test]
fn action_missing_its_argument() {
    // a bare `msg`: at the action name.
    check1(
        "action-missing-argument.conf",
        1,
        33,
        "action 'msg' needs an argument",
    );
}

#[test]
fn bad_phase() {
    check1("bad-phase.conf", 1, 34, "action 'phase': expected a phase");
}

#[test]
fn bad_severity() {
    // `severity:'HIGH'`: at `HIGH`, inside the quotes.
    check1(
        "bad-severity.conf",
        1,
        43,
        "action 'severity': expected a severity",
    );
}

#[test]
fn bad_id() {
    check1("bad-id.conf", 1, 26, "action 'id': expected a rule id");
}

#[test]
fn setvar_without_collection() {
    // `setvar:'score=+1'`: at `score`.
    check1(
        "setvar-no-collection.conf",
        1,
        30,
        "setvar: expected COLLECTION.NAME",
    );
}

// --- quoting and macros ---------------------------------------------------------------------

#[test]
fn unterminated_double_quote() {
    // At the opening quote.
    check1(
        "unterminated-double-quote.conf",
        1,
        14,
        "unterminated quoted string",
    );
}

#[test]
fn unterminated_action_list_is_a_warning() {
    // libmodsecurity ends an action list at the end of the line when its closing quote is
    // missing; Sekisho loads it too and warns at the opening quote.
    let config = load(&fixture("unterminated-action-list.conf"))
        .unwrap_or_else(|e| panic!("an unterminated action list loads:\n{e}"));
    assert_eq!(config.stats.rules, 1);
    assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
    let w = &config.warnings[0];
    assert_eq!(
        (w.span.line, w.span.column),
        (1, 22),
        "{}",
        w.display(&config.sources)
    );
    assert!(w.message.contains("closing"), "{}", w.message);
}

#[test]
fn unterminated_single_quoted_value() {
    // `"id:1,pass,msg:'abc"`: the double-quoted action list is closed; the single-quoted
    // value is not. The error must point at the `'` (column 37) and say so, not claim that
    // the (present) closing `"` is missing.
    check1(
        "unterminated-single-quote.conf",
        1,
        37,
        "unterminated single-quoted value",
    );
}

#[test]
fn unterminated_macro() {
    // `msg:'score %{tx.a'`: at the `%` of the macro.
    check1("unterminated-macro.conf", 1, 44, "unterminated macro");
}

#[test]
fn unknown_macro_variable() {
    // `logdata:'%{foo.bar}'`: at `foo`, inside the macro.
    let e = check1(
        "unknown-macro-variable.conf",
        1,
        44,
        "unknown variable 'foo' in macro",
    );
    assert_eq!(e.errors[0].snippet, "%{foo.bar}");
}

// --- positions over continuation lines -------------------------------------------------------

#[test]
fn error_on_a_continuation_line() {
    // SecRule ARGS "@rx x" \
    //     "id:1,pass,\
    //     foo"
    // The bad action is on physical line 3, column 5 (libmodsecurity says the same).
    check1("continuation-action.conf", 3, 5, "unknown action 'foo'");
}

#[test]
fn error_on_an_indented_continuation_line() {
    // The operator is on physical line 2, indented by 8 blanks and a quote: column 10.
    check1(
        "continuation-operator.conf",
        2,
        10,
        "unknown operator '@foo'",
    );
}

// --- configuration directives ---------------------------------------------------------------

#[test]
fn secruleengine_bad_value() {
    check1(
        "secruleengine-bad-value.conf",
        1,
        15,
        "SecRuleEngine expects one of: On, Off, DetectionOnly",
    );
}

#[test]
fn trailing_garbage_after_secrule() {
    let e = check1(
        "trailing-garbage.conf",
        1,
        34,
        "unexpected argument after SecRule",
    );
    assert_eq!(e.errors[0].snippet, "garbage");
}

#[test]
fn trailing_garbage_after_config_directive() {
    check1(
        "trailing-garbage-config.conf",
        1,
        25,
        "unexpected argument after SecRequestBodyAccess",
    );
}

// --- several errors, all-or-nothing ----------------------------------------------------------

#[test]
fn several_errors_all_reported_in_order() {
    let f = "several-errors.conf";
    check(
        f,
        &[
            want(f, 2, 33, "unknown action 'foo'"),
            want(f, 4, 1, "unknown directive 'SecFoo'"),
            want(f, 6, 34, "action 'phase': expected a phase"),
        ],
    );
}

#[test]
fn valid_rule_then_broken_rule_loads_nothing() {
    let f = "valid-then-broken.conf";
    let e = check1(f, 3, 33, "unknown action 'foo'");
    // The rendered report names the one error and nothing else.
    assert_eq!(
        e.to_string()
            .lines()
            .filter(|l| !l.starts_with("    "))
            .count(),
        1
    );
    // The same rule on its own loads: the failure is all-or-nothing, not a parse accident.
    let mut loader = Loader::new();
    loader.add_str("valid.conf", "SecRule ARGS \"@rx a\" \"id:1,pass\"\n", None);
    let config = loader.finish().expect("the valid rule alone loads");
    assert_eq!(config.stats.rules, 1);
}

#[test]
fn error_in_a_second_file_discards_the_first() {
    // A clean file, then a broken one: nothing from either is kept.
    let mut loader = Loader::new();
    loader.add_file(&fixture("glob/includeoptional-nomatch.conf"));
    loader.add_file(&fixture("unknown-action.conf"));
    let e = loader
        .finish()
        .expect_err("the broken second file fails the load");
    assert_eq!(e.errors.len(), 1);
    assert!(same_file(
        e.sources.name(e.errors[0].span.file),
        &fixture("unknown-action.conf")
    ));
}

// --- includes --------------------------------------------------------------------------------

#[test]
fn error_inside_an_included_file() {
    // main.conf line 3 includes inc/broken.conf, whose line 4 (indented by 4) has `t:nope`.
    check(
        "include-error/main.conf",
        &[want(
            "include-error/inc/broken.conf",
            4,
            35,
            "unknown transformation 'nope'",
        )],
    );
}

#[test]
fn include_of_a_missing_file() {
    // Reported at the `Include` line of the including file.
    let e = check(
        "include-missing/main.conf",
        &[want(
            "include-missing/main.conf",
            2,
            1,
            "does-not-exist.conf",
        )],
    );
    assert!(
        e.errors[0].message.contains("cannot read"),
        "{}",
        e.errors[0].message
    );
}

#[test]
fn include_glob_matching_nothing_is_an_error() {
    check1(
        "glob/include-nomatch.conf",
        1,
        1,
        "no file matches 'nothing-here-*.conf'",
    );
}

#[test]
fn includeoptional_glob_matching_nothing_is_fine() {
    let config = load(&fixture("glob/includeoptional-nomatch.conf"))
        .unwrap_or_else(|e| panic!("IncludeOptional of nothing must load:\n{e}"));
    assert_eq!(config.stats.rules, 1);
    assert_eq!(config.stats.files, 1);
}

#[test]
fn include_cycle_is_reported_without_hanging() {
    // a.conf includes b.conf, which includes a.conf: reported at b.conf's Include (line 2).
    let e = check(
        "include-cycle/a.conf",
        &[want("include-cycle/b.conf", 2, 1, "include cycle")],
    );
    let m = &e.errors[0].message;
    assert!(m.contains("a.conf") && m.contains("b.conf"), "{m}");
}

// --- the same through `sekisho rules check` --------------------------------------------------

/// Runs `sekisho rules check` on a broken file: exit code 1, each error line starts with
/// `path:line:col:`. Uses a built `target/debug/sekisho` (or `$SEKISHO_BIN`); skipped, with a
/// note, when there is none (building it from inside a test would wait on cargo's build lock).
#[test]
fn cli_reports_errors_with_positions_and_exit_code_1() {
    let bin = std::env::var_os("SEKISHO_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| repo_root().join("target"));
            target.join("debug").join("sekisho")
        });
    if !bin.is_file() {
        eprintln!(
            "cli test not run: no sekisho binary at {} (run `cargo build -p sekisho-cli` or set SEKISHO_BIN)",
            bin.display()
        );
        return;
    }
    let path = fixture("several-errors.conf");
    let out = std::process::Command::new(&bin)
        .args(["rules", "check"])
        .arg(&path)
        .output()
        .expect("run sekisho");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "stdout:\n{stdout}");
    let p = path.display().to_string();
    let located: Vec<&str> = stdout.lines().filter(|l| l.starts_with(&p)).collect();
    let expected = [
        format!("{p}:2:33: "),
        format!("{p}:4:1: "),
        format!("{p}:6:34: "),
    ];
    assert_eq!(located.len(), 3, "stdout:\n{stdout}");
    for (line, prefix) in located.iter().zip(&expected) {
        assert!(
            line.starts_with(prefix.as_str()),
            "{line:?} should start with {prefix:?}"
        );
    }
    // Every non-indented line but the summary is a located error.
    for line in stdout.lines() {
        if line.starts_with("    ") || line.contains("nothing was loaded") {
            continue;
        }
        assert!(line.starts_with(&p), "unexpected output line {line:?}");
    }
}

// --- more positions and checks -------------------------------------------------------------

#[test]
fn continuation_inside_a_variable_list_joins_the_list() {
    // SecRule ARGS|\
    // ARGS_NAMES "@rx x" "id:1,pass"
    // libmodsecurity refuses a `\` continuation inside a target list ("syntax error, unexpected
    // FREE_TEXT_QUOTE_MACRO_EXPANSION", FINDINGS.md, cases/lines/05). Sekisho deliberately joins
    // the lines as Apache (ModSecurity v2) does, so the list is `ARGS|ARGS_NAMES` (README,
    // "Deliberate differences").
    let path = fixture("continuation-in-variable-list.conf");
    let mut loader = seclang_parser::Loader::new();
    loader.add_file(&path);
    let config = loader.finish().expect("loads");
    match &config.directives[0].kind {
        seclang_parser::DirectiveKind::Rule(r) => {
            let names: Vec<_> = r.variables.iter().map(|v| v.name.as_str()).collect();
            assert_eq!(names, ["ARGS", "ARGS_NAMES"]);
        }
        other => panic!("expected a rule, got {other:?}"),
    }
}

#[test]
fn secrule_without_operator() {
    // At the end of the line, where the operator should be.
    check1(
        "missing-operator.conf",
        1,
        13,
        "SecRule expects an operator",
    );
}

#[test]
fn trailing_comma_in_action_list() {
    // At the closing quote, where another action should be.
    check1("trailing-comma.conf", 1, 28, "expected an action");
}

#[test]
fn crlf_line_endings_and_continuation() {
    // `\` + CRLF continues the line; line 3 is `  "id:2,foo"`.
    check1("crlf.conf", 3, 9, "unknown action 'foo'");
}

#[test]
fn columns_count_bytes() {
    // `"@rx éé"`: each é is two bytes, so `foo` is at byte column 31 (character column 29).
    check1("utf8-columns.conf", 1, 31, "unknown action 'foo'");
}

#[test]
fn invalid_utf8_is_reported_at_the_bad_byte() {
    check1("invalid-utf8.conf", 2, 19, "not valid UTF-8");
}

#[test]
fn default_action_without_disruptive_action() {
    // libmodsecurity: "SecDefaultAction must specify a disruptive action."
    check1(
        "default-action-not-disruptive.conf",
        2,
        19,
        "SecDefaultAction must name a disruptive action",
    );
}

#[test]
fn duplicate_rule_id() {
    // libmodsecurity: "Rule id: 1 is duplicated"; reported at the second rule.
    check1("duplicate-id.conf", 2, 1, "rule id 1 is duplicated");
}

#[test]
fn config_directive_expecting_a_number() {
    check1(
        "config-not-a-number.conf",
        1,
        21,
        "SecRequestBodyLimit expects a number",
    );
}

#[test]
fn unterminated_regex_selector() {
    check1(
        "unterminated-regex-selector.conf",
        1,
        14,
        "unterminated '/regex/' selector",
    );
}

#[test]
fn line_numbers_after_a_commented_out_rule_block() {
    // Lines 1-3 are one commented-out `# SecRule ... \` block (libmodsecurity comments out its
    // continuation lines too); the error is on physical line 4 (libmodsecurity: line 4 too).
    check1("after-commented-block.conf", 4, 28, "unknown action 'bar'");
}

#[test]
fn error_in_the_second_top_level_file() {
    // Errors name the file they are in, whichever file was given first.
    let mut loader = Loader::new();
    loader.add_file(&fixture("duplicate-id.conf"));
    // (a SecAction: libmodsecurity lets SecActions share ids with rules)
    loader.add_file(&fixture("setvar-no-collection.conf"));
    let e = loader.finish().expect_err("both files have errors");
    let got: Vec<(String, u32, u32)> = e
        .errors
        .iter()
        .map(|x| {
            let name = e.sources.name(x.span.file);
            let name = name.file_name().unwrap().to_string_lossy().into_owned();
            (name, x.span.line, x.span.column)
        })
        .collect();
    // parse errors come in file order; the duplicate-id check runs over the whole load
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec![
            ("duplicate-id.conf".to_string(), 2, 1),
            ("setvar-no-collection.conf".to_string(), 1, 30)
        ],
        "{e}"
    );
}

#[test]
fn snippets_show_the_source_text_verbatim() {
    // The indented line under `file:line:col: message` is the offending text as it is in the
    // file: quotes are not backslash-escaped (a reader searches the file for this text).
    let e = check1(
        "unterminated-double-quote.conf",
        1,
        14,
        "unterminated quoted string",
    );
    let shown = e.errors[0].display(&e.sources).to_string();
    assert_eq!(shown.lines().nth(1), Some("    \"@rx x"), "{shown}");
    let e = check1(
        "unterminated-single-quote.conf",
        1,
        37,
        "unterminated single-quoted value",
    );
    let shown = e.errors[0].display(&e.sources).to_string();
    assert_eq!(shown.lines().nth(1), Some("    'abc\""), "{shown}");
}
