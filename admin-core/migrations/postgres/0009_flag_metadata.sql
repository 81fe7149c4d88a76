-- Flag metadata (issue 13 item 11): a JSON object of names to strings, numbers or
-- booleans, published in the snapshot's `metadata` member and returned by the edge as
-- OpenFeature flag metadata. Existing flags have none.
ALTER TABLE flags ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
