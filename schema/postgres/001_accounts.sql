-- Accounts: users, devices, access and refresh tokens, registration tokens,
-- and a small key/value table for server settings.  Tokens are stored only
-- as SHA-256 hex digests; passwords only as argon2id hashes.

CREATE TABLE users (
	user_id TEXT NOT NULL PRIMARY KEY,
	password_hash TEXT,              -- NULL: no password login
	is_admin INTEGER NOT NULL DEFAULT 0,
	deactivated INTEGER NOT NULL DEFAULT 0,
	created_ts BIGINT NOT NULL,
	displayname TEXT,
	avatar_url TEXT
);
-- Login matches user IDs ignoring case.
CREATE INDEX users_lower_idx ON users (lower(user_id));

CREATE TABLE devices (
	user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
	device_id TEXT NOT NULL,
	display_name TEXT,
	last_seen_ts BIGINT NOT NULL DEFAULT 0,
	last_seen_ip TEXT,
	PRIMARY KEY (user_id, device_id)
);

-- Deleting a device deletes its tokens (logout).  A device-less access
-- token (device_id NULL) is not checked against devices.
CREATE TABLE access_tokens (
	token_hash TEXT NOT NULL PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
	device_id TEXT,
	valid_until_ms BIGINT NOT NULL DEFAULT 0,  -- 0: never expires
	refresh_hash TEXT,                          -- refresh token issued with it
	FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);
CREATE INDEX access_tokens_device_idx ON access_tokens (user_id, device_id);
CREATE INDEX access_tokens_refresh_idx ON access_tokens (refresh_hash);

CREATE TABLE refresh_tokens (
	token_hash TEXT NOT NULL PRIMARY KEY,
	user_id TEXT NOT NULL,
	device_id TEXT NOT NULL,
	valid_until_ms BIGINT NOT NULL DEFAULT 0,  -- 0: never expires
	next_hash TEXT,                             -- successor, once rotated
	used INTEGER NOT NULL DEFAULT 0,
	FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_device_idx ON refresh_tokens (user_id, device_id);
CREATE INDEX refresh_tokens_next_idx ON refresh_tokens (next_hash);

CREATE TABLE registration_tokens (
	token TEXT NOT NULL PRIMARY KEY,
	uses_allowed BIGINT,                        -- NULL: unlimited
	pending BIGINT NOT NULL DEFAULT 0,
	completed BIGINT NOT NULL DEFAULT 0,
	expiry_time BIGINT                          -- NULL: never expires
);

CREATE TABLE server_kv (
	kv_key TEXT NOT NULL PRIMARY KEY,
	kv_value TEXT NOT NULL
);
