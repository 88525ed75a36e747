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
namespace modsecurity {

/* libmodsecurity's configuration value holders. */
class ConfigDouble {
 public:
    bool m_set;
    double m_value;
};

class ConfigInt {
 public:
    bool m_set;
    int m_value;
};

/* The data members that begin libmodsecurity's RulesSet (its base RulesSetProperties), with
 * libmodsecurity's names, types and offsets (x86_64; the same in 3.0.9 and 3.0.13+). Sekisho
 * keeps them current after every msc_rules_add* and msc_rules_merge, so a connector may read
 * them as OpenLiteSpeed's module does (m_secRequestBodyAccess, m_secResponseBodyAccess,
 * m_requestBodyLimit.m_value, m_responseBodyLimit.m_value). The pointers are always NULL.
 * Read-only: writing them changes nothing. Only msc_create_rules_set makes a RulesSet. */
class RulesSetProperties {
 public:
    enum ConfigBoolean {
        TrueConfigBoolean,
        FalseConfigBoolean,
        PropertyNotSetConfigBoolean
    };
    enum BodyLimitAction {
        ProcessPartialBodyLimitAction,
        RejectBodyLimitAction
    };
    enum RuleEngine {
        DisabledRuleEngine,
        EnabledRuleEngine,
        DetectionOnlyRuleEngine,
        PropertyNotSetRuleEngine
    };

    void *m_auditLog;
    BodyLimitAction m_requestBodyLimitAction;
    BodyLimitAction m_responseBodyLimitAction;
    ConfigBoolean m_secRequestBodyAccess;
    ConfigBoolean m_secResponseBodyAccess;
    ConfigBoolean m_secXMLExternalEntity;
    ConfigBoolean m_tmpSaveUploadedFiles;
    ConfigBoolean m_uploadKeepFiles;
    ConfigDouble m_argumentsLimit;
    ConfigDouble m_requestBodyJsonDepthLimit;
    ConfigDouble m_requestBodyLimit;
    ConfigDouble m_requestBodyNoFilesLimit;
    ConfigDouble m_responseBodyLimit;
    ConfigInt m_uploadFileLimit;
    ConfigInt m_uploadFileMode;
    void *m_debugLog;
    int m_remoteRulesActionOnFailed;
    RuleEngine m_secRuleEngine;

 protected:
    RulesSetProperties() = delete;
    RulesSetProperties(const RulesSetProperties &) = delete;
};

class RulesSet : public RulesSetProperties {
 protected:
    RulesSet() = delete;
    RulesSet(const RulesSet &) = delete;
};

/* The names older connectors use (libmodsecurity < 3.0.5). */
typedef RulesSet Rules;
typedef RulesSetProperties RulesProperties;

extern "C" {
#endif

#if !defined(__cplusplus) && !defined(SEKISHO_RULES_SET_TYPEDEF)
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
}  /* extern "C" */
}  /* namespace modsecurity */
#endif

#endif /* SEKISHO_MODSECURITY_RULES_SET_H */
