/* The room and sync endpoint groups and what they share. */
#ifndef SCOP_HS_API_ROOMS_H
#define SCOP_HS_API_ROOMS_H

#include "homeserver/api.h"
#include "homeserver/filter.h"

extern const struct api_route api_rooms_routes[];
extern const size_t api_rooms_nroutes;
extern const struct api_route api_sync_routes[];
extern const size_t api_sync_nroutes;
extern const struct api_route api_profile_routes[];
extern const struct api_route api_extras_routes[];
extern const size_t api_extras_nroutes;
extern const size_t api_profile_nroutes;

/* Answers 404 (no room) or 403 (not joined) and returns -1. */
int api_require_joined(struct api_req *r, const char *room_id);

#endif
