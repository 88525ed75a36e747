/*
 * connector.cc - a C++ client written the way OpenLiteSpeed's modsecurity-ls module uses
 * libmodsecurity: `using namespace modsecurity;`, the C API from C++, and RulesSet's data
 * members read directly (request/response body access, body limits). Built against Sekisho's
 * headers and linked with its staticlib by ffi/tests/c_smoke.rs. Prints two lines; exit 0.
 */
#include <modsecurity/modsecurity.h>
#include <modsecurity/rules_set.h>
#include <modsecurity/rules.h> /* the old header name modsecurity-ls 1.1/1.2 include */
#include <modsecurity/transaction.h>

#include <cstdio>
#include <cstdlib>

using namespace modsecurity;

int main() {
    ModSecurity *ms = msc_init();
    msc_set_connector_info(ms, "connector.cc");
    RulesSet *rules = msc_create_rules_set();
    const char *error = NULL;
    int n = msc_rules_add(rules,
                          "SecRuleEngine On\n"
                          "SecRequestBodyAccess On\n"
                          "SecRequestBodyLimit 4000\n"
                          "SecRule ARGS \"@rx attack\" \"id:1,phase:2,deny,status:403\"\n",
                          &error);
    if (n < 0) {
        printf("rules error: %s\n", error);
        return 1;
    }
    /* the pre-3.0.5 names, as OpenLiteSpeed's module 1.2 writes them */
    Rules *old = rules;
    bool request = old->m_secRequestBodyAccess == RulesProperties::TrueConfigBoolean;
    bool response = rules->m_secResponseBodyAccess == RulesSetProperties::TrueConfigBoolean;
    printf("rules %d; request body access %s; response body access %s; request body limit %.0f\n",
           n, request ? "yes" : "no", response ? "yes" : "no",
           rules->m_requestBodyLimit.m_value);

    Transaction *t = msc_new_transaction(ms, rules, NULL);
    /* OpenLiteSpeed's module 1.1-1.2 reaches the rule set through the transaction */
    if (t->m_rules != rules || !(t->m_rules->m_requestBodyLimit.m_value == 4000)) {
        printf("m_rules is not the rule set\n");
        return 1;
    }
    msc_process_connection(t, "127.0.0.1", 40000, "127.0.0.1", 80);
    msc_process_uri(t, "/?a=attack", "GET", "1.1");
    msc_process_request_headers(t);
    msc_process_request_body(t);
    ModSecurityIntervention it;
    it.status = 200;
    it.pause = 0;
    it.url = NULL;
    it.log = NULL;
    it.disruptive = 0;
    int disruptive = msc_intervention(t, &it);
    printf("disruptive %d; status %d\n", disruptive, it.status);
    free(it.url);
    free(it.log);
    msc_transaction_cleanup(t);
    msc_rules_cleanup(rules);
    msc_cleanup(ms);
    return 0;
}
