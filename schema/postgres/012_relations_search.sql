-- Relations and full-text search (issue 3).  Both are read straight from
-- the events table through expression indexes, so the event pipeline needs
-- no hook: the relation target, and a tsvector ('simple' configuration:
-- no stemming, as SQLite's FTS5 unicode61) of the body, name or topic.

CREATE INDEX events_relates_idx
	ON events (((event_json::jsonb) -> 'content' -> 'm.relates_to' ->> 'event_id'));

CREATE INDEX events_search_idx ON events USING GIN (to_tsvector('simple',
	coalesce((event_json::jsonb) -> 'content' ->> 'body',
		 (event_json::jsonb) -> 'content' ->> 'name',
		 (event_json::jsonb) -> 'content' ->> 'topic', '')))
	WHERE type IN ('m.room.message', 'm.room.name', 'm.room.topic');
