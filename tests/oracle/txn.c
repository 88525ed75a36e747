/*
 * txn.c - run HTTP transactions through the real libmodsecurity v3 and print
 * what it reports (interventions, log-callback messages, rule ids).
 *
 * Oracle for Sekisho's transaction engine. Uses only the public C API
 * (modsecurity/modsecurity.h, transaction.h, rules_set.h, intervention.h).
 *
 * Usage: txn RULES_FILE REQUEST_FILE...
 *   The rules are loaded once with msc_rules_add_file(); on failure the error
 *   text is printed ("error: <text>" on stdout) and the exit status is 2.
 *   Then one transaction is run per REQUEST_FILE, in the order of ModSecurity's
 *   own regression runner (test/regression/regression.cc):
 *     msc_new_transaction            (logCbData = this transaction's record)
 *     msc_process_connection         step "connection"
 *     msc_process_uri                step "uri"
 *     msc_add_n_request_header x N   step "add_request_header" (after each)
 *     msc_process_request_headers    step "request_headers"
 *     msc_append_request_body        step "append_request_body" (only if the
 *                                    file has a --request-body-- marker)
 *     msc_process_request_body       step "request_body"
 *     msc_add_n_response_header x N  step "add_response_header" (after each)
 *     msc_process_response_headers   step "response_headers" (status, protocol)
 *     msc_append_response_body       step "append_response_body" (only if the
 *                                    file has a --response-body-- marker)
 *     msc_process_response_body      step "response_body"
 *     msc_process_logging            step "logging"
 *     msc_transaction_cleanup
 *   After every step msc_intervention() is called (with a fresh struct:
 *   status 200, pause 0, url NULL, log NULL, disruptive 0); when it returns
 *   non-zero the step name, status, disruptive, url and log are recorded and
 *   url/log are released with free(). Processing continues after a disruption,
 *   like the regression runner, unless the request file says
 *   `stop_on_disruption: 1`: then, after the first step whose intervention
 *   was returned, every remaining step is skipped except msc_process_logging
 *   (as the nginx connector still runs the log phase of a blocked request).
 *
 * REQUEST_FILE format (see FINDINGS.md, "Transactions"):
 *   A header block of `key: value` lines (LF or CRLF; blank lines and lines
 *   starting with '#' are ignored; the value starts after ": " exactly, i.e.
 *   the first ':' plus any spaces/tabs after it; trailing spaces are kept):
 *     client: IP PORT            default 127.0.0.1 12345
 *     server: IP PORT            default 127.0.0.1 80
 *     method: GET                default GET
 *     uri: /path?x=1             default /
 *     version: 1.1               default 1.1
 *     header: Name: value        repeatable, order kept; split at the first
 *                                ':'; spaces/tabs after it are skipped
 *     status: 200                default 200
 *     protocol: HTTP/1.1         default HTTP/1.1
 *     response_header: Name: value   repeatable, order kept
 *     hostname: NAME             optional; msc_set_request_hostname (only
 *                                when the library has it, 3.0.13+)
 *     stop_on_disruption: 1      optional
 *   then optionally a line `--request-body--` followed by the raw request
 *   body, then optionally a line `--response-body--` followed by the raw
 *   response body up to EOF. A body ends at the newline that precedes the next
 *   marker line, or at EOF; that one final "\n" is not part of the body (so
 *   a body that must end in "\n" is written with an extra empty line). The
 *   markers are matched as whole lines ("\n--response-body--\n" or at EOF);
 *   CR before the marker's LF is not accepted. Bodies are otherwise
 *   byte-exact (CR, NUL, any byte).
 *
 * Output (stdout), one line per REQUEST_FILE:
 *   {"file":"<path>","interventions":[{"step":"request_headers","status":403,
 *    "disruptive":1,"url":null,"log":"..."}],"log":["<callback message>",...],
 *    "ids":[1,2]}
 *   "ids" = sorted unique numbers N from every `[id "N"]` in the log messages
 *   and the intervention logs. Strings are JSON-escaped by hand: \" and \\;
 *   every byte < 0x20, 0x7f and every byte >= 0x80 as \u00XX (so a decoder
 *   yields one code point per byte, i.e. Latin-1).
 *   Config-time log-callback messages (logCbData NULL) go to stderr as
 *   "config-log: <msg>".
 * Exit status: 0 ok, 1 a request file could not be read/parsed (reported on
 *   stderr, the other files still run), 2 usage error or rules failed to load.
 *
 * Build: cc -std=c11 txn.c $(pkg-config --cflags --libs modsecurity)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <modsecurity/intervention.h>
#include <modsecurity/modsecurity.h>
#include <modsecurity/rules_set.h>
#include <modsecurity/transaction.h>

/* 3.0.13+ only; weak so the same binary runs on 3.0.9 (NULL there). */
extern void msc_rules_error_cleanup(const char *error) __attribute__((weak));
extern int msc_set_request_hostname(Transaction *transaction,
                                    const unsigned char *hostname) __attribute__((weak));

