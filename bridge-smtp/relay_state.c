/* Durable per-message delivery records; see relay_state.h. */
#include "bridge-smtp/relay_state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"

#define STATE_MAX (16u << 20)

static const char *const names[] = { "pending", "sent", "failed", "bounced" };

int relay_state_init(struct relay_state *st, size_t n)
{
	memset(st, 0, sizeof(*st));
	if (n && !(st->rcpts = calloc(n, sizeof(*st->rcpts))))
		return -1;
	st->n = n;
	return 0;
}

void relay_state_free(struct relay_state *st)
{
	free(st->rcpts);
	memset(st, 0, sizeof(*st));
}

bool relay_state_done(const struct relay_state *st)
{
	for (size_t i = 0; i < st->n; i++)
		if (st->rcpts[i].state != RELAY_SENT && st->rcpts[i].state != RELAY_BOUNCED)
			return false;
	return true;
}

/* Copies a field, keeping it one printable word (or text without
 * control octets when spaces are allowed). */
static void put_clean(struct buf *b, const char *s, bool spaces)
{
	if (!*s) {
		buf_putc(b, '-');
		return;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		buf_putc(b, c < 32 || c == 127 || (!spaces && c == ' ') ? '?' : (char)c);
	}
}

static int serialize(const struct relay_state *st, struct buf *b)
{
	buf_printf(b, "SCOP-RELAY 1\nattempts: %u\nnext: %" PRId64 "\n", st->attempts, st->next);
	for (size_t i = 0; i < st->n; i++) {
		const struct relay_rcpt *r = &st->rcpts[i];
		buf_printf(b, "rcpt: %zu %s %d ", i, names[r->state], r->code);
		put_clean(b, r->enh, false);
		buf_putc(b, ' ');
		put_clean(b, r->host, false);
		buf_putc(b, ' ');
		put_clean(b, r->text, true);
		if (buf_putc(b, '\n') < 0)
			return -1;
	}
	return 0;
}

/* A decimal number filling p[0..end) exactly, at most max. */
static int number(const char *p, const char *end, long long max, long long *out)
{
	long long v = 0;
	if (p >= end)
		return -1;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

/* Next word of line (space-separated) into out[cap]; -1 if none fits. */
static int word(const char **p, const char *end, char *out, size_t cap)
{
	const char *s = *p;
	while (s < end && *s != ' ')
		s++;
	size_t n = (size_t)(s - *p);
	if (n == 0 || n >= cap)
		return -1;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p = s < end ? s + 1 : s;
	return 0;
}

static int parse_rcpt(const char *p, const char *end, size_t n, struct relay_state *st, size_t *seen)
{
	char w[256];
	long long idx, code;
	if (word(&p, end, w, sizeof(w)) < 0 || number(w, w + strlen(w), 1000000, &idx) < 0)
		return -1;
	if ((size_t)idx != *seen || (size_t)idx >= n)
		return -1;
	struct relay_rcpt *r = &st->rcpts[idx];
	if (word(&p, end, w, sizeof(w)) < 0)
		return -1;
	int s;
	for (s = 0; s < 4 && strcmp(w, names[s]) != 0; s++)
		;
	if (s == 4)
		return -1;
	r->state = (enum relay_rcpt_state)s;
	if (word(&p, end, w, sizeof(w)) < 0 || number(w, w + strlen(w), 599, &code) < 0)
		return -1;
	r->code = (int)code;
	if (word(&p, end, r->enh, sizeof(r->enh)) < 0 || word(&p, end, r->host, sizeof(r->host)) < 0)
		return -1;
	if (strcmp(r->enh, "-") == 0)
		r->enh[0] = '\0';
	if (strcmp(r->host, "-") == 0)
		r->host[0] = '\0';
	size_t tl = (size_t)(end - p);
	if (tl >= sizeof(r->text))
		tl = sizeof(r->text) - 1;
	memcpy(r->text, p, tl);
	r->text[tl] = '\0';
	if (strcmp(r->text, "-") == 0)
		r->text[0] = '\0';
	(*seen)++;
	return 0;
}

int relay_state_parse(const char *buf, size_t len, size_t n, struct relay_state *st)
{
	if (relay_state_init(st, n) < 0)
		return -1;
	const char *p = buf, *end = buf + len;
	size_t lineno = 0, seen = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			goto bad;
		long long v;
		if (lineno == 0) {
			if ((size_t)(nl - p) != 12 || memcmp(p, "SCOP-RELAY 1", 12) != 0)
				goto bad;
		} else if (nl - p > 10 && memcmp(p, "attempts: ", 10) == 0) {
			if (number(p + 10, nl, 1000000, &v) < 0)
				goto bad;
			st->attempts = (unsigned)v;
		} else if (nl - p > 6 && memcmp(p, "next: ", 6) == 0) {
			if (number(p + 6, nl, 1LL << 50, &v) < 0)
				goto bad;
			st->next = v;
		} else if (nl - p > 6 && memcmp(p, "rcpt: ", 6) == 0) {
			if (parse_rcpt(p + 6, nl, n, st, &seen) < 0)
				goto bad;
		} else {
			goto bad;
		}
		lineno++;
		p = nl + 1;
	}
	if (lineno == 0 || seen != n)
		goto bad;
	return 0;
bad:
	relay_state_free(st);
	errno = EINVAL;
	return -1;
}

static int tmp_name(const char *id, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s.tmp", id);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

int relay_state_load(int dirfd, const char *id, size_t n, struct relay_state *st)
{
	int fd = openat(dirfd, id, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return relay_state_init(st, n) < 0 ? -1 : 0;
		return -1;
	}
	struct buf b = BUF_INIT;
	char chunk[4096];
	ssize_t r;
	while ((r = read(fd, chunk, sizeof(chunk))) > 0) {
		if (b.len + (size_t)r > STATE_MAX || buf_append(&b, chunk, (size_t)r) < 0) {
			r = -1;
			errno = EFBIG;
			break;
		}
	}
	int e = errno;
	close(fd);
	if (r < 0) {
		buf_free(&b);
		errno = e;
		return -1;
	}
	int rc = relay_state_parse(b.data ? b.data : "", b.len, n, st);
	buf_free(&b);
	return rc < 0 ? -1 : 1;
}

int relay_state_save(int dirfd, const char *id, const struct relay_state *st)
{
	char tmp[128];
	struct buf b = BUF_INIT;
	if (tmp_name(id, tmp, sizeof(tmp)) < 0 || serialize(st, &b) < 0) {
		buf_free(&b);
		errno = EINVAL;
		return -1;
	}
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		buf_free(&b);
		return -1;
	}
	const char *p = b.data;
	size_t left = b.len;
	int rc = 0;
	while (left && rc == 0) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno != EINTR)
			rc = -1;
		if (w > 0) {
			p += w;
			left -= (size_t)w;
		}
	}
	buf_free(&b);
	if (rc == 0 && fsync(fd) < 0)
		rc = -1;
	int e = errno;
	if (close(fd) < 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	if (rc == 0 && renameat(dirfd, tmp, dirfd, id) < 0) {
		rc = -1;
		e = errno;
	}
	if (rc < 0) {
		unlinkat(dirfd, tmp, 0);
		errno = e;
		return -1;
	}
	return fsync(dirfd);
}

int relay_state_remove(int dirfd, const char *id)
{
	if (unlinkat(dirfd, id, 0) < 0 && errno != ENOENT)
		return -1;
	return fsync(dirfd);
}
