/*
 * libinjection.c - ask the libinjection inside a libmodsecurity shared library for its verdicts.
 *
 * Usage: libinjection LIBMODSECURITY.so [--time REPEAT]
 *
 * The library is dlopen()ed, so no headers are needed: libmodsecurity 3.0.15 (the PyPI wheel
 * `libmodsecurity`) exports libinjection v4.0.0's `libinjection_sqli` and `libinjection_xss`.
 * stdin holds records: a 4-byte little-endian length, then that many bytes (any bytes, NULs
 * included). For each record one line is printed:
 *
 *     SQLI FINGERPRINT XSS        e.g. "1 s&sos 0", or "0 - 1" (no fingerprint when not SQLi)
 *
 * With --time REPEAT nothing is printed per record; each record is checked REPEAT times per
 * detector and the median over the records of the mean ns per call is printed, for SQLi and XSS:
 *
 *     sqli_median_ns N xss_median_ns N records N
 *
 * Each value is copied into a buffer with a NUL after it, as libmodsecurity's std::string has:
 * libinjection reads a byte or two past the end of a token in a few places, and the NUL is what
 * it finds there inside ModSecurity.
 *
 * Exit: 0 ok, 2 the library or a symbol is missing, 3 malformed input.
 */
#define _POSIX_C_SOURCE 199309L
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int (*sqli_fn)(const char *, size_t, char *);
typedef int (*xss_fn)(const char *, size_t);

static int read_record(unsigned char **buf, size_t *cap, size_t *len) {
    unsigned char hdr[4];
    size_t n = fread(hdr, 1, 4, stdin);
    if (n == 0) {
        return 0;
    }
    if (n != 4) {
        return -1;
    }
    *len = (size_t)hdr[0] | (size_t)hdr[1] << 8 | (size_t)hdr[2] << 16 | (size_t)hdr[3] << 24;
    if (*len + 1 > *cap) {
        *cap = *len + 1;
        *buf = realloc(*buf, *cap);
        if (*buf == NULL) {
            return -1;
        }
    }
    if (*len > 0 && fread(*buf, 1, *len, stdin) != *len) {
        return -1;
    }
    (*buf)[*len] = 0;
    return 1;
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s LIBMODSECURITY.so [--time REPEAT]\n", argv[0]);
        return 2;
    }
    long repeat = 0;
    if (argc >= 4 && strcmp(argv[2], "--time") == 0) {
        repeat = strtol(argv[3], NULL, 10);
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 2;
    }
    sqli_fn sqli = (sqli_fn)dlsym(h, "libinjection_sqli");
    xss_fn xss = (xss_fn)dlsym(h, "libinjection_xss");
    if (sqli == NULL || xss == NULL) {
        fprintf(stderr, "libinjection_sqli / libinjection_xss not exported by %s\n", argv[1]);
        return 2;
    }
    unsigned char *buf = NULL;
    size_t cap = 0, len = 0;
    size_t nrec = 0, ncap = 0;
    double *tsq = NULL, *txs = NULL;
    int r;
    /* 8 bytes is libinjection's own fingerprint buffer size */
    char fp[8];
    while ((r = read_record(&buf, &cap, &len)) == 1) {
        const char *s = (const char *)buf;
        if (repeat <= 0) {
            memset(fp, 0, sizeof fp);
            int a = sqli(s, len, fp);
            int b = xss(s, len);
            printf("%d %s %d\n", a != 0, (a && fp[0]) ? fp : "-", b != 0);
            continue;
        }
        if (nrec == ncap) {
            ncap = ncap ? ncap * 2 : 1024;
            tsq = realloc(tsq, ncap * sizeof *tsq);
            txs = realloc(txs, ncap * sizeof *txs);
            if (tsq == NULL || txs == NULL) {
                return 3;
            }
        }
        volatile int sink = 0;
        double t0 = now_ns();
        for (long i = 0; i < repeat; i++) {
            sink += sqli(s, len, fp);
        }
        double t1 = now_ns();
        for (long i = 0; i < repeat; i++) {
            sink += xss(s, len);
        }
        double t2 = now_ns();
        (void)sink;
        tsq[nrec] = (t1 - t0) / (double)repeat;
        txs[nrec] = (t2 - t1) / (double)repeat;
        nrec++;
    }
    if (r < 0) {
        fprintf(stderr, "malformed record on stdin\n");
        return 3;
    }
    if (repeat > 0 && nrec > 0) {
        qsort(tsq, nrec, sizeof *tsq, cmp_double);
        qsort(txs, nrec, sizeof *txs, cmp_double);
        printf("sqli_median_ns %.0f xss_median_ns %.0f records %zu\n", tsq[nrec / 2],
               txs[nrec / 2], nrec);
    }
    free(buf);
    free(tsq);
    free(txs);
    return 0;
}
