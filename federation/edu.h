/* Inbound EDUs of a /send transaction (server-server API, "EDUs"):
 * m.typing, m.receipt, m.presence, m.device_list_update,
 * m.direct_to_device.  Each is applied to the local rooms (typing lists,
 * receipts, presence) after checking that what it speaks of belongs to
 * origin; the spec has no per-EDU answer, so a bad EDU is logged and
 * skipped, never an error for the transaction.
 *
 * Contract: edu is borrowed; returns 0 when applied, -1 when skipped.
 */
#ifndef SCOP_FED_EDU_H
#define SCOP_FED_EDU_H

#include <jansson.h>

struct fed_service;

int fed_edu_handle(struct fed_service *fs, const char *origin, const json_t *edu);

#endif
