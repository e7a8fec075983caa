/* sender.h without a peer: backoff arithmetic, queue rules (bad names, EDU
 * limit, persistence hooks), and retries against a closed loopback port
 * with a clean shutdown.  Delivery is tested end to end in
 * tests/e2e/test_federation_net.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "federation/sender.h"

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(fed_backoff_ms(0, 1000, 3600000, 7), 0);
	for (uint32_t rnd = 0; rnd < 2000; rnd += 97) {
		long d1 = fed_backoff_ms(1, 1000, 3600000, rnd);
		long d3 = fed_backoff_ms(3, 1000, 3600000, rnd);
		long d40 = fed_backoff_ms(40, 1000, 3600000, rnd);
		assert_true(d1 >= 500 && d1 <= 1000);
		assert_true(d3 >= 2000 && d3 <= 4000);
		assert_true(d40 >= 1800000 && d40 <= 3600000);
	}
	assert_int_equal(fed_backoff_ms(UINT32_MAX, 1000, 3600000, 0), 1800000);
}

struct hook_log {
	int queued;
	size_t delivered;
	char last_dest[256];
};

static void on_queued(void *ctx, const char *dest, const char *pdu)
{
	struct hook_log *l = ctx;
	l->queued++;
	snprintf(l->last_dest, sizeof(l->last_dest), "%s", dest);
	assert_non_null(strstr(pdu, "\"type\""));
}

static void on_delivered(void *ctx, const char *dest, size_t n)
{
	struct hook_log *l = ctx;
	(void)dest;
	l->delivered += n;
}

static void test_queue_rules(void **state)
{
	(void)state;
	struct scop_ed25519 key;
	char err[128];
	assert_int_equal(scop_ed25519_generate(&key, "k"), 0);
	struct fed_resolver *r = fed_resolver_new(&(struct fed_resolver_options){ .dns_forwarder = "127.0.0.1@1" },
						  err, sizeof(err));
	assert_non_null(r);
	struct hook_log log = { 0 };
	struct fed_sender_options opt = { .origin = "me.test", .key = &key, .resolver = r, .max_edus = 10,
					  .persist = { on_queued, on_delivered, &log } };
	struct fed_sender *s = fed_sender_new(&opt);
	assert_non_null(s);
	json_t *pdu = json_pack("{ss}", "type", "m.room.message");
	json_t *edu = json_pack("{ss}", "edu_type", "m.typing");
	assert_int_equal(fed_sender_queue_pdu(s, "them.test", pdu), 0);
	assert_int_equal(fed_sender_queue_pdu(s, "bad name", pdu), -1);
	assert_int_equal(fed_sender_queue_pdu(s, "me.test", pdu), -1);
	assert_int_equal(fed_sender_queue_pdu(s, "them.test", NULL), -1);
	assert_int_equal(log.queued, 1);
	assert_string_equal(log.last_dest, "them.test");
	for (int i = 0; i < 25; i++)
		assert_int_equal(fed_sender_queue_edu(s, "them.test", edu), 0);
	struct fed_sender_stats st;
	fed_sender_get_stats(s, &st);
	assert_int_equal(st.edus_dropped, 15);
	/* Not started: nothing moves. */
	assert_int_equal(fed_sender_wait_idle(s, 50), -1);
	fed_sender_free(s);
	assert_int_equal(log.delivered, 0);
	json_decref(pdu);
	json_decref(edu);
	fed_resolver_free(r);
}

static void test_retries_then_shutdown(void **state)
{
	(void)state;
	struct scop_ed25519 key;
	char err[128];
	assert_int_equal(scop_ed25519_generate(&key, "k"), 0);
	struct fed_resolver *r = fed_resolver_new(&(struct fed_resolver_options){ .dns_forwarder = "127.0.0.1@1" },
						  err, sizeof(err));
	struct fed_sender_options opt = { .origin = "me.test", .key = &key, .resolver = r, .backoff_base_ms = 10,
					  .backoff_max_ms = 40, .request_timeout_ms = 2000 };
	struct fed_sender *s = fed_sender_new(&opt);
	assert_non_null(s);
	json_t *pdu = json_pack("{ss}", "type", "m.room.message");
	/* Port 1 on loopback: connection refused, so every attempt fails. */
	assert_int_equal(fed_sender_queue_pdu(s, "127.0.0.1:1", pdu), 0);
	assert_int_equal(fed_sender_start(s), 0);
	struct fed_sender_stats st = { 0 };
	for (int i = 0; i < 200 && st.txns_failed < 3; i++) {
		usleep(20000);
		fed_sender_get_stats(s, &st);
	}
	assert_true(st.txns_failed >= 3);
	assert_int_equal(st.txns_sent, 0);
	assert_int_equal(fed_sender_wait_idle(s, 30), -1); /* the PDU is kept */
	fed_sender_free(s);
	json_decref(pdu);
	fed_resolver_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_queue_rules),
		cmocka_unit_test(test_retries_then_shutdown),
	};
	return cmocka_run_group_tests_name("sender", tests, NULL, NULL);
}
