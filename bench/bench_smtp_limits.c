/* Cost of the SMTP server's per-connection policy work, on the loop
 * thread: the per-address limits table (smtp_limits_ip) for one busy
 * address and under a flood of distinct addresses (every connect a new
 * address, so nearly every one evicts), and reading the From: header of
 * a submitted message (smtp_fromhdr + smtp_sender).
 *
 * Usage: bench_smtp_limits [scale]   (scale multiplies the counts; 1) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridge-smtp/smtp_fromhdr.h"
#include "bridge-smtp/smtp_limits_ip.h"
#include "bridge-smtp/smtp_sender.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct smtp_ip_key key_v4(uint32_t a)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct smtp_ip_key k;
	sin.sin_addr.s_addr = htonl(a);
	smtp_ip_key_from((struct sockaddr *)&sin, &k);
	return k;
}

static void bench_table(const char *what, size_t table, long n, int distinct)
{
	static const uint8_t hkey[16] = { 7 };
	struct smtp_ip_limits_config c;
	smtp_ip_limits_default(&c);
	c.table_size = table;
	c.max_conn_rate = 0;
	struct smtp_ip_limits *t = smtp_ip_limits_new(&c, hkey);
	if (!t) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	uint32_t x = 0x0a000001u;
	long ok = 0;
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		struct smtp_ip_key k = key_v4(distinct ? x + (uint32_t)i * 2654435761u : x);
		if (smtp_ip_limits_connect(t, &k, (uint64_t)i) == SMTP_IP_OK) {
			ok++;
			smtp_ip_limits_disconnect(t, &k, (uint64_t)i);
		}
	}
	double dt = now_s() - t0;
	printf("%-44s %10.0f connect+disconnect/s  (%ld ops, %zu slots used)\n", what, (double)n / dt, n,
	       smtp_ip_limits_used(t));
	if (ok != n)
		printf("  unexpected refusals: %ld\n", n - ok);
	smtp_ip_limits_free(t);
}

static void bench_from(long n)
{
	static const char *const domains[] = { "example.org" };
	static const char head[] = "Received: from client.test (127.0.0.1)\r\n\tby mx.test.example\r\n"
				   "Message-ID: <1234567890.abcdef@client.test>\r\n"
				   "Date: Tue, 24 Nov 2026 01:00:00 +0000\r\n"
				   "From: \"Alice Example (work)\" <alice@example.org>\r\n"
				   "To: Bob <bob@far.example>, carol@far.example\r\n"
				   "Subject: quarterly figures, second draft\r\n"
				   "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
	struct smtp_sender_policy p;
	smtp_sender_policy_default(&p);
	p.local_domains = domains;
	p.n_local_domains = 1;
	static struct smtp_fromhdr h;
	long owned = 0;
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		smtp_fromhdr_init(&h);
		smtp_fromhdr_feed(&h, head, sizeof(head) - 1);
		char addr[257];
		size_t pos = 0;
		while (smtp_fromhdr_next(h.value, h.len, &pos, addr, sizeof(addr)) == 1)
			owned += smtp_sender_owns(&p, "@alice:example.org", addr);
	}
	double dt = now_s() - t0;
	printf("%-44s %10.0f headers/s  (%zu-byte header, %.0f MB/s, %ld owned)\n", "From: read and checked",
	       (double)n / dt, sizeof(head) - 1, (double)n * (double)(sizeof(head) - 1) / dt / 1e6, owned);
}

int main(int argc, char **argv)
{
	long scale = argc > 1 ? atol(argv[1]) : 1;
	if (scale < 1)
		scale = 1;
	bench_table("one address, 4096 slots", 4096, 2000000 * scale, 0);
	bench_table("flood: every connect a new address, 4096", 4096, 2000000 * scale, 1);
	bench_table("flood: every connect a new address, 65536", 65536, 2000000 * scale, 1);
	bench_from(500000 * scale);
	return 0;
}
