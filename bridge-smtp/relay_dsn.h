/* Delivery status notifications (RFC 3464): the bounce the relay sends
 * to a message's sender for the recipients that failed for good, as
 * multipart/report; report-type=delivery-status with a human-readable
 * part, the message/delivery-status part and the original's header
 * (text/rfc822-headers).  The envelope sender of a DSN is <> and the
 * relay never bounces a message whose sender is <>.
 *
 * Memory: the DSN is appended to a caller-owned buffer (CRLF lines).
 * Returns 0, or -1 when memory runs out or nothing failed.
 */
#ifndef SCOP_RELAY_DSN_H
#define SCOP_RELAY_DSN_H

#include <stdint.h>

#include "bridge-smtp/relay_state.h"
#include "bridge-smtp/spool.h"
#include "common/buf.h"

/* Reports every recipient of m in state RELAY_FAILED.  reporting_mta is
 * our host name; now is the time of the report. */
int relay_dsn_build(const char *reporting_mta, const struct spool_message *m, const struct relay_state *st,
		    int64_t now, struct buf *out);

#endif
