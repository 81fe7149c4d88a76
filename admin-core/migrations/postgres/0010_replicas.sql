-- Several admin processes on one database (issue 19). 0008 was never used.

-- Leases: a named piece of work held by one process until it releases it or the lease
-- expires (a crashed holder's work is taken over once `expires_at` passes). Named
-- `deliver/{environment}/{target}` for a publisher delivery and `job/{name}` for a
-- background job that must run once across replicas. `holder` says which process
-- (`host:pid:random`).
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    acquired_at BIGINT NOT NULL
);

-- Shared rate-limit counters (PostgreSQL replicas count together): requests or
-- failures of one bucket in the fixed window starting at `window_start` (epoch ms).
CREATE TABLE rate_counters (
    bucket       TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX rate_counters_window ON rate_counters (window_start);

-- A webhook delivery being sent is claimed by one process until `claim_expires_at`,
-- so two replicas never send it both; an expired claim (its holder died) is free.
ALTER TABLE webhook_deliveries ADD COLUMN claimed_by TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN claim_expires_at BIGINT;
