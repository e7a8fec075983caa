-- Relations and full-text search (issue 3).  Relations are read straight
-- from the events table through an index on the relation target, so the
-- event pipeline needs no hook.  Search keeps an FTS5 table filled by a
-- trigger on events (and backfilled here); rowid is the stream position.

CREATE INDEX events_relates_idx
	ON events (json_extract(event_json, '$.content."m.relates_to".event_id'));

CREATE VIRTUAL TABLE event_search USING fts5(body, event_id UNINDEXED, room_id UNINDEXED);

CREATE TRIGGER event_search_add AFTER INSERT ON events
WHEN new.type IN ('m.room.message', 'm.room.name', 'm.room.topic')
BEGIN
	INSERT INTO event_search (rowid, body, event_id, room_id)
	SELECT new.stream_pos, b, new.event_id, new.room_id FROM (SELECT
		coalesce(json_extract(new.event_json, '$.content.body'),
			 json_extract(new.event_json, '$.content.name'),
			 json_extract(new.event_json, '$.content.topic')) AS b)
	WHERE typeof(b) = 'text';
END;

INSERT INTO event_search (rowid, body, event_id, room_id)
SELECT stream_pos, b, event_id, room_id FROM (SELECT stream_pos, event_id, room_id,
	coalesce(json_extract(event_json, '$.content.body'),
		 json_extract(event_json, '$.content.name'),
		 json_extract(event_json, '$.content.topic')) AS b
	FROM events WHERE type IN ('m.room.message', 'm.room.name', 'm.room.topic'))
WHERE typeof(b) = 'text';
