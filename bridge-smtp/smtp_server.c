/* epoll SMTP server; see smtp_server.h. */
#include "bridge-smtp/smtp_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "common/log.h"

#define MAX_LISTENERS 8
#define READ_CHUNK (64 * 1024)
#define MAX_JOBS 64

enum conn_tls {
	TLS_NONE,      /* plaintext */
	TLS_PENDING,   /* STARTTLS accepted, 220 not yet fully sent */
	TLS_HANDSHAKE,
	TLS_ON,
};

struct conn {
	struct conn *prev, *next;
	uint64_t id;
	int fd;
	SSL *ssl;
	enum conn_tls tls;
	enum smtp_role role;
	struct smtp_session *s;
	struct smtp_session_config *scfg;
	struct smtp_server *srv;
	struct smtp_sink sink;
	struct spool_writer *writer; /* message being received, if any */
	char peer[INET6_ADDRSTRLEN + 8];
	struct smtp_ip_key ipkey;
	bool ip_known;      /* ipkey is set (an IPv4 or IPv6 peer) */
	bool ip_counted;    /* counted as open in srv->iplim */
	char tls_desc[96];
	double started, last_active;
	bool closing;       /* send remaining output, then close */
	bool job_pending;   /* a worker thread checks a password or stores a message */
	bool dead;          /* closed while a job ran: freed when it returns */
	bool ssl_read_wants_write;
	uint32_t events;    /* epoll interest now registered */
};

struct listener {
	int fd;
	int port;
	bool paused; /* out of file descriptors: not accepting for a moment */
	enum smtp_role role;
	struct smtp_session_config scfg;
};

/* Blocking work handed to a worker thread so the loop never waits on it:
 * a password check (an HTTP round trip) or storing a message (two
 * fsyncs; concurrent ones share journal commits).  The result comes back
 * as this pointer written to the pipe.  The conn and its session stay
 * allocated until then, even if the client goes away (conn->dead). */
enum job_type { JOB_AUTH, JOB_STORE };

struct job {
	enum job_type type;
	struct smtp_server *srv;
	struct conn *conn;
	/* JOB_AUTH */
	const struct smtp_auth_checker *checker;
	char user[512];
	char password[512];
	char identity[512];
	enum smtp_auth_result result;
	/* JOB_STORE: the envelope's strings point into the paused session
	 * and conn; the writer holds the streamed message. */
	struct spool_envelope env;
	size_t len;
	struct spool_writer *writer;
	char id[SPOOL_ID_MAX];
	int rc;
	int err;
};

struct smtp_server {
	const struct smtp_server_config *cfg;
	int epfd;
	int stopfd;   /* eventfd */
	int jobpipe[2];
	struct listener listeners[MAX_LISTENERS];
	size_t n_listeners;
	struct conn *conns;
	size_t n_conns;
	uint64_t next_id;
	unsigned jobs_running;
	bool stopping;
	struct smtp_ip_limits *iplim;
	/* Refused connections are logged as one line a second at most, so
	 * a flood cannot fill the disk with log lines. */
	struct {
		unsigned n;
		uint64_t since;
		char last_peer[INET6_ADDRSTRLEN + 8];
		const char *last_what;
	} refused;
};

/* epoll data: small integers name the special fds, pointers name conns. */
#define TAG_STOP ((uint64_t)1)
#define TAG_JOBS ((uint64_t)2)
#define TAG_LISTENER ((uint64_t)16) /* + index */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

SSL_CTX *smtp_tls_ctx_new(const char *cert_file, const char *key_file, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		snprintf(err, errlen, "cannot load TLS certificate %s", cert_file);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "cannot load TLS key %s (or it does not match the certificate)", key_file);
		goto fail;
	}
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

struct smtp_server *smtp_server_new(const struct smtp_server_config *cfg)
{
	struct smtp_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->cfg = cfg;
	srv->stopfd = srv->jobpipe[0] = srv->jobpipe[1] = -1;
	srv->next_id = 1;
	uint8_t key[16];
	if (scop_random_bytes(key, sizeof(key)) < 0 ||
	    !(srv->iplim = smtp_ip_limits_new(&cfg->client_limits, key))) {
		free(srv);
		return NULL;
	}
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	srv->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (srv->epfd < 0 || srv->stopfd < 0 || pipe2(srv->jobpipe, O_CLOEXEC) < 0)
		goto fail;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_STOP };
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->stopfd, &ev) < 0)
		goto fail;
	ev.data.u64 = TAG_JOBS;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->jobpipe[0], &ev) < 0)
		goto fail;
	return srv;
