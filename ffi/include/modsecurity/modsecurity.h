/*
 * Sekisho - libmodsecurity v3 compatible C API: engine handle, log callback, version.
 *
 * Declarations written for Sekisho (sekisho-ffi); they match the C API of libmodsecurity
 * 3.0.15 so that connectors built for libmodsecurity (nginx, OpenLiteSpeed, Apache) compile
 * and link unchanged. The C API is provided, and for C++ callers the same declarations sit in
 * namespace modsecurity, as libmodsecurity's own headers put them (`using namespace
 * modsecurity;` compiles). Of the C++ classes only what connectors read is declared: the data
 * members at the start of RulesSet (<modsecurity/rules_set.h>); the handles stay opaque.
 */
#ifndef SEKISHO_MODSECURITY_MODSECURITY_H
#define SEKISHO_MODSECURITY_MODSECURITY_H

/* Version of the libmodsecurity API implemented. NUM = major, minor, two-digit patch
 * level, then the tag number ("100" = release), as libmodsecurity >= 3.0.10 writes it. */
#define MODSECURITY_MAJOR "3"
#define MODSECURITY_MINOR "0"
#define MODSECURITY_PATCHLEVEL "15"
#define MODSECURITY_TAG ""
#define MODSECURITY_TAG_NUM "100"
#define MODSECURITY_VERSION MODSECURITY_MAJOR "." MODSECURITY_MINOR "." MODSECURITY_PATCHLEVEL MODSECURITY_TAG
#define MODSECURITY_VERSION_NUM 30150100
/* True when the headers are at least version a (same encoding as MODSECURITY_VERSION_NUM). */
#define MODSECURITY_CHECK_VERSION(a) (MODSECURITY_VERSION_NUM <= a)

/* Marks these headers as Sekisho's (libmodsecurity's own headers do not define it). */
#define SEKISHO_MODSECURITY_API 1

#ifdef __cplusplus
namespace modsecurity {
extern "C" {
#endif

typedef struct ModSecurity_t ModSecurity;
#ifndef __cplusplus
typedef struct ModSecurity_t modsecurity;
#endif

/* Log callback: (logCbData given to msc_new_transaction*, NUL-terminated log line as
 * const char *). Called for each rule match that logs; not for intervention logs. */
typedef void (*ModSecLogCb)(void *, const void *);

/* Accepted for source compatibility; the C API always uses text lines. */
enum LogProperty {
    TextLogProperty = 1,
    RuleMessageLogProperty = 2,
    IncludeFullHighlightLogProperty = 4
};

/* A new engine handle (NULL on internal failure). */
ModSecurity *msc_init(void);
/* "ModSecurity v3.0.15 (Linux)"; static storage. NULL if msc is NULL. */
const char *msc_who_am_i(ModSecurity *msc);
/* Records the connector's name/version (e.g. "ModSecurity-nginx v1.0.3"). */
void msc_set_connector_info(ModSecurity *msc, const char *connector);
/* Sets the log callback used by transactions created afterwards (NULL: none). */
void msc_set_log_cb(ModSecurity *msc, ModSecLogCb cb);
/* Frees the engine handle; NULL is ignored. */
void msc_cleanup(ModSecurity *msc);

#ifdef __cplusplus
}  /* extern "C" */
}  /* namespace modsecurity */
#endif

/* As with libmodsecurity, including this header also declares the transaction API. */
#include <modsecurity/intervention.h>
#include <modsecurity/transaction.h>

#endif /* SEKISHO_MODSECURITY_MODSECURITY_H */
