-- Events and the global stream position.  Every event gets the next
-- position when stored; readers (sync, federation) resume from a position.
-- Room state, membership and forward extremities come as later migrations.

CREATE TABLE events (
	stream_pos INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused
	event_id TEXT NOT NULL UNIQUE,
	room_id TEXT NOT NULL,
	type TEXT NOT NULL,
	state_key TEXT,                                -- NULL: not a state event
	sender TEXT NOT NULL,
	origin_server_ts INTEGER NOT NULL,
	event_json TEXT NOT NULL                       -- the event as received/built
);
CREATE INDEX events_room_pos_idx ON events (room_id, stream_pos);
