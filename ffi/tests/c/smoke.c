/*
 * smoke.c - a C program against Sekisho's own headers (ffi/include) and its cdylib
 * (installed as libmodsecurity.so.3): loads a SQLi rule, runs a GET with SQL injection,
 * expects status 403, a log-callback line (from a pass,log rule: the deny's own line goes
 * only to the intervention, as in libmodsecurity), and releases the intervention strings with
 * free(). Prints "smoke: ok" and exits 0 on success; exits 1 with a message otherwise.
 * Run by ffi/tests/c_smoke.rs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <modsecurity/intervention.h>
#include <modsecurity/modsecurity.h>
#include <modsecurity/rules_set.h>
#include <modsecurity/transaction.h>

#ifndef SEKISHO_MODSECURITY_API
#error "built against libmodsecurity's headers, not Sekisho's"
#endif

#if MODSECURITY_VERSION_NUM < 304010
#error "MODSECURITY_VERSION_NUM must select rules_set.h (nginx connector check)"
#endif

static int log_lines = 0;
static int log_has_id = 0;
static int log_data_ok = 1;
static const char *expected_data = "request-1";

static void log_cb(void *data, const void *line) {
    const char *s = (const char *)line;
    if (data != (void *)expected_data) {
        log_data_ok = 0;
    }
    log_lines++;
    if (strstr(s, "[id \"900001\"]") != NULL) {
        log_has_id = 1;
    }
    printf("log: %s\n", s);
}

#define CHECK(cond, ...)                          \
    do {                                          \
        if (!(cond)) {                            \
            fprintf(stderr, "smoke: FAILED: ");   \
            fprintf(stderr, __VA_ARGS__);         \
            fprintf(stderr, "\n");                \
            return 1;                             \
        }                                         \
    } while (0)

int main(void) {
    const char *error = NULL;
    ModSecurity *ms = msc_init();
    CHECK(ms != NULL, "msc_init");
    CHECK(strcmp(msc_who_am_i(ms), "ModSecurity v3.0.15 (Linux)") == 0, "who_am_i: %s",
          msc_who_am_i(ms));
    msc_set_connector_info(ms, "sekisho-smoke v0");
    msc_set_log_cb(ms, log_cb);

    RulesSet *rules = msc_create_rules_set();
    CHECK(rules != NULL, "msc_create_rules_set");
    int n = msc_rules_add(rules,
                          "SecRuleEngine On\n"
                          "SecRule REQUEST_HEADERS:Host \"@rx example\" \"id:900001,phase:1,"
                          "pass,log,msg:'host seen'\"\n"
                          "SecRule ARGS \"@detectSQLi\" \"id:942100,phase:2,deny,status:403,"
                          "log,msg:'SQL Injection Attack Detected via libinjection'\"\n",
                          &error);
    CHECK(n == 2, "msc_rules_add returned %d (%s)", n, error ? error : "no error");

    /* A broken add: -1, a malloc'd message, nothing loaded. */
    const char *bad = NULL;
    CHECK(msc_rules_add(rules, "SecFoo bar\n", &bad) == -1, "bad rules accepted");
    CHECK(bad != NULL && strncmp(bad, "Rules error. File: ", 19) == 0, "error text: %s",
          bad ? bad : "(null)");
    printf("error: %s\n", bad);
    free((void *)bad);

    Transaction *t = msc_new_transaction(ms, rules, (void *)expected_data);
    CHECK(t != NULL, "msc_new_transaction");
    ModSecurityIntervention it = {200, 0, NULL, NULL, 0};
    msc_process_connection(t, "192.0.2.10", 54321, "192.0.2.1", 80);
    CHECK(msc_intervention(t, &it) == 0, "intervention after connection");
    msc_process_uri(t, "/search?q=1%27%20OR%20%271%27%3D%271", "GET", "1.1");
    const char *hk = "Host", *hv = "example.com";
    msc_add_n_request_header(t, (const unsigned char *)hk, strlen(hk),
                             (const unsigned char *)hv, strlen(hv));
    msc_process_request_headers(t);
    CHECK(msc_intervention(t, &it) == 0, "intervention after headers");
    msc_process_request_body(t);
    CHECK(msc_intervention(t, &it) != 0, "no intervention after request body");
    CHECK(it.status == 403, "status %d", it.status);
    CHECK(it.disruptive != 0, "not disruptive");
    CHECK(it.url == NULL, "url set");
    CHECK(it.log != NULL && strstr(it.log, "942100") != NULL, "log: %s",
          it.log ? it.log : "(null)");
    printf("intervention: %d %s\n", it.status, it.log);
    free(it.log);
    free(it.url);
    it.log = NULL;

    ModSecurityIntervention again = {200, 0, NULL, NULL, 0};
    CHECK(msc_intervention(t, &again) == 0, "intervention not reset");
    msc_update_status_code(t, 403);
    msc_process_logging(t);
    CHECK(log_lines >= 1 && log_has_id, "log callback: %d lines, id seen %d", log_lines,
          log_has_id);
    CHECK(log_data_ok, "logCbData not passed back");

    size_t nmsg = msc_get_rules_messages_size(t);
    int64_t ids[4] = {0};
    size_t nids = msc_get_rules_messages_rule_ids(t, ids, 4);
    CHECK(nmsg == 2 && nids == 2 && ids[0] == 900001 && ids[1] == 942100, "rule messages %zu/%zu id %lld", nmsg,
          nids, (long long)ids[0]);

    msc_transaction_cleanup(t);
    CHECK(msc_rules_cleanup(rules) == 1, "msc_rules_cleanup");
    msc_cleanup(ms);
    printf("smoke: ok\n");
    return 0;
}
