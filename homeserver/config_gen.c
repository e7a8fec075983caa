/* scopd --generate-config: a working configuration with a fresh signing
 * key and registration shared secret. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/crypto.h"
#include "homeserver/config.h"
#include "homeserver/userid.h"

/* Writes text to a new file only (O_EXCL), so a config is never clobbered. */
static int write_new_file(const char *path, const char *text, mode_t mode)
{
	size_t len = strlen(text), off = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			unlink(path);
			return -1;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		unlink(path);
		return -1;
	}
	return 0;
}

int hs_config_generate(const char *path, const char *server_name,
		       const char *data_dir, char *err, size_t errlen)
{
	struct scop_ed25519 key;
	char secret[49];
	char *copy = NULL, *dir, *abs_dir = NULL, *key_path = NULL, *db_path = NULL;
	struct buf b = BUF_INIT;
	int rc = -1;

	if (!server_name || !hs_server_name_valid(server_name)) {
		scop_err(err, errlen, "--server-name: a host name with an optional port is required");
		return -1;
	}
	if (access(path, F_OK) == 0) {
		scop_err(err, errlen, "%s already exists; not overwriting it", path);
		return -1;
	}
	copy = strdup(path);
	if (!copy)
		goto out;
	dir = data_dir ? (char *)data_dir : dirname(copy);
	if (data_dir && mkdir(data_dir, 0700) < 0 && errno != EEXIST) {
		scop_err(err, errlen, "%s: %s", data_dir, strerror(errno));
		goto out;
	}
	/* Absolute paths in the file, so it works from any directory. */
	abs_dir = realpath(dir, NULL);
	if (!abs_dir) {
		scop_err(err, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	dir = abs_dir;
	if (asprintf(&key_path, "%s/%s.signing.key", dir, server_name) < 0) {
		key_path = NULL;
		goto out;
	}
	if (asprintf(&db_path, "%s/homeserver.db", dir) < 0) {
		db_path = NULL;
		goto out;
	}
	if (scop_ed25519_generate(&key, "a_scop") < 0 || scop_random_token(secret, 48) < 0) {
		scop_err(err, errlen, "cannot generate keys (OpenSSL failure)");
		goto out;
	}
	if (access(key_path, F_OK) == 0) {
		/* Reuse an existing key: a server's identity must not change. */
		scop_ed25519_clear(&key);
	} else if (scop_ed25519_save(key_path, &key) < 0) {
		scop_ed25519_clear(&key);
		scop_err(err, errlen, "%s: cannot write the signing key", key_path);
		goto out;
	}
	scop_ed25519_clear(&key);
	buf_printf(&b,
		   "# scopd configuration (Synapse's key names where they overlap).\n"
		   "server_name: \"%s\"\n"
		   "public_baseurl: \"http://localhost:8008/\"\n"
		   "listeners:\n"
		   "  - port: 8008\n"
		   "    type: http\n"
		   "    tls: false\n"
		   "    bind_addresses: ['127.0.0.1', '::1']\n"
		   "    resources:\n"
		   "      - names: [client, federation]\n"
		   "database:\n"
		   "  name: sqlite3\n"
		   "  args:\n"
		   "    database: \"%s\"\n"
		   "# For PostgreSQL:\n"
		   "#database:\n"
		   "#  name: psycopg2\n"
		   "#  args: {user: scop, password: secret, database: scop, host: localhost}\n"
		   "signing_key_path: \"%s\"\n"
		   "registration_shared_secret: \"%s\"\n"
		   "enable_registration: false\n"
		   "registration_requires_token: false\n"
		   "max_upload_size: 50M\n"
		   "max_request_body_size: 1M\n"
		   "log_level: info\n",
		   server_name, db_path, key_path, secret);
	explicit_bzero(secret, sizeof(secret));
	if (!b.data || write_new_file(path, b.data, 0600) < 0) {
		scop_err(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (b.data)
		explicit_bzero(b.data, b.len);
	buf_free(&b);
	free(copy);
	free(abs_dir);
	free(key_path);
	free(db_path);
	return rc;
}
