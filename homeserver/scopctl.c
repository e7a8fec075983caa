/* scopctl: administration from the command line, over scopd's HTTP API.
 *   scopctl register -c CONFIG -u USER [-p PASS] [--admin] [--url URL]
 * Registers a user with Synapse's shared-secret scheme, so it works
 * whether or not open registration is enabled (and against Synapse too).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "homeserver/config.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: scopctl register -c CONFIG [-u USER] [-p PASSWORD] [--admin] [--url URL]\n"
		   "  what is not given is asked for (the password without echo), or read\n"
		   "  from standard input, one line each, when it is not a terminal\n");
}

/* Reads one line from stdin (prompting on a terminal, without echo when
 * secret); malloc'd without the newline, or NULL at end of input. */
static char *read_line(const char *prompt, int secret)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), hidden = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		if (secret && tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			hidden = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
		}
	}
	n = getline(&line, &cap, stdin);
	if (hidden) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (n <= 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;
	if (buf_append(b, data, size * n) < 0)
		return 0;
	return size * n;
}

/* Performs one request; *out gets the parsed JSON answer. Returns the HTTP
 * status, or -1 when the server could not be reached. */
static long request(const char *url, const char *post, json_t **out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct buf b;
	long status = -1;

	*out = NULL;
	if (!c)
		return -1;
	buf_init(&b, 1 << 20);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (post) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	}
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		*out = json_loadb(b.data ? b.data : "", b.len, 0, NULL);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	buf_free(&b);
	return status;
}

static char *default_url(const struct hs_config *cfg)
{
	const char *addr = cfg->nbinds ? cfg->binds[0].addr : "127.0.0.1";
	int port = cfg->nbinds ? cfg->binds[0].port : 8008;
	char *url;
	if (strcmp(addr, "0.0.0.0") == 0)
		addr = "127.0.0.1";
	else if (strcmp(addr, "::") == 0)
		addr = "::1";
	if (asprintf(&url, strchr(addr, ':') ? "http://[%s]:%d" : "http://%s:%d", addr, port) < 0)
		return NULL;
	return url;
}

static int do_register(const struct hs_config *cfg, const char *base, const char *user,
		       const char *pw, int admin)
{
	char url[1024], hex[129];
	unsigned char md[64];
	size_t mdlen;
	struct buf msg = BUF_INIT;
	json_t *ans = NULL, *body = NULL;
	char *post = NULL;
	const char *nonce;
	long st;
	int rc = 1;

	if (!cfg->registration_shared_secret) {
		fprintf(stderr, "scopctl: the config has no registration_shared_secret\n");
		return 1;
	}
	snprintf(url, sizeof(url), "%s/_synapse/admin/v1/register", base);
	st = request(url, NULL, &ans);
	nonce = json_string_value(json_object_get(ans, "nonce"));
	if (st != 200 || !nonce) {
		fprintf(stderr, "scopctl: cannot get a nonce from %s (status %ld)\n", url, st);
		goto out;
	}
	buf_append(&msg, nonce, strlen(nonce) + 1);
	buf_append(&msg, user, strlen(user) + 1);
	buf_append(&msg, pw, strlen(pw) + 1);
	buf_puts(&msg, admin ? "admin" : "notadmin");
	if (!msg.data || scop_hmac("sha1", cfg->registration_shared_secret,
				   strlen(cfg->registration_shared_secret), msg.data, msg.len,
				   md, &mdlen) < 0)
		goto out;
	scop_hex(md, mdlen, hex);
	body = json_pack("{s:s,s:s,s:s,s:b,s:s}", "nonce", nonce, "username", user,
			 "password", pw, "admin", admin, "mac", hex);
	post = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(ans);
	ans = NULL;
	if (!post)
		goto out;
	st = request(url, post, &ans);
	if (st == 200) {
		printf("registered %s\n", json_string_value(json_object_get(ans, "user_id")));
		rc = 0;
	} else {
		fprintf(stderr, "scopctl: registration failed (status %ld): %s %s\n", st,
			json_string_value(json_object_get(ans, "errcode")) ?: "",
			json_string_value(json_object_get(ans, "error")) ?: "");
	}
out:
	if (post) {
		explicit_bzero(post, strlen(post));
		free(post);
	}
	if (msg.data)
		explicit_bzero(msg.data, msg.len);
	buf_free(&msg);
	json_decref(body);
	json_decref(ans);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'p' },
		{ "admin", no_argument, NULL, 'a' },
		{ "url", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *user = NULL, *url = NULL;
	char *pw = NULL, *base = NULL, *line = NULL, *user_line = NULL;
	char local[256];
	int admin = 0, c, rc;
	struct hs_config cfg;
	char err[512];

	if (argc < 2 || strcmp(argv[1], "register") != 0) {
		usage(stderr);
		return 2;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "c:u:p:ah", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'u': user = optarg; break;
		case 'p': pw = optarg; break;
		case 'a': admin = 1; break;
		case 'U': url = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!config || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!user) {
		user_line = read_line("User (localpart): ", 0);
		if (!user_line || !user_line[0]) {
			fprintf(stderr, "scopctl: no user given\n");
			free(user_line);
			return 2;
		}
		user = user_line;
	}
	if (user[0] == '@') {
		/* Accept a full user id; the API takes the localpart. */
		const char *colon = strchr(user, ':');
		size_t n = colon ? (size_t)(colon - user - 1) : strlen(user) - 1;
		if (n >= sizeof(local))
			n = sizeof(local) - 1;
		memcpy(local, user + 1, n);
		local[n] = '\0';
		user = local;
	}
	if (!pw) {
		line = read_line("Password: ", 1);
		if (!line) {
			fprintf(stderr, "scopctl: no password given\n");
			free(user_line);
			return 2;
		}
		pw = line;
	}
	hs_config_init(&cfg);
	if (hs_config_load(&cfg, config, err, sizeof(err)) < 0) {
		fprintf(stderr, "scopctl: %s\n", err);
		free(line);
		free(user_line);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	base = url ? strdup(url) : default_url(&cfg);
	rc = base ? do_register(&cfg, base, user, pw, admin) : 1;
	curl_global_cleanup();
	free(base);
	if (line) {
		explicit_bzero(line, strlen(line));
		free(line);
	}
	free(user_line);
	hs_config_free(&cfg);
	return rc;
}
