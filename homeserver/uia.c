#include "homeserver/uia.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/log.h"
#include "homeserver/api.h"
#include "homeserver/auth.h"

#define UIA_MAX_SESSIONS 4096

struct uia_session {
	char id[UIA_SESSION_LEN + 1];
	char action[32];
	char *user_id;
	char *regtoken;
	unsigned completed;
	int64_t created_ms;
};

struct uia {
	pthread_mutex_t lock;
	struct uia_session s[UIA_MAX_SESSIONS];
	size_t n;
	uia_release_fn release;
	void *ctx;
};

struct uia *uia_new(uia_release_fn release, void *ctx)
{
	struct uia *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	pthread_mutex_init(&u->lock, NULL);
	u->release = release;
	u->ctx = ctx;
	return u;
}

/* Removes session i; its token goes to *keep when given, else is released. */
static void drop(struct uia *u, size_t i, char **keep)
{
	struct uia_session *s = &u->s[i];
	if (s->regtoken) {
		if (keep) {
			*keep = s->regtoken;
			s->regtoken = NULL;
		} else if (u->release) {
			u->release(u->ctx, s->regtoken);
		}
	}
	free(s->regtoken);
	free(s->user_id);
	u->s[i] = u->s[--u->n];
}

void uia_free(struct uia *u)
{
	if (!u)
		return;
	while (u->n)
		drop(u, u->n - 1, NULL);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

static void expire(struct uia *u, int64_t now_ms)
{
	for (size_t i = 0; i < u->n;) {
		if (now_ms - u->s[i].created_ms > UIA_LIFETIME_MS)
			drop(u, i, NULL);
		else
			i++;
	}
}

static struct uia_session *find(struct uia *u, const char *id, size_t *idx)
{
	for (size_t i = 0; i < u->n; i++) {
		if (strcmp(u->s[i].id, id) == 0) {
			if (idx)
				*idx = i;
			return &u->s[i];
		}
	}
	return NULL;
}

int uia_session_new(struct uia *u, const char *action, const char *user_id,
		    int64_t now_ms, char id[UIA_SESSION_LEN + 1])
{
	struct uia_session *s;
	if (scop_random_token(id, UIA_SESSION_LEN) < 0)
		return -1;
	pthread_mutex_lock(&u->lock);
	expire(u, now_ms);
	if (u->n == UIA_MAX_SESSIONS)
		drop(u, 0, NULL);
	s = &u->s[u->n];
	memset(s, 0, sizeof(*s));
	memcpy(s->id, id, UIA_SESSION_LEN + 1);
	snprintf(s->action, sizeof(s->action), "%s", action);
	s->user_id = strdup(user_id);
	s->created_ms = now_ms;
	if (!s->user_id) {
		pthread_mutex_unlock(&u->lock);
		return -1;
	}
	u->n++;
	pthread_mutex_unlock(&u->lock);
	return 0;
}

int uia_session_get(struct uia *u, const char *id, const char *action,
		    const char *user_id, int64_t now_ms, unsigned *completed)
{
	struct uia_session *s;
	int rc = -1;
	pthread_mutex_lock(&u->lock);
	expire(u, now_ms);
	s = find(u, id, NULL);
	if (s && strcmp(s->action, action) == 0 && strcmp(s->user_id, user_id) == 0) {
		*completed = s->completed;
		rc = 0;
	}
	pthread_mutex_unlock(&u->lock);
	return rc;
}

int uia_session_complete(struct uia *u, const char *id, unsigned stage, const char *regtoken)
{
	struct uia_session *s;
	int rc = -1;
	pthread_mutex_lock(&u->lock);
	s = find(u, id, NULL);
	if (s) {
		s->completed |= stage;
		if (regtoken) {
			if (s->regtoken && u->release)
				u->release(u->ctx, s->regtoken);
			free(s->regtoken);
			s->regtoken = strdup(regtoken);
		}
		rc = 0;
	}
	pthread_mutex_unlock(&u->lock);
	return rc;
}

void uia_session_finish(struct uia *u, const char *id, char **regtoken)
{
	size_t i;
	if (regtoken)
		*regtoken = NULL;
	pthread_mutex_lock(&u->lock);
	if (find(u, id, &i))
		drop(u, i, regtoken);
	pthread_mutex_unlock(&u->lock);
}

/* 401 with the flows, the session and what is done so far. */
static void answer_401(struct api_req *r, const char *session, unsigned completed,
		       const char *errcode, const char *error)
{
	json_t *body = json_pack("{s:[{s:[s]}],s:{},s:s,s:[]}", "flows", "stages",
				 "m.login.password", "params", "session", session, "completed");
	if (body && (completed & UIA_PASSWORD))
		json_array_append_new(json_object_get(body, "completed"),
				      json_string("m.login.password"));
	if (body && errcode) {
		json_object_set_new(body, "errcode", json_string(errcode));
		json_object_set_new(body, "error", json_string(error));
	}
	api_reply(r, 401, body);
}

int uia_require_password(struct api_req *r, const char *action)
{
	struct hs *hs = r->hs;
	json_t *auth;
	const char *session = NULL, *type = NULL, *password = NULL;
	char newid[UIA_SESSION_LEN + 1];
	char *user = NULL, *canonical = NULL;
	unsigned completed = 0;
	int64_t now = http_now_ms(), retry = 0;
	int rc = -1;

	if (api_opt_object(r, r->body, "auth", &auth) < 0)
		return -1;
	if (auth && (api_opt_string(r, auth, "session", &session) < 0 ||
		     api_opt_string(r, auth, "type", &type) < 0))
		return -1;
	if (session && uia_session_get(hs->uia, session, action, r->who.user_id, now,
				       &completed) < 0) {
		api_error(r, 400, "M_UNKNOWN", "Unknown UIA session");
		return -1;
	}
	if (!session) {
		if (uia_session_new(hs->uia, action, r->who.user_id, now, newid) < 0) {
			api_error(r, 500, "M_UNKNOWN", "Internal server error");
			return -1;
		}
		session = newid;
	}
	if (completed & UIA_PASSWORD)
		goto done;
	if (!auth || !type) {
		answer_401(r, session, completed, NULL, NULL);
		return -1;
	}
	if (strcmp(type, "m.login.password") != 0) {
		answer_401(r, session, completed, "M_UNRECOGNIZED", "Unsupported authentication type");
		return -1;
	}
	if (api_req_string(r, auth, "password", &password) < 0)
		return -1;
	if (json_object_get(auth, "identifier") || json_object_get(auth, "user")) {
		if (auth_identifier_user(r, auth, &user) < 0)
			return -1;
	}
	switch (auth_check_password(hs, user ? user : r->who.user_id, password,
				    r->http->remote_ip, &retry, &canonical)) {
	case AUTH_PW_OK:
		if (strcmp(canonical, r->who.user_id) != 0) {
			answer_401(r, session, completed, "M_FORBIDDEN",
				   "Authenticated as the wrong user");
			goto out;
		}
		uia_session_complete(hs->uia, session, UIA_PASSWORD, NULL);
		break;
	case AUTH_PW_LIMITED:
		api_ratelimited(r, retry);
		goto out;
	case AUTH_PW_DEACTIVATED:
	case AUTH_PW_WRONG:
		answer_401(r, session, completed, "M_FORBIDDEN", "Invalid password");
		goto out;
	default:
		api_error(r, 500, "M_UNKNOWN", "Internal server error");
		goto out;
	}
done:
	uia_session_finish(hs->uia, session, NULL);
	rc = 0;
out:
	free(user);
	free(canonical);
	return rc;
}
