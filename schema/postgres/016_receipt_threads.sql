-- Threaded read receipts: a receipt may name a thread (its root's event ID,
-- or "main" for the main timeline); '' is an unthreaded receipt.  A user
-- keeps one receipt per room, type and thread.

ALTER TABLE receipts ADD COLUMN thread_id TEXT NOT NULL DEFAULT '';
ALTER TABLE receipts DROP CONSTRAINT receipts_pkey;
ALTER TABLE receipts ADD PRIMARY KEY (room_id, user_id, receipt_type, thread_id);
