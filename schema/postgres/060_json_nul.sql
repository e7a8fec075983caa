-- Events from other servers may carry \u0000 in strings (Synapse passes it
-- on from clients).  jsonb refuses that escape, so the expression indexes
-- of 012 made such an event impossible to store.  scop_event_jsonb() reads
-- it with U+FFFD in place of NUL: only indexes and search see the change;
-- the stored text is untouched.
CREATE FUNCTION scop_event_jsonb(t text) RETURNS jsonb
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	AS $$ SELECT replace(t, '\u0000', '\ufffd')::jsonb $$;

DROP INDEX events_relates_idx;
CREATE INDEX events_relates_idx
	ON events ((scop_event_jsonb(event_json) -> 'content' -> 'm.relates_to' ->> 'event_id'));

DROP INDEX events_search_idx;
CREATE INDEX events_search_idx ON events USING GIN (to_tsvector('simple',
	coalesce(scop_event_jsonb(event_json) -> 'content' ->> 'body',
		 scop_event_jsonb(event_json) -> 'content' ->> 'name',
		 scop_event_jsonb(event_json) -> 'content' ->> 'topic', '')))
	WHERE type IN ('m.room.message', 'm.room.name', 'm.room.topic');
