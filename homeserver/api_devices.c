/* Devices: list, get, rename, delete one (UIA), delete many (UIA). */
#include <stdlib.h>
#include <string.h>

#include "homeserver/api.h"
#include "homeserver/auth.h"
#include "homeserver/uia.h"

static json_t *device_json(const struct store_device *d)
{
	json_t *j = json_pack("{s:s}", "device_id", d->device_id);
	if (!j)
		return NULL;
	json_object_set_new(j, "display_name", d->display_name ? json_string(d->display_name) : json_null());
	json_object_set_new(j, "last_seen_ip", d->last_seen_ip ? json_string(d->last_seen_ip) : json_null());
	json_object_set_new(j, "last_seen_ts", d->last_seen_ts ? json_integer(d->last_seen_ts) : json_null());
	return j;
}

static void list_devices(struct api_req *r)
{
	struct store_device *list = NULL;
	size_t n = 0;
	json_t *arr;

	if (store_device_list(r->hs->store, r->who.user_id, &list, &n) != STORE_OK) {
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, device_json(&list[i]));
	store_device_list_free(list, n);
	api_reply(r, 200, json_pack("{s:o}", "devices", arr));
}

static void get_device(struct api_req *r)
{
	struct store_device d;
	enum store_rc rc;

	memset(&d, 0, sizeof(d));
	rc = store_device_get(r->hs->store, r->who.user_id, api_param(r, 0), &d);
	if (rc == STORE_OK)
		api_reply(r, 200, device_json(&d));
	else if (rc == STORE_NOT_FOUND)
		api_error(r, 404, "M_NOT_FOUND", "Device not found");
	else
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
	store_device_clear(&d);
}

static void update_device(struct api_req *r)
{
	const char *name;
	enum store_rc rc;

	if (api_opt_string(r, r->body, "display_name", &name) < 0)
		return;
	if (name && strlen(name) > 512) {
		api_error(r, 400, "M_TOO_LARGE", "display_name is too long");
		return;
	}
	if (!json_object_get(r->body, "display_name")) {
		/* Nothing to change, but the device must exist. */
		struct store_device d;
		memset(&d, 0, sizeof(d));
		rc = store_device_get(r->hs->store, r->who.user_id, api_param(r, 0), &d);
		store_device_clear(&d);
	} else {
		rc = store_device_set_display_name(r->hs->store, r->who.user_id, api_param(r, 0), name);
	}
	if (rc == STORE_OK)
		api_reply(r, 200, json_object());
	else if (rc == STORE_NOT_FOUND)
		api_error(r, 404, "M_NOT_FOUND", "Device not found");
	else
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
}

static void delete_device(struct api_req *r)
{
	enum store_rc rc;

	if (uia_require_password(r, "delete_device") < 0)
		return;
	rc = store_device_delete(r->hs->store, r->who.user_id, api_param(r, 0));
	if (rc == STORE_OK)
		api_reply(r, 200, json_object());
	else if (rc == STORE_NOT_FOUND)
		api_error(r, 404, "M_NOT_FOUND", "Device not found");
	else
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
}

static void delete_devices(struct api_req *r)
{
	json_t *devices = json_object_get(r->body, "devices"), *d;
	size_t i;

	if (!devices) {
		api_error(r, 400, "M_MISSING_PARAM", "Missing parameter: devices");
		return;
	}
	if (!json_is_array(devices)) {
		api_error(r, 400, "M_BAD_JSON", "'devices' must be a list of strings");
		return;
	}
	json_array_foreach(devices, i, d) {
		if (!json_is_string(d)) {
			api_error(r, 400, "M_BAD_JSON", "'devices' must be a list of strings");
			return;
		}
	}
	if (uia_require_password(r, "delete_devices") < 0)
		return;
	json_array_foreach(devices, i, d) {
		/* Unknown devices are skipped, as the spec allows. */
		if (store_device_delete(r->hs->store, r->who.user_id, json_string_value(d)) == STORE_ERROR) {
			api_error(r, 500, "M_UNKNOWN", "Internal server error");
			return;
		}
	}
	api_reply(r, 200, json_object());
}

const struct api_route api_devices_routes[] = {
	{ "GET", "/devices", list_devices, API_CLIENT_R0 | API_CLIENT_V3 | API_AUTH },
	{ "GET", "/devices/{deviceId}", get_device, API_CLIENT_R0 | API_CLIENT_V3 | API_AUTH },
	{ "PUT", "/devices/{deviceId}", update_device,
	  API_CLIENT_R0 | API_CLIENT_V3 | API_AUTH | API_JSON },
	{ "DELETE", "/devices/{deviceId}", delete_device,
	  API_CLIENT_R0 | API_CLIENT_V3 | API_AUTH | API_JSON_OPTIONAL },
	{ "POST", "/delete_devices", delete_devices,
	  API_CLIENT_R0 | API_CLIENT_V3 | API_AUTH | API_JSON },
};
const size_t api_devices_nroutes = sizeof(api_devices_routes) / sizeof(api_devices_routes[0]);