fail:
	smtp_server_free(srv);
	return NULL;
}

static void conn_free(struct smtp_server *srv, struct conn *c)
{
	if (c->job_pending) {
		/* A worker still reads this session: close the socket now,
		 * free the rest when the job comes back. */
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		c->dead = true;
		return;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->n_conns--;
	if (c->ip_counted)
		smtp_ip_limits_disconnect(srv->iplim, &c->ipkey, now_ms());
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd); /* also removes it from the epoll set */
	smtp_session_free(c->s);
	free(c);
}

void smtp_server_free(struct smtp_server *srv)
{
	if (!srv)
		return;
	while (srv->conns) {
		srv->conns->job_pending = false; /* run() waited for every job */
		conn_free(srv, srv->conns);
	}
	for (size_t i = 0; i < srv->n_listeners; i++)
		close(srv->listeners[i].fd);
	if (srv->epfd >= 0)
		close(srv->epfd);
	if (srv->stopfd >= 0)
		close(srv->stopfd);
	if (srv->jobpipe[0] >= 0)
		close(srv->jobpipe[0]);
	if (srv->jobpipe[1] >= 0)
		close(srv->jobpipe[1]);
	smtp_ip_limits_free(srv->iplim);
	free(srv);
}

int smtp_server_listen(struct smtp_server *srv, const char *address, int port, enum smtp_role role,
		       char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	char portstr[16];
	if (srv->n_listeners >= MAX_LISTENERS) {
		snprintf(err, errlen, "too many listeners");
		return -1;
	}
	snprintf(portstr, sizeof(portstr), "%d", port);
	int rc = getaddrinfo(address, portstr, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "bad listen address %s: %s", address, gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		snprintf(err, errlen, "cannot listen on %s port %d: %s", address, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	struct listener *l = &srv->listeners[srv->n_listeners];
	l->fd = fd;
	l->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);
	l->role = role;
	const struct smtp_server_config *cfg = srv->cfg;
	l->scfg.role = role;
	l->scfg.hostname = cfg->hostname;
	l->scfg.local_domains = cfg->local_domains;
	l->scfg.n_local_domains = cfg->n_local_domains;
	l->scfg.limits = cfg->limits;
	l->scfg.tls_available = cfg->tls != NULL;
	l->scfg.auth_available = role == SMTP_ROLE_SUBMISSION && cfg->auth != NULL;
	l->scfg.sender_policy = role == SMTP_ROLE_SUBMISSION ? cfg->sender_policy : NULL;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_LISTENER + srv->n_listeners };
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
		close(fd);
		return -1;
	}
	srv->n_listeners++;
	return 0;
}

int smtp_server_port(const struct smtp_server *srv, size_t n)
{
	return n < srv->n_listeners ? srv->listeners[n].port : -1;
}

void smtp_server_stop(struct smtp_server *srv)
{
	uint64_t one = 1;
	ssize_t r = write(srv->stopfd, &one, sizeof(one));
	(void)r;
}

static void conn_set_events(struct smtp_server *srv, struct conn *c, uint32_t events)
{
	if (events == c->events)
		return;
	struct epoll_event ev = { .events = events, .data.ptr = c };
	epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->events = events;
}

static void peer_name(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, host, sizeof(host));
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, host, sizeof(host));
	snprintf(out, outlen, "%s", host);
}

static int sink_begin(void *ctx, const struct smtp_envelope *e);
static int sink_write(void *ctx, const void *data, size_t len);
static void sink_abort(void *ctx);

/* Refuses a connection before its greeting: one line, then close. */
static void refuse(int fd, const char *line)
{
	ssize_t w = write(fd, line, strlen(line));
	(void)w;
	close(fd);
}

static void log_refused(struct smtp_server *srv)
{
	if (srv->refused.n == 1)
		log_info("refused a connection from %s: %s", srv->refused.last_peer, srv->refused.last_what);
	else if (srv->refused.n > 1)
		log_info("refused %u connections over per-address limits; the last from %s: %s", srv->refused.n,
			 srv->refused.last_peer, srv->refused.last_what);
	srv->refused.n = 0;
}

