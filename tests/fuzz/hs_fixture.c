#include "tests/fuzz/hs_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/yamljson.h"
#include "homeserver/store/store.h"

int hs_fixture_open(struct hs_fixture *f, const char *tag, const char *yaml, unsigned flags,
		    char *err, size_t errcap)
{
	json_t *root;

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/scop-fuzz-%s-XXXXXX", tag);
	if (!mkdtemp(f->dir)) {
		snprintf(err, errcap, "mkdtemp");
		return -1;
	}
	snprintf(f->db, sizeof(f->db), "%s/hs.db", f->dir);
	hs_config_init(&f->cfg);
	f->ready = 1;
	root = yaml_load_string(yaml, strlen(yaml), err, errcap);
	if (!root || hs_config_parse(&f->cfg, root, f->dir, err, errcap) < 0) {
		json_decref(root);
		return -1;
	}
	json_decref(root);
	if (flags & HS_FIXTURE_KEY) {
		struct scop_ed25519 key;
		int rc = scop_ed25519_generate(&key, "fuzz") < 0 ||
			 scop_ed25519_save(f->cfg.signing_key_path, &key) < 0;
		scop_ed25519_clear(&key);
		if (rc) {
			snprintf(err, errcap, "key");
			return -1;
		}
	}
	if (store_open("sqlite", f->db, &f->st, err, errcap) != STORE_OK ||
	    hs_init(&f->hs, &f->cfg, f->st) < 0)
		return -1;
	if (flags & HS_FIXTURE_ROOMS) {
		if (hs_rooms_start(&f->hs, "sqlite", f->db, err, errcap) < 0)
			return -1;
		f->rooms = 1;
	}
	return 0;
}

void hs_fixture_stop_rooms(struct hs_fixture *f)
{
	if (!f->rooms)
		return;
	hs_rooms_stop(&f->hs);
	hs_rooms_free(&f->hs);
	f->rooms = 0;
}

void hs_fixture_close(struct hs_fixture *f)
{
	static const char *files[] = { "hs.db", "hs.db-wal", "hs.db-shm", "signing.key" };
	char p[128];

	if (!f->ready)
		return;
	hs_fixture_stop_rooms(f);
	hs_free(&f->hs);
	store_close(f->st);
	f->st = NULL;
	hs_config_free(&f->cfg);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, files[i]);
		unlink(p);
	}
	rmdir(f->dir);
	f->ready = 0;
}

void hs_fixture_dispatch(struct hs_fixture *f, struct http_request *rq, const char *method,
			 const char *path, char *body, size_t len, const char *token)
{
	memset(rq, 0, sizeof(*rq));
	rq->method = method;
	rq->path = path;
	strcpy(rq->remote_ip, "127.0.0.1");
	rq->max_body = f->cfg.max_request_body;
	rq->body = body;
	rq->body_len = len;
	rq->test_token = token;
	hs_dispatch(&f->hs, rq);
}

int fuzz_request_line(struct fuzz_request_line *l, const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t n = nl ? (size_t)(nl - (const char *)data) : size;
	char *sp;

	if (n >= sizeof(l->line) || memchr(data, '\0', n))
		return -1;
	memcpy(l->line, data, n);
	l->line[n] = '\0';
	sp = strchr(l->line, ' ');
	if (!sp || (size_t)(sp - l->line) >= sizeof(l->method))
		return -1;
	memcpy(l->method, l->line, (size_t)(sp - l->line));
	l->method[sp - l->line] = '\0';
	l->target = sp + 1;
	l->body = nl ? nl + 1 : NULL;
	l->body_len = nl ? size - n - 1 : 0;
	return 0;
}
