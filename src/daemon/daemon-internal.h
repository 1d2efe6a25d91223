/* Private to berthd's core: configuration (flags + daemon.json), the
 * events bus, the audit log and the request policy. */
#pragma once

#include "daemon/api.h"

/* -------------------------------------------------------------- config -- */

/* Parse berthd's command line into c (defaults first, then daemon.json,
 * then the flags again so they win). Returns 1 when --help/--version was
 * handled (exit 0), 0 to run, -1 with *err for bad flags or a bad file. */
int config_parse (struct berthd_config *c, int argc, char **argv, struct berth_error **err);
void config_free (struct berthd_config *c);
/* "nofile=1024:4096" → {"Name":"nofile","Soft":1024,"Hard":4096}. */
json_t *config_ulimit_parse (const char *spec, struct berth_error **err);

/* -------------------------------------------------------------- events -- */

struct events_bus *events_bus_new (void);
void events_bus_free (struct events_bus *b);
/* Build docker's event message (exposed for unit tests). */
json_t *events_message_new (const char *type, const char *action, const char *actor_id,
                            json_t *attributes, uint64_t time_ns);
/* Does an event match the /events filters? */
bool events_message_matches (const json_t *msg, const struct api_filters *f);
/* docker's timestamps for since/until: "<seconds>[.<nanos>]" or RFC 3339.
 * Returns 0 and the time in ns, or -1 with *err. */
int events_parse_time (const char *s, uint64_t now_ns, uint64_t *out_ns, struct berth_error **err);

/* --------------------------------------------------------------- audit -- */

struct audit_entry
{
  uint64_t time_ns;
  uid_t uid;
  pid_t pid;
  const char *method;
  const char *path;  /* as received, with the version prefix */
  const char *query; /* may be NULL */
  unsigned status;
  uint64_t duration_us;
  const char *denied; /* the policy's message when denied, else NULL */
};
int audit_log_open (const char *path, struct audit_log **out, struct berth_error **err);
void audit_log_close (struct audit_log *a);
void audit_log_write (struct audit_log *a, const struct audit_entry *e);
/* The JSON line of an entry (unit tests). */
json_t *audit_entry_json (const struct audit_entry *e);

/* -------------------------------------------------------------- policy -- */

/* A policy file:
 *   {"rules": [ {"action": "deny", "methods": ["POST", "DELETE"],
 *                "paths": ["/containers/{id}/exec"], "uids": [1000]}, … ],
 *    "default": "allow"}
 * Rules are tried in order; the first whose methods, paths and uids all
 * match decides (a missing list matches everything). Paths are without the
 * version prefix; "*" matches one segment, "**" any rest, "{name}" is "*".
 * No policy file: everything is allowed. */
int policy_load (const char *path, struct policy **out, struct berth_error **err);
int policy_parse (const json_t *j, struct policy **out, struct berth_error **err);
void policy_free (struct policy *p);
/* NULL when allowed; else the reason, newly allocated. uid -1: TCP peer. */
char *policy_check (const struct policy *p, uid_t uid, const char *method, const char *path);
