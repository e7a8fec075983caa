-- Soft-failed events stay in the room's DAG (server-server API, "Soft
-- failure"): a later event may cite one as a prev event, and the state
-- after it then takes part in state resolution.  So a soft-failed event
-- keeps its state groups here (NULL for the other kinds, and for rows
-- written before this migration).
ALTER TABLE event_outliers ADD COLUMN state_before BIGINT;
ALTER TABLE event_outliers ADD COLUMN state_after BIGINT;
