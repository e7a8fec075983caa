-- State snapshots as deltas (issue 6): a state event's group now holds
-- only what it changes on the group before it (prev_group), with a full
-- snapshot (prev_group NULL) every so many deltas (chain counts the deltas
-- since the last full one), so a room of n members no longer writes O(n^2)
-- bytes of snapshots.  Rows written before this migration are full ones.
ALTER TABLE state_groups ADD COLUMN prev_group BIGINT;
ALTER TABLE state_groups ADD COLUMN chain BIGINT NOT NULL DEFAULT 0;
