/* The relations, threads and search endpoint groups (api_relations.c,
 * api_search.c).  main.c adds them after hs_rooms_start() and opens
 * struct hs's relsearch store they use. */
#ifndef SCOP_HS_API_RELSEARCH_H
#define SCOP_HS_API_RELSEARCH_H

#include "homeserver/api.h"
#include "homeserver/store/store_relsearch.h"

extern const struct api_route api_relations_routes[];
extern const size_t api_relations_nroutes;
extern const struct api_route api_search_routes[];
extern const size_t api_search_nroutes;

/* scopd's relations/search store (borrowed from struct hs), or NULL after
 * answering 404 (rooms or the store are off). */
struct relsearch *api_relsearch(struct api_req *r);

#endif
