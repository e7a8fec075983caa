-- The servers of a room's joined members, for the federation outbox
-- (room_store_append() of a local event): the user ID's domain as an
-- index expression, so each distinct server is one index seek and a room
-- of 10,000 members costs no scan of them.
CREATE INDEX room_memberships_domain_idx ON room_memberships (room_id, membership, substr(user_id, instr(user_id, ':') + 1));
