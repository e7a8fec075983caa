/* Unit tests for bridge-smtp/spool: store, list, load, crash safety. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bridge-smtp/spool.h"
#include "common/buf.h"

static int setup(void **state)
{
	char *dir = strdup("/tmp/scop-spool-test-XXXXXX");
	if (!dir || !mkdtemp(dir))
		return -1;
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (char *)*state);
	int rc = system(cmd);
	free(*state);
	return rc == 0 ? 0 : -1;
}

static size_t count_files(const char *dir, const char *sub)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	DIR *d = opendir(p);
	size_t n = 0;
	struct dirent *e;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static const char *const rcpts[] = { "bob@example.org", "carol@example.org" };

static void fill_env(struct spool_envelope *env)
{
	memset(env, 0, sizeof(*env));
	env->listener = "mx";
	env->client = "127.0.0.1";
	env->helo = "client.example";
	env->tls = "TLSv1.3 TLS_AES_256_GCM_SHA384";
	env->body = "8BITMIME";
	env->from = "alice@remote.example";
	env->rcpts = rcpts;
	env->n_rcpts = 2;
	env->received = 1700000000;
}

static void test_store_and_load(void **state)
{
	const char *dir = *state;
	struct spool sp;
	struct spool_envelope env;
	char id[SPOOL_ID_MAX], id2[SPOOL_ID_MAX];
	const char msg[] = "Subject: hi\r\n\r\nbody\r\n";
	assert_int_equal(spool_open(&sp, dir, true, NULL), 0);
	fill_env(&env);
	assert_int_equal(spool_store(&sp, &env, msg, sizeof(msg) - 1, id), 0);
	env.from = "";
	env.auth = "@alice:example.org";
	env.smtputf8 = true;
	env.n_rcpts = 1;
	assert_int_equal(spool_store(&sp, &env, "", 0, id2), 0);
	assert_int_equal(count_files(dir, "queue"), 2);
	assert_int_equal(count_files(dir, "tmp"), 0);

	char **ids;
	size_t n;
	assert_int_equal(spool_list(&sp, &ids, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], id);
	assert_string_equal(ids[1], id2);
	spool_list_free(ids, n);

	struct spool_message m;
	assert_int_equal(spool_load(&sp, id, &m), 0);
	assert_string_equal(m.id, id);
	assert_int_equal(m.received, 1700000000);
	assert_string_equal(m.listener, "mx");
	assert_string_equal(m.client, "127.0.0.1");
	assert_string_equal(m.helo, "client.example");
	assert_string_equal(m.tls, "TLSv1.3 TLS_AES_256_GCM_SHA384");
	assert_null(m.auth);
	assert_string_equal(m.body, "8BITMIME");
	assert_false(m.smtputf8);
	assert_string_equal(m.from, "alice@remote.example");
	assert_int_equal(m.n_rcpts, 2);
	assert_string_equal(m.rcpts[1], "carol@example.org");
	assert_int_equal(m.size, sizeof(msg) - 1);
	assert_memory_equal(m.data, msg, sizeof(msg) - 1);
	spool_message_free(&m);

	assert_int_equal(spool_load(&sp, id2, &m), 0);
	assert_int_equal(m.size, 0);
	assert_string_equal(m.from, "");
	assert_string_equal(m.auth, "@alice:example.org");
	assert_true(m.smtputf8);
	spool_message_free(&m);

	/* The trace header goes in front of the message. */
	char id3[SPOOL_ID_MAX];
	env.trace = "Received: from c by h; date\r\n";
	assert_int_equal(spool_store(&sp, &env, "x\r\n", 3, id3), 0);
	assert_int_equal(spool_load(&sp, id3, &m), 0);
	assert_string_equal(m.data, "Received: from c by h; date\r\nx\r\n");
	assert_int_equal(m.size, strlen(m.data));
	spool_message_free(&m);
	assert_int_equal(spool_remove(&sp, id3), 0);

	assert_int_equal(spool_remove(&sp, id2), 0);
	assert_int_equal(count_files(dir, "queue"), 1);
	assert_int_equal(spool_load(&sp, "../../etc/passwd", &m), -1);
	assert_int_equal(spool_remove(&sp, "../x"), -1);
	spool_close(&sp);
}

static void test_refuses_control_chars(void **state)
{
	struct spool sp;
	struct spool_envelope env;
	char id[SPOOL_ID_MAX];
	assert_int_equal(spool_open(&sp, *state, true, NULL), 0);
	fill_env(&env);
	env.helo = "evil\nrcpt: injected@example.org";
	assert_int_equal(spool_store(&sp, &env, "x", 1, id), -1);
	assert_int_equal(errno, EINVAL);
	env.helo = "ok";
	env.n_rcpts = 0;
	assert_int_equal(spool_store(&sp, &env, "x", 1, id), -1);
	assert_int_equal(count_files(*state, "queue"), 0);
	assert_int_equal(count_files(*state, "tmp"), 0);
	spool_close(&sp);
}

