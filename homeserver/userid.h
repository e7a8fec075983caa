/* Matrix identifier grammar: server names, user-id localparts and full user
 * ids, per the spec's "Common identifier format" appendix.
 *
 * Contract: pure functions over NUL-terminated strings; nothing is
 * allocated except by hs_user_id_make(), whose result the caller frees.
 */
#ifndef SCOP_HS_USERID_H
#define SCOP_HS_USERID_H

#include <stdbool.h>
#include <stddef.h>

#define HS_USER_ID_MAX 255

/* host[:port], where host is a DNS name, an IPv4 address or [IPv6]. */
bool hs_server_name_valid(const char *name);
/* A localpart new registrations may take: [a-z0-9._=/+-], non-empty, not
 * starting with '_' (reserved for bridges) and not all digits (guests). */
bool hs_localpart_valid_new(const char *localpart);
/* Any historical localpart (printable ASCII except ':'): for logins. */
bool hs_localpart_valid_any(const char *localpart);
/* Splits "@local:server"; writes the localpart (NUL-terminated) into
 * local[locallen] and points *server into id.  Returns false when id is
 * not a user id or the localpart does not fit. */
bool hs_user_id_split(const char *id, char *local, size_t locallen, const char **server);
/* "@local:server", or NULL when it would pass 255 bytes or memory runs out. */
char *hs_user_id_make(const char *localpart, const char *server_name);

#endif
