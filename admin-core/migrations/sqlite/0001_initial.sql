-- 0001: the admin schema, version 1 (SQLite).
-- Conventions shared with the PostgreSQL migration of the same number, so that one
-- query text runs on both through sqlx's Any driver:
--   * times are epoch milliseconds (BIGINT); booleans are 0/1 integers;
--   * JSON documents (variations, rules, audit before/after) are TEXT;
--   * ids are application-generated text ("prj_…"), except the two append-only
--     logs (audit_log, outbox) whose integer ids give a total order for cursors.

-- Tenants. Every other row belongs to exactly one organization, directly or through a project.
CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    archived_at BIGINT
);

-- API keys are the members of an organization: each carries one role
-- (owner, admin, editor, viewer). Only the SHA-256 of the secret is stored.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations(id),
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    created_by   TEXT,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

-- Refresh tokens, single use, hashed.
CREATE TABLE refresh_tokens (
    hash       TEXT PRIMARY KEY,
    api_key_id TEXT NOT NULL REFERENCES api_keys(id),
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations(id),
    key         TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    archived_at BIGINT,
    UNIQUE (org_id, key)
);

-- edge_name is the environment's name at the edge (the `{env}` of the publish URL and
-- the snapshot's `environment`); it is unique across the whole admin because all
-- organizations may publish to one edge. snapshot_version only grows.
CREATE TABLE environments (
    id               TEXT PRIMARY KEY,
    project_id       TEXT NOT NULL REFERENCES projects(id),
    key              TEXT NOT NULL,
    name             TEXT NOT NULL,
    edge_name        TEXT NOT NULL UNIQUE,
    snapshot_version BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    archived_at      BIGINT,
    UNIQUE (project_id, key)
);

-- A flag is defined per project (type, variations, tags, client visibility);
-- version counts every change to the definition or to any environment's targeting.
CREATE TABLE flags (
    id             TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL REFERENCES projects(id),
    key            TEXT NOT NULL,
    name           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    value_type     TEXT NOT NULL,
    variations     TEXT NOT NULL,
    tags           TEXT NOT NULL DEFAULT '[]',
    client_visible BIGINT NOT NULL DEFAULT 0,
    salt           TEXT,
    version        BIGINT NOT NULL DEFAULT 1,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    archived_at    BIGINT,
    UNIQUE (project_id, key)
);

-- Per-environment targeting of a flag: enabled plus a JSON document holding
-- offVariation, targets, rules, defaultRule and prerequisites.
CREATE TABLE flag_environments (
    flag_id        TEXT NOT NULL REFERENCES flags(id),
    environment_id TEXT NOT NULL REFERENCES environments(id),
    enabled        BIGINT NOT NULL DEFAULT 0,
    config         TEXT NOT NULL,
    PRIMARY KEY (flag_id, environment_id)
);

-- Every version of every flag, as the full document (definition + all environments).
CREATE TABLE flag_versions (
    flag_id    TEXT NOT NULL REFERENCES flags(id),
    version    BIGINT NOT NULL,
    document   TEXT NOT NULL,
    actor      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (flag_id, version)
);

CREATE TABLE segments (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id),
    key         TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    included    TEXT NOT NULL DEFAULT '[]',
    excluded    TEXT NOT NULL DEFAULT '[]',
    rules       TEXT NOT NULL DEFAULT '[]',
    version     BIGINT NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    archived_at BIGINT,
    UNIQUE (project_id, key)
);

-- SDK keys (server or client) per environment, hashed. A rotated key keeps working
-- until expires_at (its grace period); a revoked key stops at once.
CREATE TABLE sdk_keys (
    id             TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL REFERENCES environments(id),
    kind           TEXT NOT NULL,
    prefix         TEXT NOT NULL,
    hash           TEXT NOT NULL UNIQUE,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT,
    revoked_at     BIGINT
);

-- Ed25519 keys. purpose 'snapshot' signs what goes to the edge (one active at a
-- time, retired ones stay in the JWKS while an edge may still hold their snapshots);
-- purpose 'token' signs the admin's own access tokens.
CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,
    seed       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    resource    TEXT NOT NULL,
    before_doc  TEXT,
    after_doc   TEXT,
    request_id  TEXT,
    at          BIGINT NOT NULL
);
CREATE INDEX audit_log_org ON audit_log (org_id, id);

-- The transactional outbox: one row per affected environment, written in the
-- transaction of the change. The publisher marks rows processed once the snapshot
-- that includes them is built and stored in env_snapshots.
CREATE TABLE outbox (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id TEXT NOT NULL,
    reason         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    processed_at   BIGINT
);
CREATE INDEX outbox_pending ON outbox (processed_at, environment_id);

-- Built and signed documents, one row per environment version.
CREATE TABLE env_snapshots (
    environment_id TEXT NOT NULL,
    version        BIGINT NOT NULL,
    kid            TEXT NOT NULL,
    server_jws     TEXT NOT NULL,
    client_jws     TEXT NOT NULL,
    keys_jws       TEXT NOT NULL,
    built_at       BIGINT NOT NULL,
    PRIMARY KEY (environment_id, version)
);

-- Delivery state per environment and target.
CREATE TABLE publish_status (
    environment_id    TEXT NOT NULL,
    target            TEXT NOT NULL,
    delivered_version BIGINT NOT NULL DEFAULT 0,
    attempts          BIGINT NOT NULL DEFAULT 0,
    last_error        TEXT,
    last_attempt_at   BIGINT,
    next_attempt_at   BIGINT NOT NULL DEFAULT 0,
    delivered_at      BIGINT,
    PRIMARY KEY (environment_id, target)
);
