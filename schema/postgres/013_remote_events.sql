-- Remote events outside the timeline (issue 6): outliers (auth-chain and
-- state events known only as such, e.g. from a send_join answer), rejected
-- events and soft-failed events.  They get no stream position and never
-- reach clients; room_store_event_get() finds them here after the
-- timeline.  kind: 1 outlier, 2 rejected, 3 soft-failed.
CREATE TABLE event_outliers (
	event_id TEXT PRIMARY KEY,
	room_id TEXT NOT NULL,
	kind BIGINT NOT NULL,
	event_json TEXT NOT NULL,
	received_ts BIGINT NOT NULL
);
CREATE INDEX event_outliers_room_idx ON event_outliers (room_id);

-- PDUs queued for other servers and not yet delivered (the sender's
-- persistence hook): re-queued in seq order at start-up.
CREATE TABLE fed_outbox (
	seq BIGINT PRIMARY KEY,
	destination TEXT NOT NULL,
	pdu_json TEXT NOT NULL
);
CREATE INDEX fed_outbox_dest_idx ON fed_outbox (destination, seq);

-- When a remote event leaves the room's current state different from the
-- state after that event (forks resolved by state resolution), the group
-- holding the current state; it counts while stream_pos is the room's
-- newest event.
CREATE TABLE room_current_group (
	room_id TEXT PRIMARY KEY,
	stream_pos BIGINT NOT NULL,
	group_id BIGINT NOT NULL
);