/* The per-address limits; false when the connection was refused. */
static bool admit(struct smtp_server *srv, const struct listener *l, int fd, const struct sockaddr_storage *ss,
		  const struct smtp_ip_key *key, bool *counted)
{
	*counted = false;
	if (!key)
		return true; /* not an IP peer: nothing to count */
	uint64_t t = now_ms();
	const char *why, *what;
	/* A brute-forcer is kept from even starting TLS for its next try. */
	if (l->role == SMTP_ROLE_SUBMISSION && smtp_ip_limits_auth_blocked(srv->iplim, key, t)) {
		why = "421 4.7.0 Too many failed authentication attempts from your address, try again later\r\n";
		what = "AUTH blocked";
	} else {
		switch (smtp_ip_limits_connect(srv->iplim, key, t)) {
		case SMTP_IP_OK:
			*counted = true;
			return true;
		case SMTP_IP_TOO_MANY_CONNS:
			why = "421 4.7.0 Too many connections from your address, try again later\r\n";
			what = "too many connections";
			break;
		default:
			why = "421 4.7.0 Too many connections from your address in a short time, try again later\r\n";
			what = "connection rate";
			break;
		}
	}
	if (srv->refused.n++ == 0)
		srv->refused.since = t;
	peer_name(ss, srv->refused.last_peer, sizeof(srv->refused.last_peer));
	srv->refused.last_what = what;
	if (t - srv->refused.since >= 1000)
		log_refused(srv);
	refuse(fd, why);
	return false;
}

static void do_accept(struct smtp_server *srv, struct listener *l)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* The connection stays queued and the listener
				 * stays readable: stop watching it until the next
				 * timer tick instead of spinning. */
				log_warn("accept: %s; pausing the listener", strerror(errno));
				struct epoll_event ev = { .events = 0, .data.u64 = TAG_LISTENER + (uint64_t)(l - srv->listeners) };
				epoll_ctl(srv->epfd, EPOLL_CTL_MOD, l->fd, &ev);
				l->paused = true;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				log_warn("accept: %s", strerror(errno));
			}
			return;
		}
		if (srv->n_conns >= srv->cfg->max_sessions) {
			refuse(fd, "421 4.3.2 Too many connections, try again later\r\n");
			continue;
		}
		struct smtp_ip_key key;
		bool known = smtp_ip_key_from((const struct sockaddr *)&ss, &key) == 0, counted;
		if (!admit(srv, l, fd, &ss, known ? &key : NULL, &counted))
			continue;
		struct conn *c = calloc(1, sizeof(*c));
		if (!c || !(c->s = smtp_session_new(&l->scfg))) {
			if (counted)
				smtp_ip_limits_disconnect(srv->iplim, &key, now_ms());
			free(c);
			close(fd);
			continue;
		}
		c->ipkey = key;
		c->ip_counted = counted;
		c->ip_known = known;
		c->id = srv->next_id++;
		c->srv = srv;
		c->sink = (struct smtp_sink){ sink_begin, sink_write, sink_abort, c };
		smtp_session_set_sink(c->s, &c->sink);
		c->fd = fd;
		c->role = l->role;
		c->scfg = &l->scfg;
		peer_name(&ss, c->peer, sizeof(c->peer));
		c->started = c->last_active = now_s();
		c->events = EPOLLIN | EPOLLOUT;
		struct epoll_event ev = { .events = c->events, .data.ptr = c };
		if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			if (counted)
				smtp_ip_limits_disconnect(srv->iplim, &key, now_ms());
			smtp_session_free(c->s);
			free(c);
			close(fd);
			continue;
		}
		c->next = srv->conns;
		if (srv->conns)
			srv->conns->prev = c;
		srv->conns = c;
		srv->n_conns++;
		log_debug("connection %llu from %s (%s)", (unsigned long long)c->id, c->peer,
			  l->role == SMTP_ROLE_MX ? "mx" : "submission");
	}
}

/* Writes pending session output; returns -1 when the connection broke,
 * 1 when output remains (wait for EPOLLOUT), 0 when all is sent. */
static int flush_output(struct conn *c)
{
	for (;;) {
		size_t len;
		const char *out = smtp_session_output(c->s, &len);
		if (len == 0)
			return 0;
		if (c->tls == TLS_ON) {
			size_t w;
			ERR_clear_error();
			int r = SSL_write_ex(c->ssl, out, len, &w);
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);
				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
					return 1;
				return -1;
			}
			smtp_session_output_consume(c->s, w);
		} else {
			ssize_t w = send(c->fd, out, len, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					return 1;
				return -1;
			}
			smtp_session_output_consume(c->s, (size_t)w);
		}
		c->last_active = now_s();
	}
}