/* ---------- small growable buffers ---------- */

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} buf_t;

static void die_oom(void) {
    fputs("txn: out of memory\n", stderr);
    exit(3);
}

static void buf_add(buf_t *b, const void *p, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap) {
            cap *= 2;
        }
        char *d = realloc(b->data, cap);
        if (d == NULL) {
            die_oom();
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void buf_adds(buf_t *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_addf_int(buf_t *b, long long v) {
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%lld", v);
    buf_adds(b, tmp);
}

/* JSON string (with quotes) or null. */
static void buf_json_str(buf_t *b, const char *s, size_t n) {
    if (s == NULL) {
        buf_adds(b, "null");
        return;
    }
    buf_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') {
            buf_add(b, "\\\"", 2);
        } else if (c == '\\') {
            buf_add(b, "\\\\", 2);
        } else if (c < 0x20 || c >= 0x7f) {
            char tmp[8];
            snprintf(tmp, sizeof tmp, "\\u%04x", c);
            buf_add(b, tmp, 6);
        } else {
            buf_add(b, (const char *)&c, 1);
        }
    }
    buf_add(b, "\"", 1);
}

/* ---------- per-transaction record ---------- */

typedef struct {
    char *step;
    int status;
    int disruptive;
    char *url;
    char *log;
} iv_t;

typedef struct {
    char **msgs;
    size_t nmsgs, capmsgs;
    iv_t *ivs;
    size_t nivs, capivs;
} record_t;

static char *xstrdup(const char *s) {
    char *d = strdup(s);
    if (d == NULL) {
        die_oom();
    }
    return d;
}

static void log_cb(void *data, const void *msg) {
    const char *text = msg ? (const char *)msg : "(null)";
    if (data == NULL) {
        fprintf(stderr, "config-log: %s\n", text);
        return;
    }
    record_t *r = data;
    if (r->nmsgs == r->capmsgs) {
        r->capmsgs = r->capmsgs ? r->capmsgs * 2 : 8;
        r->msgs = realloc(r->msgs, r->capmsgs * sizeof *r->msgs);
        if (r->msgs == NULL) {
            die_oom();
        }
    }
    r->msgs[r->nmsgs++] = xstrdup(text);
}

/* Returns 1 when an intervention was returned. */
static int check(Transaction *t, record_t *r, const char *step) {
    ModSecurityIntervention it;
    it.status = 200;
    it.pause = 0;
    it.url = NULL;
    it.log = NULL;
    it.disruptive = 0;
    int ret = msc_intervention(t, &it);
    if (ret == 0) {
        return 0;
    }
    if (r->nivs == r->capivs) {
        r->capivs = r->capivs ? r->capivs * 2 : 4;
        r->ivs = realloc(r->ivs, r->capivs * sizeof *r->ivs);
        if (r->ivs == NULL) {
            die_oom();
        }
    }
    iv_t *iv = &r->ivs[r->nivs++];
    iv->step = xstrdup(step);
    iv->status = it.status;
    iv->disruptive = it.disruptive;
    iv->url = it.url ? xstrdup(it.url) : NULL;
    iv->log = it.log ? xstrdup(it.log) : NULL;
    free(it.url);
    free(it.log);
    return 1;
}

