-- The request that asked for a change, carried from the outbox to the version it built
-- and from there to the edge's publish request (`x-request-id`), so one id follows an
-- edit from the API through the publisher to the edge.
ALTER TABLE outbox ADD COLUMN request_id TEXT;
ALTER TABLE env_snapshots ADD COLUMN request_id TEXT;
