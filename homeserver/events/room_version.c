/* The room version table; see room_version.h. */
#include "homeserver/events/room_version.h"

#include <string.h>

/*   id  event_id     redaction   sr  sr12   strict alias  redact notif  knock  restr  krestr intpl  creator rcont  rid12  priv   d53 */
static const struct room_version versions[] = {
	{ "1", EVENT_ID_V1, REDACT_V1, 1, false, false, true, true, false, false, false, false, false, true, false, false, false, false },
	{ "2", EVENT_ID_V1, REDACT_V1, 2, false, false, true, true, false, false, false, false, false, true, false, false, false, false },
	{ "3", EVENT_ID_V3, REDACT_V1, 2, false, false, true, false, false, false, false, false, false, true, false, false, false, false },
	{ "4", EVENT_ID_V4, REDACT_V1, 2, false, false, true, false, false, false, false, false, false, true, false, false, false, false },
	{ "5", EVENT_ID_V4, REDACT_V1, 2, false, false, true, false, false, false, false, false, false, true, false, false, false, false },
	{ "6", EVENT_ID_V4, REDACT_V6, 2, false, true, false, false, true, false, false, false, false, true, false, false, false, true },
	{ "7", EVENT_ID_V4, REDACT_V6, 2, false, true, false, false, true, true, false, false, false, true, false, false, false, true },
	{ "8", EVENT_ID_V4, REDACT_V8, 2, false, true, false, false, true, true, true, false, false, true, false, false, false, true },
	{ "9", EVENT_ID_V4, REDACT_V9, 2, false, true, false, false, true, true, true, false, false, true, false, false, false, true },
	{ "10", EVENT_ID_V4, REDACT_V9, 2, false, true, false, false, true, true, true, true, true, true, false, false, false, true },
	{ "11", EVENT_ID_V4, REDACT_V11, 2, false, true, false, false, true, true, true, true, true, false, true, false, false, true },
	{ "12", EVENT_ID_V4, REDACT_V11, 2, true, true, false, false, true, true, true, true, true, false, true, true, true, true },
};

const struct room_version *room_version_get(const char *id)
{
	if (!id)
		return NULL;
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (strcmp(versions[i].id, id) == 0)
			return &versions[i];
	return NULL;
}

const struct room_version *room_version_all(int *n)
{
	*n = (int)(sizeof(versions) / sizeof(versions[0]));
	return versions;
}