static void record_free(record_t *r) {
    for (size_t i = 0; i < r->nmsgs; i++) {
        free(r->msgs[i]);
    }
    for (size_t i = 0; i < r->nivs; i++) {
        free(r->ivs[i].step);
        free(r->ivs[i].url);
        free(r->ivs[i].log);
    }
    free(r->msgs);
    free(r->ivs);
    memset(r, 0, sizeof *r);
}

/* ---------- rule ids ---------- */

typedef struct {
    long long *v;
    size_t n, cap;
} ids_t;

static void ids_scan(ids_t *ids, const char *s) {
    static const char pat[] = "[id \"";
    if (s == NULL) {
        return;
    }
    for (const char *p = strstr(s, pat); p != NULL; p = strstr(p + 1, pat)) {
        const char *q = p + sizeof pat - 1;
        int neg = 0;
        if (*q == '-') {
            neg = 1;
            q++;
        }
        if (*q < '0' || *q > '9') {
            continue;
        }
        long long v = 0;
        while (*q >= '0' && *q <= '9') {
            v = v * 10 + (*q - '0');
            q++;
        }
        if (*q != '"') {
            continue;
        }
        if (ids->n == ids->cap) {
            ids->cap = ids->cap ? ids->cap * 2 : 8;
            ids->v = realloc(ids->v, ids->cap * sizeof *ids->v);
            if (ids->v == NULL) {
                die_oom();
            }
        }
        ids->v[ids->n++] = neg ? -v : v;
    }
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* ---------- request file ---------- */

typedef struct {
    char *name;
    size_t name_len;
    char *value;
    size_t value_len;
} hdr_t;

typedef struct {
    char *client_ip;
    int client_port;
    char *server_ip;
    int server_port;
    char *method;
    char *uri;
    char *version;
    int status;
    char *protocol;
    char *hostname;
    int stop_on_disruption;
    hdr_t *req_h;
    size_t n_req_h;
    hdr_t *resp_h;
    size_t n_resp_h;
    int has_req_body;
    const char *req_body;
    size_t req_body_len;
    int has_resp_body;
    const char *resp_body;
    size_t resp_body_len;
    char *raw; /* whole file; bodies point into it */
} request_t;

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d == NULL) {
        die_oom();
    }
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static void request_free(request_t *rq) {
    free(rq->client_ip);
    free(rq->server_ip);
    free(rq->method);
    free(rq->uri);
    free(rq->version);
    free(rq->protocol);
    free(rq->hostname);
    for (size_t i = 0; i < rq->n_req_h; i++) {
        free(rq->req_h[i].name);
        free(rq->req_h[i].value);
    }
    for (size_t i = 0; i < rq->n_resp_h; i++) {
        free(rq->resp_h[i].name);
        free(rq->resp_h[i].value);
    }
    free(rq->req_h);
    free(rq->resp_h);
    free(rq->raw);
}

static void set_str(char **dst, const char *v, size_t n) {
    free(*dst);
    *dst = dup_n(v, n);
}

static int parse_ip_port(const char *v, size_t n, char **ip, int *port) {
    const char *sp = memchr(v, ' ', n);
    if (sp == NULL) {
        return -1;
    }
    char *num = dup_n(sp + 1, n - (size_t)(sp + 1 - v));
    char *end;
    long p = strtol(num, &end, 10);
    int bad = (*num == '\0' || *end != '\0');
    free(num);
    if (bad) {
        return -1;
    }
    set_str(ip, v, (size_t)(sp - v));
    *port = (int)p;
    return 0;
}

