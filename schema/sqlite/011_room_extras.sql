-- Account data (global: room_id ''), receipts, room aliases and the public
-- room directory.  stream_pos here is the "extras" stream of /sync tokens
-- (s<event position>_<extras position>), separate from events.

CREATE TABLE account_data (
	user_id TEXT NOT NULL,
	room_id TEXT NOT NULL,
	type TEXT NOT NULL,
	content TEXT NOT NULL,
	stream_pos INTEGER NOT NULL,
	PRIMARY KEY (user_id, room_id, type)
);
CREATE INDEX account_data_pos_idx ON account_data (user_id, stream_pos);

CREATE TABLE receipts (
	room_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	receipt_type TEXT NOT NULL,
	event_id TEXT NOT NULL,
	ts INTEGER NOT NULL,
	stream_pos INTEGER NOT NULL,
	PRIMARY KEY (room_id, user_id, receipt_type)
);
CREATE INDEX receipts_pos_idx ON receipts (room_id, stream_pos);

CREATE TABLE room_aliases (
	alias TEXT PRIMARY KEY,
	room_id TEXT NOT NULL,
	creator TEXT NOT NULL
);
CREATE INDEX room_aliases_room_idx ON room_aliases (room_id);

CREATE TABLE room_directory (
	room_id TEXT PRIMARY KEY
);
