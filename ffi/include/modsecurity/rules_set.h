/*
 * Sekisho - libmodsecurity v3 compatible C API: rule sets.
 *
 * msc_rules_add* return the number of rules added as libmodsecurity counts them (a chain
 * once, each SecMarker 7) or -1; on -1, *error (when error is not NULL) receives a malloc'd
 * message "Rules error. File: F. Line: L. Column: C. ..." to release with free() or
 * msc_rules_error_cleanup(). A failed call loads nothing. Several calls accumulate.
 */
#ifndef SEKISHO_MODSECURITY_RULES_SET_H
#define SEKISHO_MODSECURITY_RULES_SET_H

#include <stdio.h>
#include <string.h>

#include <modsecurity/modsecurity.h>
#include <modsecurity/transaction.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef SEKISHO_RULES_SET_TYPEDEF
#define SEKISHO_RULES_SET_TYPEDEF
typedef struct Rules_t RulesSet;
#endif

RulesSet *msc_create_rules_set(void);
/* Prints the rules per phase to stdout. */
void msc_rules_dump(RulesSet *rules);
/* Appends rules_from's configuration to rules_dst: rules added, or -1 (+ *error). */
int msc_rules_merge(RulesSet *rules_dst, RulesSet *rules_from, const char **error);
/* Not supported (no network access): always -1 with *error set. */
int msc_rules_add_remote(RulesSet *rules, const char *key, const char *uri,
                         const char **error);
int msc_rules_add_file(RulesSet *rules, const char *file, const char **error);
int msc_rules_add(RulesSet *rules, const char *plain_rules, const char **error);
/* Frees the rule set (transactions created from it keep working); 1, or 0 for NULL. */
int msc_rules_cleanup(RulesSet *rules);
/* free(error). */
void msc_rules_error_cleanup(const char *error);

#ifdef __cplusplus
}
#endif

#endif /* SEKISHO_MODSECURITY_RULES_SET_H */