static int add_header(hdr_t **arr, size_t *n, const char *v, size_t len) {
    const char *colon = memchr(v, ':', len);
    if (colon == NULL) {
        return -1;
    }
    const char *val = colon + 1;
    const char *end = v + len;
    while (val < end && (*val == ' ' || *val == '\t')) {
        val++;
    }
    hdr_t *a = realloc(*arr, (*n + 1) * sizeof **arr);
    if (a == NULL) {
        die_oom();
    }
    *arr = a;
    a[*n].name_len = (size_t)(colon - v);
    a[*n].name = dup_n(v, a[*n].name_len);
    a[*n].value_len = (size_t)(end - val);
    a[*n].value = dup_n(val, a[*n].value_len);
    (*n)++;
    return 0;
}

static const char REQ_MARK[] = "--request-body--";
static const char RESP_MARK[] = "--response-body--";

/* Find a line equal to `mark` starting at or after `from` (at a line start).
 * Returns the offset of the marker line, or (size_t)-1. */
static size_t find_marker_line(const char *s, size_t len, size_t from, const char *mark) {
    size_t ml = strlen(mark);
    size_t pos = from;
    while (pos <= len) {
        /* pos is at a line start */
        if (len - pos >= ml && memcmp(s + pos, mark, ml) == 0 &&
            (pos + ml == len || s[pos + ml] == '\n')) {
            return pos;
        }
        const char *nl = memchr(s + pos, '\n', len - pos);
        if (nl == NULL) {
            break;
        }
        pos = (size_t)(nl - s) + 1;
    }
    return (size_t)-1;
}

/* offset just after the marker line (after its LF, or len). */
static size_t after_line(const char *s, size_t len, size_t pos) {
    const char *nl = memchr(s + pos, '\n', len - pos);
    return nl ? (size_t)(nl - s) + 1 : len;
}

/* body from `start` up to the marker line at `mpos` (or EOF when mpos == -1):
 * drop the one "\n" ending the body's last line. */
static void body_span(const char *s, size_t len, size_t start, size_t mpos,
                      const char **out, size_t *out_len) {
    size_t end = (mpos == (size_t)-1) ? len : mpos;
    if (end < start) {
        end = start;
    }
    if (end > start && s[end - 1] == '\n') {
        end--;
    }
    *out = s + start;
    *out_len = end - start;
}

static int read_file(const char *path, char **data, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return -1;
    }
    buf_t b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        buf_add(&b, tmp, n);
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(b.data);
        return -1;
    }
    if (b.data == NULL) {
        b.data = dup_n("", 0);
    }
    *data = b.data;
    *len = b.len;
    return 0;
}

