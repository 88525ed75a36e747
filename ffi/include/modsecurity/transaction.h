/*
 * Sekisho - libmodsecurity v3 compatible C API: transactions.
 *
 * Call order (phases): msc_process_connection (0), msc_process_uri, msc_add_*request_header,
 * msc_process_request_headers (1), msc_append_request_body / msc_request_body_from_file,
 * msc_process_request_body (2), msc_add_*response_header, msc_process_response_headers (3),
 * msc_append_response_body, msc_process_response_body (4), msc_process_logging (5). Poll
 * msc_intervention() after each step. Steps may be skipped. Functions returning int return
 * 1 on success and 0 on failure (NULL arguments, a body over its limit with Reject).
 */
#ifndef SEKISHO_MODSECURITY_TRANSACTION_H
#define SEKISHO_MODSECURITY_TRANSACTION_H

#include <stddef.h>
#include <stdint.h>

#include <modsecurity/intervention.h>
#include <modsecurity/modsecurity.h>

#ifdef __cplusplus
namespace modsecurity {
class RulesSet; /* <modsecurity/rules_set.h> */

/* Opaque but for one member that connectors written for libmodsecurity < 3.0.5 read
 * (OpenLiteSpeed's module 1.1-1.2: `transaction->m_rules->m_secRequestBodyAccess`): the rule
 * set the transaction was created with. Only msc_new_transaction* makes a Transaction. */
class Transaction {
 public:
    RulesSet *m_rules;

 protected:
    Transaction() = delete;
    Transaction(const Transaction &) = delete;
};

extern "C" {
#endif

#ifndef __cplusplus
typedef struct Transaction_t Transaction;
#endif
#if !defined(__cplusplus) && !defined(SEKISHO_RULES_SET_TYPEDEF)
#define SEKISHO_RULES_SET_TYPEDEF
typedef struct Rules_t RulesSet;
#endif

/* NULL if ms or rules is NULL. logCbData is passed back to the log callback. */
Transaction *msc_new_transaction(ModSecurity *ms, RulesSet *rules, void *logCbData);
/* id becomes UNIQUE_ID. */
Transaction *msc_new_transaction_with_id(ModSecurity *ms, RulesSet *rules, char *id,
                                         void *logCbData);

int msc_process_connection(Transaction *transaction, const char *client, int cPort,
                           const char *server, int sPort);
/* protocol is the request method ("GET"); http_version like "1.1". */
int msc_process_uri(Transaction *transaction, const char *uri, const char *protocol,
                    const char *http_version);

int msc_add_request_header(Transaction *transaction, const unsigned char *key,
                           const unsigned char *value);
int msc_add_n_request_header(Transaction *transaction, const unsigned char *key,
                             size_t len_key, const unsigned char *value, size_t len_value);
int msc_process_request_headers(Transaction *transaction);

int msc_append_request_body(Transaction *transaction, const unsigned char *body, size_t size);
int msc_request_body_from_file(Transaction *transaction, const char *path);
int msc_process_request_body(Transaction *transaction);

int msc_add_response_header(Transaction *transaction, const unsigned char *key,
                            const unsigned char *value);
int msc_add_n_response_header(Transaction *transaction, const unsigned char *key,
                              size_t len_key, const unsigned char *value, size_t len_value);
/* protocol like "HTTP 1.1". */
int msc_process_response_headers(Transaction *transaction, int code, const char *protocol);

int msc_append_response_body(Transaction *transaction, const unsigned char *body, size_t size);
int msc_process_response_body(Transaction *transaction);

/* The response body (NUL-terminated copy owned by the transaction) and body lengths. */
const char *msc_get_response_body(Transaction *transaction);
size_t msc_get_response_body_length(Transaction *transaction);
size_t msc_get_request_body_length(Transaction *transaction);

/* Sets RESPONSE_STATUS (e.g. after the server answered with an intervention's status). */
int msc_update_status_code(Transaction *transaction, int status);
int msc_process_logging(Transaction *transaction);

/* Non-zero when the server must act; see intervention.h. Resets the pending intervention. */
int msc_intervention(Transaction *transaction, ModSecurityIntervention *it);

/* The host name used in log lines. */
int msc_set_request_hostname(Transaction *transaction, const unsigned char *hostname);

/* Rule messages so far, and the rule ids of the first max of them (count returned). */
size_t msc_get_rules_messages_size(Transaction *transaction);
size_t msc_get_rules_messages_rule_ids(Transaction *transaction, int64_t *ids, size_t max);

void msc_transaction_cleanup(Transaction *transaction);

#ifdef __cplusplus
}  /* extern "C" */
}  /* namespace modsecurity */
#endif

#endif /* SEKISHO_MODSECURITY_TRANSACTION_H */
