/*
 * rules_count.c - ask the real libmodsecurity v3 how many rules it loads.
 *
 * Oracle for Sekisho's SecLang loader. Uses only the public C API
 * (modsecurity/modsecurity.h, modsecurity/rules_set.h).
 *
 * Usage: rules_count [--each] [--escape] ARG...
 *   ARG          a rules file, loaded with msc_rules_add_file(), or
 *   @text:RULES  the text RULES, loaded with msc_rules_add().
 *   --each       use a fresh RulesSet for every ARG (default: one RulesSet
 *                for all ARGs, in order, as a connector does).
 *   --escape     print error texts as one C string literal ("...", with \n, \t,
 *                \", \\, \xNN), so trailing spaces and newlines are visible.
 *
 * Output (stdout):
 *   library <msc_who_am_i()>
 *   <count>\t<ARG>          count = return value of msc_rules_add[_file]
 *   error: <text>           only when count is -1 (text verbatim)
 *   total <N>               N = sum of the counts that were >= 0
 * Exit status: 0 if no call returned -1, 1 otherwise, 2 on usage error.
 *
 * Build: cc -std=c11 rules_count.c $(pkg-config --cflags --libs modsecurity)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <modsecurity/modsecurity.h>
#include <modsecurity/rules_set.h>

/* msc_rules_error_cleanup() exists from 3.0.13 on (not in Debian's 3.0.9).
 * Declared weak so the same binary runs on both: NULL when absent. */
extern void msc_rules_error_cleanup(const char *error) __attribute__((weak));

static void free_error(const char *error) {
    if (error == NULL) {
        return;
    }
    if (msc_rules_error_cleanup != NULL) {
        msc_rules_error_cleanup(error);
    } else {
        free((void *)error);
    }
}

static void print_escaped(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        case '"': fputs("\\\"", stdout); break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                printf("\\x%02x", *p);
            } else {
                putchar(*p);
            }
        }
    }
}

int main(int argc, char **argv) {
    int each = 0;
    int escape = 0;
    int first = 1;
    for (; first < argc; first++) {
        if (strcmp(argv[first], "--each") == 0) {
            each = 1;
        } else if (strcmp(argv[first], "--escape") == 0) {
            escape = 1;
        } else if (strcmp(argv[first], "--") == 0) {
            first++;
            break;
        } else {
            break;
        }
    }
    if (first >= argc) {
        fprintf(stderr, "usage: %s [--each] [--escape] FILE|@text:RULES...\n", argv[0]);
        return 2;
    }

    ModSecurity *msc = msc_init();
    printf("library %s\n", msc_who_am_i(msc));

    RulesSet *rules = msc_create_rules_set();
    long total = 0;
    int failed = 0;
    static const char text_prefix[] = "@text:";
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        const char *error = NULL;
        int count;
        if (each && i > first) {
            msc_rules_cleanup(rules);
            rules = msc_create_rules_set();
        }
        if (strncmp(arg, text_prefix, sizeof text_prefix - 1) == 0) {
            count = msc_rules_add(rules, arg + sizeof text_prefix - 1, &error);
        } else {
            count = msc_rules_add_file(rules, arg, &error);
        }
        printf("%d\t%s\n", count, arg);
        if (count < 0) {
            failed = 1;
            fputs("error: ", stdout);
            if (error == NULL) {
                fputs("(null)", stdout);
            } else if (escape) {
                putchar('"');
                print_escaped(error);
                putchar('"');
            } else {
                fputs(error, stdout);
            }
            if (escape || error == NULL || error[0] == '\0' ||
                error[strlen(error) - 1] != '\n') {
                putchar('\n');
            }
        } else {
            total += count;
        }
        free_error(error);
        fflush(stdout);
    }
    printf("total %ld\n", total);

    msc_rules_cleanup(rules);
    msc_cleanup(msc);
    return failed ? 1 : 0;
}