static int parse_request(const char *path, request_t *rq) {
    memset(rq, 0, sizeof *rq);
    rq->client_ip = xstrdup("127.0.0.1");
    rq->client_port = 12345;
    rq->server_ip = xstrdup("127.0.0.1");
    rq->server_port = 80;
    rq->method = xstrdup("GET");
    rq->uri = xstrdup("/");
    rq->version = xstrdup("1.1");
    rq->status = 200;
    rq->protocol = xstrdup("HTTP/1.1");

    size_t len;
    if (read_file(path, &rq->raw, &len) != 0) {
        fprintf(stderr, "txn: %s: cannot read file\n", path);
        return -1;
    }
    const char *s = rq->raw;

    size_t req_m = find_marker_line(s, len, 0, REQ_MARK);
    size_t resp_m = find_marker_line(s, len, req_m == (size_t)-1 ? 0 : after_line(s, len, req_m),
                                     RESP_MARK);
    size_t head_end = len;
    if (req_m != (size_t)-1) {
        head_end = req_m;
    } else if (resp_m != (size_t)-1) {
        head_end = resp_m;
    }
    if (req_m != (size_t)-1) {
        rq->has_req_body = 1;
        body_span(s, len, after_line(s, len, req_m), resp_m, &rq->req_body, &rq->req_body_len);
    }
    if (resp_m != (size_t)-1) {
        rq->has_resp_body = 1;
        body_span(s, len, after_line(s, len, resp_m), (size_t)-1, &rq->resp_body,
                  &rq->resp_body_len);
    }

    /* header block */
    size_t pos = 0;
    int lineno = 0;
    while (pos < head_end) {
        const char *nl = memchr(s + pos, '\n', head_end - pos);
        size_t eol = nl ? (size_t)(nl - s) : head_end;
        size_t next = nl ? eol + 1 : head_end;
        lineno++;
        const char *line = s + pos;
        size_t ll = eol - pos;
        if (ll > 0 && line[ll - 1] == '\r') {
            ll--;
        }
        pos = next;
        if (ll == 0 || line[0] == '#') {
            continue;
        }
        const char *colon = memchr(line, ':', ll);
        if (colon == NULL) {
            fprintf(stderr, "txn: %s:%d: expected 'key: value'\n", path, lineno);
            return -1;
        }
        size_t kl = (size_t)(colon - line);
        const char *v = colon + 1;
        while (v < line + ll && (*v == ' ' || *v == '\t')) {
            v++;
        }
        size_t vl = (size_t)(line + ll - v);
        int bad = 0;
#define KEY(k) (kl == sizeof(k) - 1 && memcmp(line, k, kl) == 0)
        if (KEY("client")) {
            bad = parse_ip_port(v, vl, &rq->client_ip, &rq->client_port);
        } else if (KEY("server")) {
            bad = parse_ip_port(v, vl, &rq->server_ip, &rq->server_port);
        } else if (KEY("method")) {
            set_str(&rq->method, v, vl);
        } else if (KEY("uri")) {
            set_str(&rq->uri, v, vl);
        } else if (KEY("version")) {
            set_str(&rq->version, v, vl);
        } else if (KEY("protocol")) {
            set_str(&rq->protocol, v, vl);
        } else if (KEY("hostname")) {
            set_str(&rq->hostname, v, vl);
        } else if (KEY("status") || KEY("stop_on_disruption")) {
            char *num = dup_n(v, vl);
            char *end;
            long n = strtol(num, &end, 10);
            bad = (*num == '\0' || *end != '\0');
            free(num);
            if (KEY("status")) {
                rq->status = (int)n;
            } else {
                rq->stop_on_disruption = (n != 0);
            }
        } else if (KEY("header")) {
            bad = add_header(&rq->req_h, &rq->n_req_h, v, vl);
        } else if (KEY("response_header")) {
            bad = add_header(&rq->resp_h, &rq->n_resp_h, v, vl);
        } else {
            fprintf(stderr, "txn: %s:%d: unknown key '%.*s'\n", path, lineno, (int)kl, line);
            return -1;
        }
#undef KEY
        if (bad) {
            fprintf(stderr, "txn: %s:%d: bad value\n", path, lineno);
            return -1;
        }
    }
    return 0;
}

/* ---------- one transaction ---------- */

