-- Threaded read receipts: a receipt may name a thread (its root's event ID,
-- or "main" for the main timeline); '' is an unthreaded receipt.  A user
-- keeps one receipt per room, type and thread.  SQLite cannot change a
-- primary key in place, so the table is rebuilt.

CREATE TABLE receipts_threaded (
	room_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	receipt_type TEXT NOT NULL,
	thread_id TEXT NOT NULL DEFAULT '',
	event_id TEXT NOT NULL,
	ts INTEGER NOT NULL,
	stream_pos INTEGER NOT NULL,
	PRIMARY KEY (room_id, user_id, receipt_type, thread_id)
);
INSERT INTO receipts_threaded (room_id, user_id, receipt_type, thread_id, event_id, ts, stream_pos)
	SELECT room_id, user_id, receipt_type, '', event_id, ts, stream_pos FROM receipts;
DROP TABLE receipts;
ALTER TABLE receipts_threaded RENAME TO receipts;
CREATE INDEX receipts_pos_idx ON receipts (room_id, stream_pos);
