/*
 * Sekisho - libmodsecurity v3 compatible C API: what the server must do.
 */
#ifndef SEKISHO_MODSECURITY_INTERVENTION_H
#define SEKISHO_MODSECURITY_INTERVENTION_H

#ifdef __cplusplus
namespace modsecurity {
extern "C" {
#endif

/* Filled by msc_intervention() when it returns non-zero. Initialise it before the call
 * (status 200, pause 0, url NULL, log NULL, disruptive 0): it is left untouched when there
 * is nothing to do. url and log come from malloc(): release them with free() or
 * msc_intervention_cleanup(). */
typedef struct ModSecurityIntervention_t {
    int status;     /* HTTP status to answer with */
    int pause;      /* pause:N milliseconds, informational */
    char *url;      /* redirect target, or NULL */
    char *log;      /* the disruptive rule's log line, or NULL */
    int disruptive; /* non-zero: the server must interrupt the transaction */
} ModSecurityIntervention;

/* free()s url and log, then resets the struct (status 200, the rest 0/NULL). */
void msc_intervention_cleanup(ModSecurityIntervention *it);

#ifdef __cplusplus
}  /* extern "C" */
}  /* namespace modsecurity */
#endif

#endif /* SEKISHO_MODSECURITY_INTERVENTION_H */