static void run_one(ModSecurity *msc, RulesSet *rules, const char *path, const request_t *rq) {
    record_t rec = {0};
    Transaction *t = msc_new_transaction(msc, rules, &rec);
    int stopped = 0;

#define STEP(name, call)                                                    \
    do {                                                                    \
        if (!stopped) {                                                     \
            (void)(call);                                                   \
            if (check(t, &rec, name) && rq->stop_on_disruption) {           \
                stopped = 1;                                                \
            }                                                               \
        }                                                                   \
    } while (0)

    STEP("connection", msc_process_connection(t, rq->client_ip, rq->client_port, rq->server_ip,
                                              rq->server_port));
    if (rq->hostname != NULL && msc_set_request_hostname != NULL) {
        STEP("hostname", msc_set_request_hostname(t, (const unsigned char *)rq->hostname));
    }
    STEP("uri", msc_process_uri(t, rq->uri, rq->method, rq->version));
    for (size_t i = 0; i < rq->n_req_h; i++) {
        STEP("add_request_header",
             msc_add_n_request_header(t, (const unsigned char *)rq->req_h[i].name,
                                      rq->req_h[i].name_len,
                                      (const unsigned char *)rq->req_h[i].value,
                                      rq->req_h[i].value_len));
    }
    STEP("request_headers", msc_process_request_headers(t));
    if (rq->has_req_body) {
        STEP("append_request_body",
             msc_append_request_body(t, (const unsigned char *)rq->req_body, rq->req_body_len));
    }
    STEP("request_body", msc_process_request_body(t));
    for (size_t i = 0; i < rq->n_resp_h; i++) {
        STEP("add_response_header",
             msc_add_n_response_header(t, (const unsigned char *)rq->resp_h[i].name,
                                       rq->resp_h[i].name_len,
                                       (const unsigned char *)rq->resp_h[i].value,
                                       rq->resp_h[i].value_len));
    }
    STEP("response_headers", msc_process_response_headers(t, rq->status, rq->protocol));
    if (rq->has_resp_body) {
        STEP("append_response_body",
             msc_append_response_body(t, (const unsigned char *)rq->resp_body,
                                      rq->resp_body_len));
    }
    STEP("response_body", msc_process_response_body(t));
    stopped = 0; /* the log phase always runs */
    STEP("logging", msc_process_logging(t));
#undef STEP
    msc_transaction_cleanup(t);

    /* output */
    buf_t out = {0};
    ids_t ids = {0};
    buf_adds(&out, "{\"file\":");
    buf_json_str(&out, path, strlen(path));
    buf_adds(&out, ",\"interventions\":[");
    for (size_t i = 0; i < rec.nivs; i++) {
        iv_t *iv = &rec.ivs[i];
        if (i) {
            buf_adds(&out, ",");
        }
        buf_adds(&out, "{\"step\":");
        buf_json_str(&out, iv->step, strlen(iv->step));
        buf_adds(&out, ",\"status\":");
        buf_addf_int(&out, iv->status);
        buf_adds(&out, ",\"disruptive\":");
        buf_addf_int(&out, iv->disruptive);
        buf_adds(&out, ",\"url\":");
        buf_json_str(&out, iv->url, iv->url ? strlen(iv->url) : 0);
        buf_adds(&out, ",\"log\":");
        buf_json_str(&out, iv->log, iv->log ? strlen(iv->log) : 0);
        buf_adds(&out, "}");
        ids_scan(&ids, iv->log);
    }
    buf_adds(&out, "],\"log\":[");
    for (size_t i = 0; i < rec.nmsgs; i++) {
        if (i) {
            buf_adds(&out, ",");
        }
        buf_json_str(&out, rec.msgs[i], strlen(rec.msgs[i]));
        ids_scan(&ids, rec.msgs[i]);
    }
    buf_adds(&out, "],\"ids\":[");
    if (ids.n > 0) {
        qsort(ids.v, ids.n, sizeof *ids.v, cmp_ll);
    }
    for (size_t i = 0; i < ids.n; i++) {
        if (i > 0 && ids.v[i] == ids.v[i - 1]) {
            continue;
        }
        if (i) {
            buf_adds(&out, ",");
        }
        buf_addf_int(&out, ids.v[i]);
    }
    buf_adds(&out, "]}\n");
    fwrite(out.data, 1, out.len, stdout);
    fflush(stdout);
    free(out.data);
    free(ids.v);
    record_free(&rec);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s RULES_FILE REQUEST_FILE...\n", argv[0]);
        return 2;
    }
    ModSecurity *msc = msc_init();
    msc_set_log_cb(msc, log_cb);
    RulesSet *rules = msc_create_rules_set();
    const char *error = NULL;
    int count = msc_rules_add_file(rules, argv[1], &error);
    if (count < 0) {
        printf("error: %s\n", error ? error : "(null)");
        if (error != NULL) {
            if (msc_rules_error_cleanup != NULL) {
                msc_rules_error_cleanup(error);
            } else {
                free((void *)error);
            }
        }
        msc_rules_cleanup(rules);
        msc_cleanup(msc);
        return 2;
    }
    int status = 0;
    for (int i = 2; i < argc; i++) {
        request_t rq;
        if (parse_request(argv[i], &rq) != 0) {
            status = 1;
        } else {
            run_one(msc, rules, argv[i], &rq);
        }
        request_free(&rq);
    }
    msc_rules_cleanup(rules);
    msc_cleanup(msc);
    return status;
}
