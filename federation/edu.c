/* Inbound EDUs.  See edu.h. */
#include "federation/edu.h"

#include "federation/api_federation.h"

int fed_edu_handle(struct fed_service *fs, const char *origin, const json_t *edu)
{
	(void)fs;
	(void)origin;
	(void)edu;
	return -1;
}
