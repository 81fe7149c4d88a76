-- Webhooks (issue 6 item 5): HTTP notifications of changes, signed with HMAC-SHA256.
-- A webhook belongs to an organization and optionally to one of its projects.
-- The secret is stored as is: the admin needs it to sign every delivery.
CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    project_id  TEXT REFERENCES projects (id),
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,
    description TEXT NOT NULL,
    secret      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    disabled_at BIGINT
);
CREATE INDEX webhooks_org ON webhooks (org_id);

-- One row per (change, matching webhook), written in the transaction of the change
-- (as the audit row and the outbox rows are); the deliverer sends it, retrying with
-- exponential backoff, until it is delivered or has failed max_attempts times.
-- status: pending | delivered | failed.
CREATE TABLE webhook_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id),
    event_id        TEXT NOT NULL,
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_attempt_at BIGINT,
    last_error      TEXT,
    response_code   BIGINT,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, id);
