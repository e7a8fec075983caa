/* bench_http: load for scopd's account endpoints over HTTP, with libcurl
 * multi.  Starts nothing itself: point it at a running homeserver and an
 * existing user (bench/bench_accounts.sh does all of that).
 *
 *   bench_http URL USER PASSWORD [--pid PID] [--requests N] [--clients 1,32]
 *
 * For each client count it measures POST /login (m.login.password) and
 * GET /account/whoami requests per second, each client keeping one
 * connection open; with --pid it reports the server's peak RSS (VmHWM).
 * Without arguments it explains itself and exits 0, so `make bench` passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#define MAX_CLIENTS 256

struct client {
	CURL *h;
	struct curl_slist *hdrs;
	char resp[4096];
	size_t resp_len;
};

struct run {
	const char *url;
	const char *body;        /* POST body, or NULL for GET */
	const char *auth_header; /* "Authorization: Bearer ..." or NULL */
	long requests;
	int clients;
	long done, failed, started;
};

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
	struct client *c = ud;
	size_t len = size * n;
	size_t room = sizeof(c->resp) - 1 - c->resp_len;
	if (len > room)
		len = room;
	memcpy(c->resp + c->resp_len, data, len);
	c->resp_len += len;
	c->resp[c->resp_len] = '\0';
	return size * n;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void setup(struct client *c, const struct run *r)
{
	c->resp_len = 0;
	c->resp[0] = '\0';
	curl_easy_setopt(c->h, CURLOPT_URL, r->url);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->h, CURLOPT_PRIVATE, c);
	curl_easy_setopt(c->h, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->hdrs);
	if (r->body)
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, r->body);
}

/* Runs r->requests requests with r->clients concurrent connections;
 * returns requests per second. */
static double run_load(struct run *r)
{
	struct client cl[MAX_CLIENTS];
	CURLM *m = curl_multi_init();
	int running = 0, left;
	double t0, t1;
	CURLMsg *msg;

	memset(cl, 0, sizeof(cl));
	r->done = r->failed = r->started = 0;
	for (int i = 0; i < r->clients; i++) {
		cl[i].h = curl_easy_init();
		cl[i].hdrs = curl_slist_append(NULL, "Content-Type: application/json");
		if (r->auth_header)
			cl[i].hdrs = curl_slist_append(cl[i].hdrs, r->auth_header);
	}
	t0 = now_s();
	for (int i = 0; i < r->clients && r->started < r->requests; i++) {
		setup(&cl[i], r);
		curl_multi_add_handle(m, cl[i].h);
		r->started++;
	}
	do {
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left))) {
			struct client *c;
			long status = 0;
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			if (msg->data.result != CURLE_OK || status != 200) {
				if (r->failed++ < 3)
					fprintf(stderr, "bench_http: status %ld (%s) %s\n", status,
						curl_easy_strerror(msg->data.result), c->resp);
			}
			r->done++;
			curl_multi_remove_handle(m, msg->easy_handle);
			if (r->started < r->requests) {
				setup(c, r);
				curl_multi_add_handle(m, c->h);
				r->started++;
				running = 1;
			}
		}
		if (running)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	} while (running || r->done < r->started);
	t1 = now_s();
	for (int i = 0; i < r->clients; i++) {
		curl_easy_cleanup(cl[i].h);
		curl_slist_free_all(cl[i].hdrs);
	}
	curl_multi_cleanup(m);
	return (double)r->done / (t1 - t0);
}

static long vm_hwm_kib(const char *pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;
	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Logs in once to get a token for the whoami runs. */
static char *get_token(const char *url, const char *body)
{
	struct client c;
	struct run r = { url, body, NULL, 1, 1, 0, 0, 0 };
	json_t *j;
	char *tok = NULL;

	memset(&c, 0, sizeof(c));
	c.h = curl_easy_init();
	c.hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	setup(&c, &r);
	if (curl_easy_perform(c.h) == CURLE_OK) {
		j = json_loads(c.resp, 0, NULL);
		if (json_is_string(json_object_get(j, "access_token")))
			tok = strdup(json_string_value(json_object_get(j, "access_token")));
		json_decref(j);
	}
	curl_easy_cleanup(c.h);
	curl_slist_free_all(c.hdrs);
	return tok;
}

int main(int argc, char **argv)
{
	const char *base, *user, *pw, *pid = NULL, *clients = "1,32";
	long requests = 0;
	char login_url[512], whoami_url[512], auth[1024], list[64];
	char *body, *tok, *save = NULL;
	json_t *jb;
	int rc = 0;

	if (argc < 4) {
		printf("bench_http: needs a running homeserver: bench_http URL USER PASSWORD "
		       "[--pid PID] [--requests N] [--clients 1,32]\n"
		       "  (bench/bench_accounts.sh starts scopd and runs this)\n");
		return 0;
	}
	base = argv[1];
	user = argv[2];
	pw = argv[3];
	for (int i = 4; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--pid") == 0)
			pid = argv[i + 1];
		else if (strcmp(argv[i], "--requests") == 0)
			requests = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--clients") == 0)
			clients = argv[i + 1];
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(login_url, sizeof(login_url), "%s/_matrix/client/v3/login", base);
	snprintf(whoami_url, sizeof(whoami_url), "%s/_matrix/client/v3/account/whoami", base);
	jb = json_pack("{s:s,s:{s:s,s:s},s:s}", "type", "m.login.password", "identifier", "type",
		       "m.id.user", "user", user, "password", pw);
	body = json_dumps(jb, JSON_COMPACT);
	json_decref(jb);
	tok = get_token(login_url, body);
	if (!tok) {
		fprintf(stderr, "bench_http: cannot log in as %s at %s\n", user, base);
		free(body);
		curl_global_cleanup();
		return 1;
	}
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
	snprintf(list, sizeof(list), "%s", clients);
	for (char *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
		int n = atoi(c);
		struct run lr, wr;
		double rate;
		if (n < 1 || n > MAX_CLIENTS)
			continue;
		lr = (struct run){ login_url, body, NULL, requests ? requests : 20L * n + 40, n, 0, 0, 0 };
		rate = run_load(&lr);
		printf("login   %3d clients: %6ld requests, %ld failed, %9.1f requests/s\n", n,
		       lr.done, lr.failed, rate);
		wr = (struct run){ whoami_url, NULL, auth, requests ? requests * 20 : 4000, n, 0, 0, 0 };
		rate = run_load(&wr);
		printf("whoami  %3d clients: %6ld requests, %ld failed, %9.1f requests/s\n", n,
		       wr.done, wr.failed, rate);
		if (lr.failed || wr.failed)
			rc = 1;
		fflush(stdout);
	}
	if (pid) {
		long kib = vm_hwm_kib(pid);
		if (kib >= 0)
			printf("scopd peak RSS (VmHWM): %ld KiB\n", kib);
	}
	free(tok);
	free(body);
	curl_global_cleanup();
	return rc;
}