static void test_crash_before_rename(void **state)
{
	const char *dir = *state;
	struct spool sp;
	struct spool_envelope env;
	char id[SPOOL_ID_MAX];
	size_t removed = 99;
	assert_int_equal(spool_open(&sp, dir, true, &removed), 0);
	assert_int_equal(removed, 0);
	fill_env(&env);
	/* Dies after the tmp file is written and synced: nothing queued. */
	sp.crash_before_rename = true;
	assert_int_equal(spool_store(&sp, &env, "m\r\n", 3, id), -1);
	assert_int_equal(count_files(dir, "tmp"), 1);
	assert_int_equal(count_files(dir, "queue"), 0);
	char **ids;
	size_t n;
	assert_int_equal(spool_list(&sp, &ids, &n), 0);
	assert_int_equal(n, 0);
	spool_list_free(ids, n);
	spool_close(&sp);

	/* A reader (no recovery) leaves tmp/ alone; a second daemon is
	 * refused while the first holds the lock. */
	struct spool reader, other;
	assert_int_equal(spool_open(&reader, dir, false, NULL), 0);
	assert_int_equal(count_files(dir, "tmp"), 1);
	/* Restart after the crash: the unfinished file goes. */
	assert_int_equal(spool_open(&sp, dir, true, &removed), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(count_files(dir, "tmp"), 0);
	assert_int_equal(count_files(dir, "queue"), 0);
	assert_int_equal(spool_open(&other, dir, true, NULL), -1);
	spool_close(&sp);
	spool_close(&reader);

	/* A half-written file from a crash mid-write is cleaned up too. */
	char p[512];
	snprintf(p, sizeof(p), "%s/tmp/1700000000000000.0123456789abcdef", dir);
	int fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "SCOP-SPOOL 1\nid: 17", 19), 19);
	close(fd);

	/* Restart: leftovers removed, the queue still consistent. */
	assert_int_equal(spool_open(&sp, dir, true, &removed), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(count_files(dir, "tmp"), 0);
	sp.crash_before_rename = false;
	assert_int_equal(spool_store(&sp, &env, "m\r\n", 3, id), 0);
	spool_close(&sp);

	/* And a restart picks the queued message up. */
	assert_int_equal(spool_open(&sp, dir, true, &removed), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(spool_list(&sp, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], id);
	struct spool_message m;
	assert_int_equal(spool_load(&sp, ids[0], &m), 0);
	assert_memory_equal(m.data, "m\r\n", 3);
	spool_message_free(&m);
	spool_list_free(ids, n);
	spool_close(&sp);
}

static void test_parse_rejects_bad_files(void **state)
{
	struct spool_message m;
	static const char good[] = "SCOP-SPOOL 1\nid: 1.ab\nreceived: 5\nlistener: mx\nfrom: \n"
				   "rcpt: a@b\nsize: 2\n\nhi";
	(void)state;
	assert_int_equal(spool_parse(good, sizeof(good) - 1, &m), 0);
	assert_string_equal(m.data, "hi");
	spool_message_free(&m);
	/* Truncated message, extra byte, missing rcpt, unknown key, duplicate. */
	assert_int_equal(spool_parse(good, sizeof(good) - 2, &m), -1);
	static const char extra[] = "SCOP-SPOOL 1\nid: 1.ab\nreceived: 5\nlistener: mx\nfrom: \n"
				    "rcpt: a@b\nsize: 2\n\nhi!";
	assert_int_equal(spool_parse(extra, sizeof(extra) - 1, &m), -1);
	static const char norcpt[] = "SCOP-SPOOL 1\nid: 1.ab\nreceived: 5\nlistener: mx\nfrom: \nsize: 0\n\n";
	assert_int_equal(spool_parse(norcpt, sizeof(norcpt) - 1, &m), -1);
	static const char unknown[] = "SCOP-SPOOL 1\nid: 1.ab\nreceived: 5\nlistener: mx\nfrom: \n"
				      "rcpt: a@b\nx-what: 1\nsize: 0\n\n";
	assert_int_equal(spool_parse(unknown, sizeof(unknown) - 1, &m), -1);
	static const char dup[] = "SCOP-SPOOL 1\nid: 1.ab\nreceived: 5\nlistener: mx\nfrom: \nfrom: \n"
				  "rcpt: a@b\nsize: 0\n\n";
	assert_int_equal(spool_parse(dup, sizeof(dup) - 1, &m), -1);
	assert_int_equal(spool_parse("SCOP-SPOOL 2\n", 13, &m), -1);
	assert_int_equal(spool_parse("", 0, &m), -1);
}

static void test_streaming_writer(void **state)
{
	const char *dir = *state;
	struct spool sp;
	struct spool_envelope env;
	struct spool_writer *w;
	char id[SPOOL_ID_MAX];
	assert_int_equal(spool_open(&sp, dir, true, NULL), 0);
	fill_env(&env);
	env.trace = "Received: t\r\n";
	/* Many small writes and one large one, past the writer's buffer. */
	size_t big = 300 * 1024;
	char *chunk = malloc(big);
	memset(chunk, 'b', big);
	assert_int_equal(spool_begin(&sp, &env, &w), 0);
	assert_int_equal(count_files(dir, "tmp"), 1);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(spool_write(w, "line of text\r\n", 14), 0);
	assert_int_equal(spool_write(w, chunk, big), 0);
	assert_int_equal(spool_write(w, "end\r\n", 5), 0);
	assert_int_equal(spool_commit(w, id), 0);
	assert_int_equal(count_files(dir, "tmp"), 0);
	struct spool_message m;
	assert_int_equal(spool_load(&sp, id, &m), 0);
	assert_int_equal(m.size, 13 + 5000 * 14 + big + 5);
	assert_memory_equal(m.data, "Received: t\r\nline of text\r\n", 27);
	assert_memory_equal(m.data + 13 + 5000 * 14, chunk, big);
	assert_memory_equal(m.data + m.size - 5, "end\r\n", 5);
	spool_message_free(&m);
	free(chunk);

	/* Abort leaves nothing behind. */
	assert_int_equal(spool_begin(&sp, &env, &w), 0);
	assert_int_equal(spool_write(w, "x", 1), 0);
	spool_abort(w);
	assert_int_equal(count_files(dir, "tmp"), 0);
	assert_int_equal(count_files(dir, "queue"), 1);
	spool_close(&sp);
}

static void test_view_and_edit(void **state)
{
	const char *dir = *state;
	struct spool sp;
	struct spool_envelope env;
	struct spool_writer *w;
	struct spool_message m;
	char id[SPOOL_ID_MAX];
	const char *view;
	size_t len;
	static const char msg[] = "X-Forged: 1\r\nSubject: hi\r\nX-Forged: 2\r\n\r\nbody\r\n";

	fill_env(&env);
	env.trace = "Received: by test\r\n";
	assert_int_equal(spool_open(&sp, dir, true, NULL), 0);
	assert_int_equal(spool_begin(&sp, &env, &w), 0);
	assert_int_equal(spool_write(w, msg, 10), 0);
	assert_int_equal(spool_write(w, msg + 10, sizeof(msg) - 11), 0);
	/* The view is the message as written, without the trace. */
	assert_int_equal(spool_view(w, &view, &len), 0);
	assert_int_equal(len, sizeof(msg) - 1);
	assert_memory_equal(view, msg, len);
	/* Cuts must be in order and inside the message. */
	struct spool_cut bad[2] = { { 27, 13 }, { 0, 13 } };
	assert_int_equal(spool_edit(w, "", 0, bad, 2), -1);
	assert_int_equal(errno, EINVAL);
	bad[0] = (struct spool_cut){ len - 2, 3 };
	assert_int_equal(spool_edit(w, "", 0, bad, 1), -1);
	/* Insert on top, cut both X-Forged fields, then write some more. */
	struct spool_cut cuts[2] = { { 0, 13 }, { 26, 13 } };
	assert_int_equal(spool_edit(w, "New: 1\r\n", 8, cuts, 2), 0);
	assert_int_equal(spool_view(w, &view, &len), 0);
	assert_int_equal(len, 8 + 13 + 8);
	assert_memory_equal(view, "New: 1\r\nSubject: hi\r\n\r\nbody\r\n", len);
	assert_int_equal(spool_write(w, "more\r\n", 6), 0);
	assert_string_equal(spool_writer_id(w), spool_writer_id(w));
	assert_int_equal(spool_commit(w, id), 0);
	assert_int_equal(count_files(dir, "tmp"), 0);
	assert_int_equal(spool_load(&sp, id, &m), 0);
	assert_string_equal(m.data, "Received: by test\r\nNew: 1\r\nSubject: hi\r\n\r\nbody\r\nmore\r\n");
	assert_int_equal(m.size, strlen(m.data));
	assert_string_equal(m.from, "alice@remote.example");
	spool_message_free(&m);

	/* More inserted than cut: rewritten in place, pieces moving by
	 * different amounts; a message larger than the copy buffer. */
	struct buf big = BUF_INIT;
	assert_int_equal(buf_puts(&big, "X-Forged: 1\r\nSubject: hi\r\nX-Forged: 2\r\n\r\n"), 0);
	for (int i = 0; i < 2000; i++)
		assert_int_equal(buf_printf(&big, "line %05d of the body\r\n", i), 0);
	assert_int_equal(spool_begin(&sp, &env, &w), 0);
	assert_int_equal(spool_write(w, big.data, big.len), 0);
	assert_int_equal(spool_view(w, &view, &len), 0);
	assert_int_equal(len, big.len);
	static const char field[] = "Authentication-Results: mx.example; spf=pass\r\n";
	assert_int_equal(spool_edit(w, field, sizeof(field) - 1, cuts, 2), 0);
	assert_int_equal(spool_write(w, "tail\r\n", 6), 0);
	assert_int_equal(spool_commit(w, id), 0);
	assert_int_equal(count_files(dir, "tmp"), 0);
	assert_int_equal(spool_load(&sp, id, &m), 0);
	struct buf want = BUF_INIT;
	assert_int_equal(buf_puts(&want, "Received: by test\r\n"), 0);
	assert_int_equal(buf_puts(&want, field), 0);
	assert_int_equal(buf_append(&want, big.data + 13, 13), 0);
	assert_int_equal(buf_append(&want, big.data + 39, big.len - 39), 0);
	assert_int_equal(buf_puts(&want, "tail\r\n"), 0);
	assert_int_equal(m.size, want.len);
	assert_memory_equal(m.data, want.data, want.len);
	spool_message_free(&m);
	buf_free(&want);
	buf_free(&big);

	/* An edit then an abort leaves nothing behind. */
	assert_int_equal(spool_begin(&sp, &env, &w), 0);
	assert_int_equal(spool_write(w, msg, sizeof(msg) - 1), 0);
	assert_int_equal(spool_edit(w, "A: b\r\n", 6, NULL, 0), 0);
	spool_abort(w);
	assert_int_equal(count_files(dir, "tmp"), 0);
	assert_int_equal(count_files(dir, "queue"), 2);
	spool_close(&sp);
}

/* Edits with random inserts and cuts (both ways: in place and through a
 * second file) against the same edit done in memory. */
static void test_edit_random(void **state)
{
	const char *dir = *state;
	struct spool sp;
	struct spool_envelope env;
	uint32_t seed = 12345;
	char body[40000], ins[600];

	fill_env(&env);
	env.trace = "Received: by test\r\n";
	assert_int_equal(spool_open(&sp, dir, true, NULL), 0);
	for (int round = 0; round < 60; round++) {
		struct spool_writer *w;
		struct spool_message m;
		struct spool_cut cuts[6];
		struct buf want = BUF_INIT;
		char id[SPOOL_ID_MAX];
		const char *view;
		size_t vlen;
#define RND() (seed = seed * 1103515245u + 12345u, (seed >> 8))
		size_t len = RND() % sizeof(body), ilen = RND() % sizeof(ins), n = RND() % 6, pos = 0;
		for (size_t i = 0; i < len; i++)
			body[i] = (char)('a' + RND() % 26);
		for (size_t i = 0; i < ilen; i++)
			ins[i] = (char)('A' + RND() % 26);
		for (size_t i = 0; i < n; i++) {
			size_t left = len - pos;
			cuts[i].off = pos + (left ? RND() % (left / 2 + 1) : 0);
			cuts[i].len = len - cuts[i].off ? RND() % ((len - cuts[i].off) / 3 + 1) : 0;
			pos = cuts[i].off + cuts[i].len;
		}
#undef RND
		assert_int_equal(buf_puts(&want, env.trace), 0);
		assert_int_equal(buf_append(&want, ins, ilen), 0);
		pos = 0;
		for (size_t i = 0; i <= n; i++) {
			size_t end = i < n ? cuts[i].off : len;
			assert_int_equal(buf_append(&want, body + pos, end - pos), 0);
			if (i < n)
				pos = cuts[i].off + cuts[i].len;
		}
		assert_int_equal(spool_begin(&sp, &env, &w), 0);
		assert_int_equal(spool_write(w, body, len), 0);
		assert_int_equal(spool_view(w, &view, &vlen), 0);
		assert_int_equal(vlen, len);
		assert_int_equal(spool_edit(w, ins, ilen, cuts, n), 0);
		assert_int_equal(spool_commit(w, id), 0);
		assert_int_equal(spool_load(&sp, id, &m), 0);
		assert_int_equal(m.size, want.len);
		assert_memory_equal(m.data, want.data, want.len);
		spool_message_free(&m);
		assert_int_equal(spool_remove(&sp, id), 0);
		buf_free(&want);
	}
	assert_int_equal(count_files(dir, "tmp"), 0);
	spool_close(&sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_and_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_control_chars, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_before_rename, setup, teardown),
		cmocka_unit_test(test_parse_rejects_bad_files),
		cmocka_unit_test_setup_teardown(test_streaming_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_and_edit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_random, setup, teardown),
	};
	return cmocka_run_group_tests_name("spool", tests, NULL, NULL);
}