static void *job_thread(void *arg)
{
	struct job *job = arg;
	if (job->type == JOB_AUTH) {
		job->identity[0] = '\0';
		job->result = job->checker->check(job->checker->ctx, job->user, job->password, job->identity,
						  sizeof(job->identity));
		wipe(job->password, sizeof(job->password));
	} else {
		job->rc = spool_commit(job->writer, job->id);
		job->err = errno;
	}
	ssize_t w;
	do {
		w = write(job->srv->jobpipe[1], &job, sizeof(job));
	} while (w < 0 && errno == EINTR);
	return NULL;
}

/* Starts job on a detached thread; -1 when that is not possible now. */
static int start_job(struct smtp_server *srv, struct job *job)
{
	if (srv->jobs_running >= MAX_JOBS)
		return -1;
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	/* Signals belong to the loop thread. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&t, &attr, job_thread, job);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		return -1;
	srv->jobs_running++;
	job->conn->job_pending = true;
	return 0;
}

static void start_auth(struct smtp_server *srv, struct conn *c)
{
	if (c->ip_known && smtp_ip_limits_auth_blocked(srv->iplim, &c->ipkey, now_ms())) {
		log_info("AUTH refused for %s: too many failures from there", c->peer);
		smtp_session_auth_done(c->s, SMTP_AUTH_LOCKOUT, NULL);
		return;
	}
	struct job *job = srv->cfg->auth ? calloc(1, sizeof(*job)) : NULL;
	if (!job) {
		smtp_session_auth_done(c->s, SMTP_AUTH_TEMPFAIL, NULL);
		return;
	}
	job->type = JOB_AUTH;
	job->srv = srv;
	job->conn = c;
	job->checker = srv->cfg->auth;
	snprintf(job->user, sizeof(job->user), "%s", smtp_session_auth_user(c->s));
	snprintf(job->password, sizeof(job->password), "%s", smtp_session_auth_password(c->s));
	if (start_job(srv, job) < 0) {
		wipe(job->password, sizeof(job->password));
		free(job);
		smtp_session_auth_done(c->s, SMTP_AUTH_TEMPFAIL, NULL);
	}
}

static void finish_auth(struct smtp_server *srv, struct job *job)
{
	struct conn *c = job->conn;
	/* The user name is the client's choice of bytes: keep control
	 * characters out of the log. */
	char shown[128];
	size_t i;
	for (i = 0; job->user[i] && i < sizeof(shown) - 1; i++) {
		unsigned char ch = (unsigned char)job->user[i];
		shown[i] = ch < 32 || ch == 127 ? '?' : (char)ch;
	}
	shown[i] = '\0';
	log_info("AUTH %s for %s from %s",
		 job->result == SMTP_AUTH_OK ? "ok" : job->result == SMTP_AUTH_BAD ? "failed" : "tempfail",
		 shown, c->peer);
	enum smtp_auth_result r = job->result;
	if (r == SMTP_AUTH_BAD && c->ip_known) {
		uint64_t t = now_ms();
		if (smtp_ip_limits_auth_failed(srv->iplim, &c->ipkey, t))
			log_warn("too many failed AUTH attempts from %s: no AUTH from there for %u s", c->peer,
				 srv->cfg->client_limits.auth_block_s);
		if (smtp_ip_limits_auth_blocked(srv->iplim, &c->ipkey, t))
			r = SMTP_AUTH_LOCKOUT;
	}
	smtp_session_auth_done(c->s, r, job->identity);
}

static void finish_store(struct smtp_server *srv, struct job *job)
{
	struct conn *c = job->conn;
	if (job->rc < 0) {
		log_error("cannot spool message from %s: %s", c->peer, strerror(job->err));
		smtp_session_message_done(c->s, false, NULL);
		return;
	}
	log_info("queued %s: from=<%s> rcpts=%zu size=%zu client=%s%s%s", job->id, job->env.from,
		 job->env.n_rcpts, job->len, c->peer, job->env.auth ? " auth=" : "",
		 job->env.auth ? job->env.auth : "");
	smtp_session_message_done(c->s, true, job->id);
	if (srv->cfg->on_queued)
		srv->cfg->on_queued(srv->cfg->on_queued_ctx, job->id);
}

