/* Durable spool: write, fsync, rename, fsync directory.  See spool.h. */
#include "bridge-smtp/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/crypto.h"

#define MAGIC "SCOP-SPOOL 1\n"
#define HEADER_MAX (64 * 1024)

static int mkdir_p(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

static int open_dir(const char *dir, const char *sub)
{
	struct buf p = BUF_INIT;
	if (buf_printf(&p, "%s/%s", dir, sub) < 0 || mkdir_p(p.data) < 0) {
		buf_free(&p);
		return -1;
	}
	int fd = open(p.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	buf_free(&p);
	return fd;
}

/* Ids are generated here and only ever contain these characters; checking
 * them keeps a bad id from naming a file outside the queue. */
static int valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n >= SPOOL_ID_MAX || id[0] == '.')
		return 0;
	return strspn(id, "0123456789abcdef.") == n;
}

static int clean_tmp(struct spool *sp, size_t *removed)
{
	int fd = dup(sp->tmp_fd);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	rewinddir(d);
	struct dirent *e;
	size_t n = 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(sp->tmp_fd, e->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	if (removed)
		*removed = n;
	return fsync(sp->tmp_fd);
}

static int take_lock(struct spool *sp)
{
	struct buf p = BUF_INIT;
	if (buf_printf(&p, "%s/lock", sp->dir) < 0)
		return -1;
	sp->lock_fd = open(p.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	buf_free(&p);
	if (sp->lock_fd < 0)
		return -1;
	return flock(sp->lock_fd, LOCK_EX | LOCK_NB);
}

int spool_open(struct spool *sp, const char *dir, bool recover, size_t *removed)
{
	memset(sp, 0, sizeof(*sp));
	sp->tmp_fd = sp->queue_fd = sp->lock_fd = -1;
	if (removed)
		*removed = 0;
	if (mkdir_p(dir) < 0)
		return -1;
	sp->dir = strdup(dir);
	if (!sp->dir)
		return -1;
	sp->tmp_fd = open_dir(dir, "tmp");
	sp->queue_fd = open_dir(dir, "queue");
	if (sp->tmp_fd < 0 || sp->queue_fd < 0 ||
	    (recover && (take_lock(sp) < 0 || clean_tmp(sp, removed) < 0))) {
		int e = errno;
		spool_close(sp);
		errno = e;
		return -1;
	}
	return 0;
}

void spool_close(struct spool *sp)
{
	if (sp->tmp_fd >= 0)
		close(sp->tmp_fd);
	if (sp->queue_fd >= 0)
		close(sp->queue_fd);
	if (sp->lock_fd >= 0)
		close(sp->lock_fd);
	sp->tmp_fd = sp->queue_fd = sp->lock_fd = -1;
	free(sp->dir);
	sp->dir = NULL;
}

static int clean_value(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 32 || *p == 127)
			return 0;
	return 1;
}

static int put_field(struct buf *b, const char *key, const char *val)
{
	if (!val)
		val = "";
	if (!clean_value(val)) {
		errno = EINVAL;
		return -1;
	}
	return buf_printf(b, "%s: %s\n", key, val);
}

static int make_id(char id[SPOOL_ID_MAX])
{
	struct timeval tv;
	unsigned char rnd[8];
	char hex[17];
	gettimeofday(&tv, NULL);
	if (scop_random_bytes(rnd, sizeof(rnd)) < 0)
		return -1;
	scop_hex(rnd, sizeof(rnd), hex);
	snprintf(id, SPOOL_ID_MAX, "%010lld%06ld.%s", (long long)tv.tv_sec, (long)tv.tv_usec, hex);
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int pwrite_all(int fd, const char *p, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/* The size field is written as a fixed-width placeholder and filled in
 * by spool_commit(), so a message can be streamed to disk as it arrives. */
#define SPOOL_SIZE_DIGITS 20
#define WRITER_BUF (64 * 1024)

struct spool_writer {
	struct spool *sp;
	char id[SPOOL_ID_MAX];
	int fd;
	off_t size_off;   /* where the size digits are */
	off_t msg_off;    /* where the message starts, after the trace */
	char *map;        /* spool_view()'s mapping of the file, or NULL */
	size_t map_len;
	uint64_t size;    /* message octets so far, trace included */
	int error;        /* first write error (errno), reported at commit */
	struct buf pending;
};

static int writer_flush(struct spool_writer *w)
{
	if (w->pending.len > 0 && !w->error && write_all(w->fd, w->pending.data, w->pending.len) < 0)
		w->error = errno ? errno : EIO;
	buf_reset(&w->pending);
	return w->error ? -1 : 0;
}

int spool_begin(struct spool *sp, const struct spool_envelope *env, struct spool_writer **out)
{
	struct buf h = BUF_INIT;
	struct spool_writer *w = NULL;
	int e;
	*out = NULL;
	if (env->n_rcpts == 0) {
		errno = EINVAL;
		return -1;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -1;
	w->sp = sp;
	w->fd = -1;
	buf_init(&w->pending, 0);
	if (make_id(w->id) < 0)
		goto fail;
	if (buf_puts(&h, MAGIC) < 0 || put_field(&h, "id", w->id) < 0 ||
	    buf_printf(&h, "received: %" PRId64 "\n", env->received) < 0 ||
	    put_field(&h, "listener", env->listener) < 0 || put_field(&h, "client", env->client) < 0 ||
	    put_field(&h, "helo", env->helo) < 0 ||
	    put_field(&h, "tls", env->tls && *env->tls ? env->tls : "none") < 0 ||
	    (env->auth && put_field(&h, "auth", env->auth) < 0) ||
	    put_field(&h, "body", env->body ? env->body : "unspecified") < 0 ||
	    put_field(&h, "smtputf8", env->smtputf8 ? "yes" : "no") < 0 ||
	    put_field(&h, "from", env->from) < 0)
		goto fail;
	for (size_t i = 0; i < env->n_rcpts; i++)
		if (put_field(&h, "rcpt", env->rcpts[i]) < 0)
			goto fail;
	if (buf_puts(&h, "size: ") < 0)
		goto fail;
	w->size_off = (off_t)h.len;
	if (buf_printf(&h, "%0*d\n\n", SPOOL_SIZE_DIGITS, 0) < 0)
		goto fail;
	w->msg_off = (off_t)(h.len + (env->trace ? strlen(env->trace) : 0));
	w->fd = openat(sp->tmp_fd, w->id, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (w->fd < 0)
		goto fail;
	if (write_all(w->fd, h.data, h.len) < 0)
		goto fail;
	buf_free(&h);
	if (env->trace && spool_write(w, env->trace, strlen(env->trace)) < 0)
		goto fail;
	*out = w;
	return 0;
fail:
	e = errno;
	buf_free(&h);
	spool_abort(w);
	errno = e;
	return -1;
}

int spool_write(struct spool_writer *w, const void *data, size_t len)
{
	if (w->error) {
		errno = w->error;
		return -1;
	}
	w->size += len;
	if (w->pending.len + len > WRITER_BUF && writer_flush(w) < 0) {
		errno = w->error;
		return -1;
	}
	if (len >= WRITER_BUF) {
		if (write_all(w->fd, data, len) < 0) {
			w->error = errno ? errno : EIO;
			return -1;
		}
		return 0;
	}
	if (buf_append(&w->pending, data, len) < 0) {
		w->error = ENOMEM;
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

static void writer_unmap(struct spool_writer *w)
{
	if (w->map)
		munmap(w->map, w->map_len);
	w->map = NULL;
	w->map_len = 0;
}

void spool_abort(struct spool_writer *w)
{
	if (!w)
		return;
	writer_unmap(w);
	if (w->fd >= 0) {
		close(w->fd);
		unlinkat(w->sp->tmp_fd, w->id, 0);
	}
	buf_free(&w->pending);
	free(w);
}

int spool_commit(struct spool_writer *w, char id_out[SPOOL_ID_MAX])
{
	char digits[SPOOL_SIZE_DIGITS + 1];
	struct spool *sp = w->sp;
	int e;
	writer_unmap(w);
	if (writer_flush(w) < 0) {
		errno = w->error;
		goto fail;
	}
	snprintf(digits, sizeof(digits), "%0*llu", SPOOL_SIZE_DIGITS, (unsigned long long)w->size);
	if (pwrite(w->fd, digits, SPOOL_SIZE_DIGITS, w->size_off) != SPOOL_SIZE_DIGITS) {
		if (errno == 0)
			errno = EIO;
		goto fail;
	}
	if (fsync(w->fd) < 0)
		goto fail;
	e = close(w->fd);
	w->fd = -1;
	if (e < 0) {
		e = errno;
		unlinkat(sp->tmp_fd, w->id, 0);
		errno = e;
		goto fail;
	}
	if (sp->crash_before_rename) {
		buf_free(&w->pending);
		free(w);
		errno = EIO;
		return -1;
	}
	if (renameat(sp->tmp_fd, w->id, sp->queue_fd, w->id) < 0) {
		e = errno;
		unlinkat(sp->tmp_fd, w->id, 0);
		errno = e;
		goto fail;
	}
	/* The rename is durable only once the directory is synced. */
	if (fsync(sp->queue_fd) < 0) {
		e = errno;
		unlinkat(sp->queue_fd, w->id, 0);
		errno = e;
		goto fail;
	}
	memcpy(id_out, w->id, SPOOL_ID_MAX);
	buf_free(&w->pending);
	free(w);
	return 0;
fail:
	e = errno;
	spool_abort(w);
	errno = e;
	return -1;
}

const char *spool_writer_id(const struct spool_writer *w)
{
	return w->id;
}

int spool_view(struct spool_writer *w, const char **msg, size_t *len)
{
	struct stat st;
	writer_unmap(w);
	if (writer_flush(w) < 0) {
		errno = w->error;
		return -1;
	}
	if (fstat(w->fd, &st) < 0)
		return -1;
	if (st.st_size < w->msg_off) {
		errno = EIO;
		return -1;
	}
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, w->fd, 0);
	if (m == MAP_FAILED)
		return -1;
	w->map = m;
	w->map_len = (size_t)st.st_size;
	*msg = w->map + w->msg_off;
	*len = w->map_len - (size_t)w->msg_off;
	return 0;
}

/* The usual edit adds more than it cuts (our header field against forged
 * ones): then every piece of the message moves towards the end, and
 * moving the pieces last to first, each from its end, reads only what
 * has not been overwritten yet.  That spares a second file, whose inode
 * costs more than the copy on ext4.  Returns 1 when the edit does not fit
 * this case. */
static int edit_in_place(struct spool_writer *w, const char *insert, size_t insert_len,
			 const struct spool_cut *cuts, size_t ncuts)
{
	const char *msg = w->map + w->msg_off;
	size_t len = w->map_len - (size_t)w->msg_off, cut = 0;
	char bounce[16384];

	for (size_t i = 0; i < ncuts; i++)
		cut += cuts[i].len;
	if (insert_len < cut)
		return 1;
	size_t new_len = len + insert_len - cut;
	/* Piece k is [start, end) of the message and goes to start + delta,
	 * delta being insert_len less the cuts before it. */
	for (size_t k = ncuts + 1; k-- > 0;) {
		size_t start = k ? cuts[k - 1].off + cuts[k - 1].len : 0;
		size_t end = k < ncuts ? cuts[k].off : len;
		size_t delta = insert_len;
		for (size_t j = 0; j < k; j++)
			delta -= cuts[j].len;
		while (end > start) {
			size_t n = end - start < sizeof(bounce) ? end - start : sizeof(bounce);
			end -= n;
			memcpy(bounce, msg + end, n);
			if (pwrite_all(w->fd, bounce, n, w->msg_off + (off_t)(end + delta)) < 0)
				return -1;
		}
	}
	if (pwrite_all(w->fd, insert, insert_len, w->msg_off) < 0 ||
	    ftruncate(w->fd, w->msg_off + (off_t)new_len) < 0 || lseek(w->fd, 0, SEEK_END) < 0)
		return -1;
	writer_unmap(w);
	w->size = (uint64_t)w->msg_off - (uint64_t)w->size_off - SPOOL_SIZE_DIGITS - 2 + new_len;
	return 0;
}

/* Otherwise: writes the new file beside the old one and renames it over
 * it; tmp/ is emptied at start-up, so a crash halfway leaves nothing. */
int spool_edit(struct spool_writer *w, const char *insert, size_t insert_len, const struct spool_cut *cuts,
	       size_t ncuts)
{
	char name[SPOOL_ID_MAX + 8];
	const char *msg;
	size_t len, pos = 0;
	int fd = -1, e;

	if (!w->map && spool_view(w, &msg, &len) < 0)
		return -1;
	msg = w->map + w->msg_off;
	len = w->map_len - (size_t)w->msg_off;
	for (size_t i = 0; i < ncuts; i++) {
		if (cuts[i].off < pos || cuts[i].off > len || cuts[i].len > len - cuts[i].off) {
			errno = EINVAL;
			return -1;
		}
		pos = cuts[i].off + cuts[i].len;
	}
	int r = edit_in_place(w, insert, insert_len, cuts, ncuts);
	if (r <= 0)
		return r;
	snprintf(name, sizeof(name), "%s.edit", w->id);
	fd = openat(w->sp->tmp_fd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	uint64_t size = (uint64_t)w->msg_off - (uint64_t)w->size_off - SPOOL_SIZE_DIGITS - 2; /* the trace */
	if (write_all(fd, w->map, (size_t)w->msg_off) < 0 || write_all(fd, insert, insert_len) < 0)
		goto fail;
	size += insert_len;
	pos = 0;
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i].off : len;
		if (write_all(fd, msg + pos, end - pos) < 0)
			goto fail;
		size += end - pos;
		if (i < ncuts)
			pos = cuts[i].off + cuts[i].len;
	}
	if (renameat(w->sp->tmp_fd, name, w->sp->tmp_fd, w->id) < 0)
		goto fail;
	writer_unmap(w);
	close(w->fd);
	w->fd = fd;
	w->size = size;
	return 0;
fail:
	e = errno;
	close(fd);
	unlinkat(w->sp->tmp_fd, name, 0);
	errno = e;
	return -1;
}

int spool_store(struct spool *sp, const struct spool_envelope *env, const void *data, size_t len,
		char id_out[SPOOL_ID_MAX])
{
	struct spool_writer *w;
	if (spool_begin(sp, env, &w) < 0)
		return -1;
	if (spool_write(w, data, len) < 0) {
		int e = errno;
		spool_abort(w);
		errno = e;
		return -1;
	}
	return spool_commit(w, id_out);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int spool_list(struct spool *sp, char ***ids, size_t *n)
{
	*ids = NULL;
	*n = 0;
	int fd = dup(sp->queue_fd);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	rewinddir(d);
	struct dirent *e;
	char **v = NULL;
	size_t cnt = 0;
	while ((e = readdir(d)) != NULL) {
		if (!valid_id(e->d_name))
			continue;
		char **nv = realloc(v, (cnt + 1) * sizeof(*nv));
		if (!nv)
			goto oom;
		v = nv;
		if (!(v[cnt] = strdup(e->d_name)))
			goto oom;
		cnt++;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_str);
	*ids = v;
	*n = cnt;
	return 0;
oom:
	closedir(d);
	spool_list_free(v, cnt);
	errno = ENOMEM;
	return -1;
}

void spool_list_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

void spool_message_free(struct spool_message *m)
{
	free(m->listener);
	free(m->client);
	free(m->helo);
	free(m->tls);
	free(m->auth);
	free(m->body);
	free(m->from);
	for (size_t i = 0; i < m->n_rcpts; i++)
		free(m->rcpts[i]);
	free(m->rcpts);
	free(m->data);
	memset(m, 0, sizeof(*m));
}

static int set_str(char **dst, const char *v, size_t n)
{
	if (*dst)
		return -1; /* each field once */
	/* The field is not NUL-terminated inside the file buffer, so copy
	 * exactly n bytes rather than rely on strndup's stop-at-n. */
	*dst = malloc(n + 1);
	if (!*dst)
		return -1;
	memcpy(*dst, v, n);
	(*dst)[n] = '\0';
	return 0;
}

static int parse_num(const char *v, size_t n, uint64_t *out)
{
	uint64_t x = 0;
	if (n == 0 || n > 20)
		return -1;
	while (n > 1 && v[0] == '0') { /* the size field is zero-padded */
		v++;
		n--;
	}
	if (n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return 0;
}

int spool_parse(const char *buf, size_t len, struct spool_message *m)
{
	size_t ml = strlen(MAGIC);
	bool have_id = false, have_recv = false, have_size = false, have_utf8 = false;
	uint64_t size = 0;
	memset(m, 0, sizeof(*m));
	if (len < ml || memcmp(buf, MAGIC, ml) != 0)
		goto bad;
	size_t pos = ml;
	for (;;) {
		if (pos >= len || pos > HEADER_MAX)
			goto bad;
		const char *line = buf + pos;
		const char *lf = memchr(line, '\n', len - pos);
		if (!lf)
			goto bad;
		size_t ll = (size_t)(lf - line);
		pos += ll + 1;
		if (ll == 0)
			break;
		const char *colon = memchr(line, ':', ll);
		if (!colon || colon + 1 >= lf + 1 || colon[1] != ' ')
			goto bad;
		size_t kl = (size_t)(colon - line);
		const char *v = colon + 2;
		size_t vl = (size_t)(lf - v);
		for (size_t i = 0; i < vl; i++)
			if ((unsigned char)v[i] < 32 || v[i] == 127)
				goto bad;
#define KEY(k) (kl == strlen(k) && memcmp(line, k, kl) == 0)
		if (KEY("id")) {
			if (have_id || vl == 0 || vl >= SPOOL_ID_MAX)
				goto bad;
			memcpy(m->id, v, vl);
			m->id[vl] = '\0';
			if (!valid_id(m->id))
				goto bad;
			have_id = true;
		} else if (KEY("received")) {
			uint64_t r;
			if (have_recv || parse_num(v, vl, &r) < 0 || r > INT64_MAX)
				goto bad;
			m->received = (int64_t)r;
			have_recv = true;
		} else if (KEY("listener")) {
			if (set_str(&m->listener, v, vl) < 0)
				goto bad;
		} else if (KEY("client")) {
			if (set_str(&m->client, v, vl) < 0)
				goto bad;
		} else if (KEY("helo")) {
			if (set_str(&m->helo, v, vl) < 0)
				goto bad;
		} else if (KEY("tls")) {
			if (set_str(&m->tls, v, vl) < 0)
				goto bad;
		} else if (KEY("auth")) {
			if (set_str(&m->auth, v, vl) < 0)
				goto bad;
		} else if (KEY("body")) {
			if (set_str(&m->body, v, vl) < 0)
				goto bad;
		} else if (KEY("smtputf8")) {
			if (have_utf8)
				goto bad;
			if (vl == 3 && memcmp(v, "yes", 3) == 0)
				m->smtputf8 = true;
			else if (!(vl == 2 && memcmp(v, "no", 2) == 0))
				goto bad;
			have_utf8 = true;
		} else if (KEY("from")) {
			if (set_str(&m->from, v, vl) < 0)
				goto bad;
		} else if (KEY("rcpt")) {
			char **r = realloc(m->rcpts, (m->n_rcpts + 1) * sizeof(*r));
			if (!r)
				goto bad;
			m->rcpts = r;
			r[m->n_rcpts] = NULL;
			if (set_str(&r[m->n_rcpts], v, vl) < 0)
				goto bad;
			m->n_rcpts++;
		} else if (KEY("size")) {
			if (have_size || parse_num(v, vl, &size) < 0)
				goto bad;
			have_size = true;
		} else {
			goto bad;
		}
#undef KEY
	}
	if (!have_id || !have_recv || !have_size || !m->from || m->n_rcpts == 0 || !m->listener ||
	    len - pos != size)
		goto bad;
	m->data = malloc(size + 1);
	if (!m->data)
		goto bad;
	memcpy(m->data, buf + pos, size);
	m->data[size] = '\0';
	m->size = size;
	return 0;
bad:
	spool_message_free(m);
	errno = EINVAL;
	return -1;
}

int spool_load(struct spool *sp, const char *id, struct spool_message *out)
{
	memset(out, 0, sizeof(*out));
	if (!valid_id(id)) {
		errno = EINVAL;
		return -1;
	}
	int fd = openat(sp->queue_fd, id, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	size_t len = (size_t)st.st_size;
	char *b = malloc(len + 1);
	size_t got = 0;
	while (b && got < len) {
		ssize_t r = read(fd, b + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (!b || got != len) {
		free(b);
		errno = b ? EIO : ENOMEM;
		return -1;
	}
	int rc = spool_parse(b, len, out);
	free(b);
	if (rc == 0 && strcmp(out->id, id) != 0) {
		spool_message_free(out);
		errno = EINVAL;
		return -1;
	}
	return rc;
}

int spool_remove(struct spool *sp, const char *id)
{
	if (!valid_id(id)) {
		errno = EINVAL;
		return -1;
	}
	if (unlinkat(sp->queue_fd, id, 0) < 0)
		return -1;
	return fsync(sp->queue_fd);
}
