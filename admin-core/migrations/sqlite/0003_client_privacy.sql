-- Client snapshots that reveal no one (issue 13 item 4; docs/snapshot-format.md,
-- "Client snapshots"). Each environment gets the salt its client snapshot hashes
-- targets, segment members and `in` lists with: made at random by the admin on the
-- first publish after this migration (NULL until then) and kept ever after, so that a
-- value hashes the same in every version. Each project lists the attributes that
-- identify people (a JSON array of attribute references), so the admin can warn when a
-- client-visible flag tests one with an operator that keeps its values readable.
ALTER TABLE environments ADD COLUMN hash_salt TEXT;
ALTER TABLE projects ADD COLUMN private_attributes TEXT NOT NULL DEFAULT '[]';