/* The Received: header of RFC 5321 4.4, with the protocol names of
 * RFC 3848 and RFC 6531.  The recipient is named only when there is one
 * (naming several would disclose Bcc recipients to each other). */
static int format_received(struct buf *out, const struct smtp_server *srv, const struct conn *c,
			   const struct smtp_envelope *e)
{
	static const char *const proto[2][2][2] = {
		{ { "ESMTP", "ESMTPA" }, { "ESMTPS", "ESMTPSA" } },
		{ { "UTF8SMTP", "UTF8SMTPA" }, { "UTF8SMTPS", "UTF8SMTPSA" } },
	};
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	const char *with = proto[e->smtputf8][c->tls == TLS_ON][e->auth_identity != NULL];
	if (buf_printf(out, "Received: from %s (%s)\r\n\tby %s (SCoP) with %s", e->helo, c->peer,
		       srv->cfg->hostname, with) < 0)
		return -1;
	if (c->tls == TLS_ON && buf_printf(out, "\r\n\t(%s)", c->tls_desc) < 0)
		return -1;
	if (e->n_rcpts == 1 && buf_printf(out, "\r\n\tfor <%s>", e->rcpts[0]) < 0)
		return -1;
	return buf_printf(out, "; %s\r\n", date);
}

static void fill_spool_envelope(struct spool_envelope *se, const struct conn *c, const struct smtp_envelope *e)
{
	*se = (struct spool_envelope){
		.listener = c->role == SMTP_ROLE_MX ? "mx" : "submission",
		.client = c->peer,
		.helo = e->helo,
		.tls = c->tls == TLS_ON ? c->tls_desc : NULL,
		.auth = e->auth_identity,
		.body = e->body == SMTP_BODY_8BITMIME ? "8BITMIME" : e->body == SMTP_BODY_7BIT ? "7BIT" : "unspecified",
		.smtputf8 = e->smtputf8,
		.from = e->mail_from,
		.rcpts = e->rcpts,
		.n_rcpts = e->n_rcpts,
		.received = (int64_t)time(NULL),
	};
}

/* The session's sink: message content goes straight to a spool file as
 * it arrives, so a session holds at most a read buffer of it in memory. */
static int sink_begin(void *ctx, const struct smtp_envelope *e)
{
	struct conn *c = ctx;
	struct spool_envelope se;
	struct buf trace = BUF_INIT;
	fill_spool_envelope(&se, c, e);
	if (format_received(&trace, c->srv, c, e) < 0) {
		buf_free(&trace);
		return -1;
	}
	se.trace = trace.data;
	int rc = spool_begin(c->srv->cfg->spool, &se, &c->writer);
	if (rc < 0)
		log_error("cannot start a spool file for %s: %s", c->peer, strerror(errno));
	buf_free(&trace);
	return rc;
}

static int sink_write(void *ctx, const void *data, size_t len)
{
	struct conn *c = ctx;
	if (spool_write(c->writer, data, len) < 0) {
		log_error("cannot write to the spool for %s: %s", c->peer, strerror(errno));
		return -1;
	}
	return 0;
}

static void sink_abort(void *ctx)
{
	struct conn *c = ctx;
	spool_abort(c->writer);
	c->writer = NULL;
}

static void store_message(struct smtp_server *srv, struct conn *c)
{
	const struct smtp_envelope *e = smtp_session_envelope(c->s);
	struct job *job = calloc(1, sizeof(*job));
	if (!job) {
		spool_abort(c->writer);
		c->writer = NULL;
		smtp_session_message_done(c->s, false, NULL);
		return;
	}
	job->type = JOB_STORE;
	job->srv = srv;
	job->conn = c;
	fill_spool_envelope(&job->env, c, e); /* for the log line */
	job->len = e->len;
	job->writer = c->writer;
	c->writer = NULL;
	if (start_job(srv, job) < 0) {
		/* No worker to spare: commit on the loop thread. */
		job->rc = spool_commit(job->writer, job->id);
		job->err = errno;
		finish_store(srv, job);
		free(job);
	}
}

