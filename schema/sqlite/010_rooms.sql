-- Rooms, their state and who is in them (issue 3).  The events themselves
-- stay in events (002); everything here is written in the same transaction
-- as the event row it describes.

CREATE TABLE rooms (
	room_id TEXT PRIMARY KEY,
	version TEXT NOT NULL,
	creator TEXT NOT NULL,
	created_ts INTEGER NOT NULL
);

-- Per event: DAG depth, the state group in force before it (a snapshot id,
-- see state_groups), the group after it (differs only for state events),
-- rejection marks, the redaction that hit it, and the device and
-- transaction id it was sent with (for unsigned.transaction_id).
CREATE TABLE event_meta (
	event_id TEXT PRIMARY KEY,
	room_id TEXT NOT NULL,
	depth INTEGER NOT NULL,
	state_before INTEGER NOT NULL,
	state_after INTEGER NOT NULL,
	rejected INTEGER NOT NULL DEFAULT 0,
	soft_failed INTEGER NOT NULL DEFAULT 0,
	redacted_by TEXT,
	sender_device TEXT,
	txn_id TEXT
);

-- A full snapshot of a room's state, one row per state change: a JSON
-- object {"type": {"state_key": "event_id"}}.  group_id 0 is the empty state.
CREATE TABLE state_groups (
	group_id INTEGER PRIMARY KEY,
	room_id TEXT NOT NULL,
	state_json TEXT NOT NULL
);

CREATE TABLE room_state (
	room_id TEXT NOT NULL,
	type TEXT NOT NULL,
	state_key TEXT NOT NULL,
	event_id TEXT NOT NULL,
	PRIMARY KEY (room_id, type, state_key)
);

CREATE TABLE room_memberships (
	room_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	membership TEXT NOT NULL,
	event_id TEXT NOT NULL,
	stream_pos INTEGER NOT NULL,
	forgotten INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_memberships_user_idx ON room_memberships (user_id);

CREATE TABLE room_extremities (
	room_id TEXT NOT NULL,
	event_id TEXT NOT NULL,
	PRIMARY KEY (room_id, event_id)
);

CREATE TABLE room_txns (
	user_id TEXT NOT NULL,
	device_id TEXT NOT NULL,
	txn_id TEXT NOT NULL,
	event_id TEXT NOT NULL,
	PRIMARY KEY (user_id, device_id, txn_id)
);

CREATE TABLE user_filters (
	user_id TEXT NOT NULL,
	filter_id INTEGER NOT NULL,
	filter_json TEXT NOT NULL,
	PRIMARY KEY (user_id, filter_id)
);
