/*
 * Sekisho - libmodsecurity v3 compatible C API: the rule set under its old header name.
 *
 * Up to libmodsecurity 3.0.4 this header declared the rule set (`Rules`, with
 * msc_create_rules_set and msc_rules_add*); 3.0.5 renamed it `RulesSet` in rules_set.h and
 * reused `rules.h` for an internal rule list no connector uses. Connectors written for the old
 * API (OpenLiteSpeed's modsecurity-ls 1.1/1.2 includes <modsecurity/rules.h> and declares
 * `Rules *`) compile unchanged: `Rules` is a typedef of `RulesSet` in rules_set.h.
 */
#ifndef SEKISHO_MODSECURITY_RULES_H
#define SEKISHO_MODSECURITY_RULES_H

#include <modsecurity/rules_set.h>

#endif /* SEKISHO_MODSECURITY_RULES_H */