/* Runs the session until it needs input or waits on something. */
static void run_session(struct smtp_server *srv, struct conn *c)
{
	enum smtp_event ev;
	while (!c->closing && !c->job_pending && (c->tls == TLS_NONE || c->tls == TLS_ON) &&
	       (ev = smtp_session_step(c->s)) != SMTP_EV_NONE) {
		switch (ev) {
		case SMTP_EV_STARTTLS:
			c->tls = TLS_PENDING;
			break;
		case SMTP_EV_AUTH:
			start_auth(srv, c);
			break;
		case SMTP_EV_MESSAGE:
			store_message(srv, c);
			break;
		case SMTP_EV_CLOSE:
			c->closing = true;
			break;
		case SMTP_EV_NONE:
			break;
		}
	}
}

static void tls_describe(struct conn *c)
{
	snprintf(c->tls_desc, sizeof(c->tls_desc), "%s %s", SSL_get_version(c->ssl),
		 SSL_get_cipher_name(c->ssl));
}

/* Drives the handshake; -1 on failure. */
static int tls_handshake(struct conn *c)
{
	ERR_clear_error();
	int r = SSL_accept(c->ssl);
	if (r == 1) {
		c->tls = TLS_ON;
		tls_describe(c);
		smtp_session_tls_started(c->s);
		log_debug("connection %llu: %s", (unsigned long long)c->id, c->tls_desc);
		return 0;
	}
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	log_info("TLS handshake with %s failed", c->peer);
	return -1;
}

static int start_tls(struct smtp_server *srv, struct conn *c)
{
	c->ssl = SSL_new(srv->cfg->tls);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1)
		return -1;
	SSL_set_accept_state(c->ssl);
	c->tls = TLS_HANDSHAKE;
	return tls_handshake(c);
}

/* Reads what is available into the session; -1 on EOF or error. */
static int read_input(struct conn *c)
{
	char buf[READ_CHUNK];
	/* One read per call keeps buffered input bounded: the session
	 * consumes it before the next read. */
	for (;;) {
		size_t got;
		if (c->tls == TLS_ON) {
			ERR_clear_error();
			c->ssl_read_wants_write = false;
			int r = SSL_read_ex(c->ssl, buf, sizeof(buf), &got);
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);
				if (e == SSL_ERROR_WANT_READ)
					return 0;
				if (e == SSL_ERROR_WANT_WRITE) {
					c->ssl_read_wants_write = true;
					return 0;
				}
				return -1;
			}
		} else {
			ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
			}
			if (r == 0)
				return -1;
			got = (size_t)r;
		}
		c->last_active = now_s();
		return smtp_session_feed(c->s, buf, got);
	}
}

/* Brings the connection forward after any event; frees it when done. */
static void conn_progress(struct smtp_server *srv, struct conn *c, uint32_t events)
{
	/* HUP: reset, or both directions shut; nothing can reach the
	 * client any more (a plain FIN comes as EPOLLIN and is read). */
	if (events & (EPOLLERR | EPOLLHUP)) {
		conn_free(srv, c);
		return;
	}
	if (c->tls == TLS_HANDSHAKE) {
		if (tls_handshake(c) < 0) {
			conn_free(srv, c);
			return;
		}
	} else if ((events & EPOLLIN) || (c->ssl_read_wants_write && (events & EPOLLOUT))) {
		if (!c->closing && c->tls != TLS_PENDING && read_input(c) < 0) {
			conn_free(srv, c);
			return;
		}
	}
	for (;;) {
		if (c->tls == TLS_NONE || c->tls == TLS_ON)
			run_session(srv, c);
		int f = flush_output(c);
		if (f < 0) {
			conn_free(srv, c);
			return;
		}
		if (f == 0 && c->closing) {
			if (c->ssl)
				SSL_shutdown(c->ssl);
			log_debug("connection %llu closed", (unsigned long long)c->id);
			conn_free(srv, c);
			return;
		}
		if (f == 0 && c->tls == TLS_PENDING) {
			/* The 220 is out: everything from here on is TLS. */
			if (start_tls(srv, c) < 0) {
				conn_free(srv, c);
				return;
			}
			if (c->tls == TLS_ON)
				continue; /* handshake finished already */
		}
		/* TLS may hold decrypted input we have not taken yet. */
		if (c->tls == TLS_ON && !c->closing && !c->job_pending && SSL_pending(c->ssl) > 0) {
			if (read_input(c) < 0) {
				conn_free(srv, c);
				return;
			}
			continue;
		}
		uint32_t want = (c->closing || c->job_pending || c->tls == TLS_PENDING) ? 0 : EPOLLIN;
		if (f == 1 || c->ssl_read_wants_write)
			want |= EPOLLOUT;
		if (c->tls == TLS_HANDSHAKE && SSL_want_write(c->ssl))
			want |= EPOLLOUT;
		if (c->tls == TLS_ON && f == 1 && SSL_want_read(c->ssl))
			want |= EPOLLIN; /* a write that waits for the peer's record */
		conn_set_events(srv, c, want);
		return;
	}
}

