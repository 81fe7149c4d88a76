-- 0007: evaluation insights (issue 16), PostgreSQL. Counts of evaluations sent by the edge and the
-- SDKs, per environment, flag, variant and reason, in minute, hour and day buckets.
-- The same tables, with the same column types, exist in the PostgreSQL migration.

-- Ingestion keys: the credential the edge sends as `X-API-Key` to
-- `POST /v1/usage/batches`. They belong to an organization, can only write usage
-- counts for its environments, and are stored as a SHA-256 hash (shown once).
CREATE TABLE ingestion_keys (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    created_by   TEXT,
    revoked_at   BIGINT
);
CREATE INDEX ingestion_keys_org ON ingestion_keys (org_id);

-- Idempotency: one row per accepted batch, written in the transaction that adds its
-- counts, so a retried batch is recognised and not counted twice. The retention job
-- removes rows older than the oldest timestamp a batch may carry (7 days) plus a day.
CREATE TABLE usage_batches (
    key_id      TEXT NOT NULL,
    batch_id    TEXT NOT NULL,
    items       BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (key_id, batch_id)
);
CREATE INDEX usage_batches_received ON usage_batches (received_at);

-- Counts. resolution is 'minute', 'hour' or 'day'; bucket_start is the bucket's first
-- millisecond (UTC). Every accepted item adds its count to its minute, hour and day
-- bucket in the same transaction (the rollup happens at write time), so each
-- resolution is complete on its own and retention can drop minutes without losing
-- hours. flag_key is a key, not a flag id: the edge counts what it is asked for,
-- including flags that do not exist or were archived. variant '' means none (errors).
CREATE TABLE usage_counts (
    resolution     TEXT NOT NULL,
    environment_id TEXT NOT NULL REFERENCES environments (id),
    flag_key       TEXT NOT NULL,
    variant        TEXT NOT NULL,
    reason         TEXT NOT NULL,
    bucket_start   BIGINT NOT NULL,
    count          BIGINT NOT NULL,
    PRIMARY KEY (resolution, environment_id, flag_key, bucket_start, variant, reason)
);
CREATE INDEX usage_counts_age ON usage_counts (resolution, bucket_start);

-- When each flag was last evaluated in each environment (the newest minute counted);
-- kept apart from the buckets so that retention never forgets it.
CREATE TABLE usage_last_seen (
    environment_id TEXT NOT NULL REFERENCES environments (id),
    flag_key       TEXT NOT NULL,
    last_at        BIGINT NOT NULL,
    PRIMARY KEY (environment_id, flag_key)
);