static void collect_jobs(struct smtp_server *srv)
{
	struct job *job;
	while (srv->jobs_running > 0 && read(srv->jobpipe[0], &job, sizeof(job)) == (ssize_t)sizeof(job)) {
		srv->jobs_running--;
		struct conn *c = job->conn;
		c->job_pending = false;
		if (c->dead) {
			log_debug("connection %llu: %s finished after the client left", (unsigned long long)c->id,
				  job->type == JOB_AUTH ? "password check" : "message commit");
			if (job->type == JOB_AUTH)
				wipe(job->password, sizeof(job->password));
			conn_free(srv, c);
		} else {
			if (job->type == JOB_AUTH)
				finish_auth(srv, job);
			else
				finish_store(srv, job);
			if (!srv->stopping)
				conn_progress(srv, c, 0);
		}
		free(job);
	}
}

static void check_timeouts(struct smtp_server *srv)
{
	double t = now_s();
	log_refused(srv);
	for (size_t i = 0; i < srv->n_listeners; i++) {
		struct listener *l = &srv->listeners[i];
		if (l->paused) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_LISTENER + i };
			epoll_ctl(srv->epfd, EPOLL_CTL_MOD, l->fd, &ev);
			l->paused = false;
		}
	}
	struct conn *next;
	for (struct conn *c = srv->conns; c; c = next) {
		next = c->next;
		bool idle = t - c->last_active > srv->cfg->idle_timeout_s;
		bool old = t - c->started > srv->cfg->session_timeout_s;
		if ((!idle && !old) || c->job_pending || c->dead)
			continue; /* a job has its own time limit */
		if (c->closing || c->tls == TLS_HANDSHAKE || c->tls == TLS_PENDING) {
			conn_free(srv, c); /* not even reading its last reply */
			continue;
		}
		log_info("connection %llu from %s timed out", (unsigned long long)c->id, c->peer);
		smtp_session_timeout(c->s);
		c->last_active = t;
		conn_progress(srv, c, 0);
	}
}

int smtp_server_run(struct smtp_server *srv)
{
	struct epoll_event evs[64];
	double last_check = now_s();
	bool jobs_ready;
	/* A job pipe write must never block a worker: keep the read end
	 * non-blocking so collect_jobs() can drain it. */
	fcntl(srv->jobpipe[0], F_SETFL, O_NONBLOCK);
	while (!srv->stopping) {
		int n = epoll_wait(srv->epfd, evs, 64, 1000);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait: %s", strerror(errno));
			return -1;
		}
		jobs_ready = false;
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == TAG_STOP) {
				srv->stopping = true;
			} else if (tag == TAG_JOBS) {
				jobs_ready = true;
			} else if (tag >= TAG_LISTENER && tag < TAG_LISTENER + MAX_LISTENERS) {
				do_accept(srv, &srv->listeners[tag - TAG_LISTENER]);
			} else {
				/* Only a conn's own event frees it inside this
				 * loop, so later entries never point to freed
				 * memory; jobs and timeouts wait until after. */
				conn_progress(srv, evs[i].data.ptr, evs[i].events);
			}
		}
		if (jobs_ready)
			collect_jobs(srv);
		double t = now_s();
		if (t - last_check >= 1.0) {
			check_timeouts(srv);
			last_check = t;
		}
	}
	/* Shutting down: finish running jobs first, so messages being stored
	 * still get their 250 (they are on disk), then tell sessions 421. */
	fcntl(srv->jobpipe[0], F_SETFL, 0);
	collect_jobs(srv);
	for (struct conn *c = srv->conns; c; c = c->next) {
		if (c->tls == TLS_NONE || c->tls == TLS_ON) {
			smtp_session_shutdown(c->s);
			flush_output(c);
		}
	}
	while (srv->conns)
		conn_free(srv, srv->conns);
	return 0;
}
