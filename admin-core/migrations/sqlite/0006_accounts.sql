-- 0006: people and the change feed (issues 15 and 14).
--
-- Users sign in with an email address and a password (argon2id, as a PHC string);
-- they belong to organizations through memberships, each with one of the four roles
-- API keys have. Invitations, sessions and the change feed's rows store only hashes of
-- the secrets they hand out. Same conventions as 0001 (text ids, epoch ms, JSON as text).

-- A person. The email is stored trimmed and lower-cased and is the sign-in name.
CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    email               TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL
);

-- A person's role in an organization (owner, admin, editor, viewer).
CREATE TABLE memberships (
    user_id    TEXT NOT NULL REFERENCES users(id),
    org_id     TEXT NOT NULL REFERENCES organizations(id),
    role       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    invited_by TEXT,
    PRIMARY KEY (user_id, org_id)
);
CREATE INDEX memberships_org ON memberships (org_id);

-- An invitation to join an organization with a role, sent as a link that carries a
-- random token; only its SHA-256 is stored. It works once, until expires_at, unless revoked.
CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations(id),
    email       TEXT NOT NULL,
    role        TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    accepted_at BIGINT,
    accepted_by TEXT,
    revoked_at  BIGINT
);
CREATE INDEX invitations_org ON invitations (org_id, created_at);

-- A signed-in browser. The cookie holds a random secret; only its SHA-256 is stored.
-- A session ends at expires_at (absolute), after the idle timeout since last_seen_at,
-- or when revoked (sign-out, sign out everywhere, a password change, removal).
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    hash         TEXT NOT NULL UNIQUE,
    user_id      TEXT NOT NULL REFERENCES users(id),
    org_id       TEXT NOT NULL REFERENCES organizations(id),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    user_agent   TEXT NOT NULL DEFAULT '',
    address      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id, revoked_at);

-- The change feed: one row per change an organization's dashboards and scripts hear
-- about (every audited change, and publish progress per target), numbered 1, 2, 3, …
-- per organization. The number comes from feed_sequences, incremented in the
-- transaction that writes the row, so numbers are gapless and commit in order: a
-- reader that saw n has seen everything up to n (a resume point that survives restarts).
CREATE TABLE feed_sequences (
    org_id TEXT PRIMARY KEY,
    seq    BIGINT NOT NULL
);

CREATE TABLE feed_events (
    org_id   TEXT NOT NULL,
    seq      BIGINT NOT NULL,
    type     TEXT NOT NULL,
    resource TEXT NOT NULL,
    actor    TEXT NOT NULL,
    audit_id BIGINT,
    data     TEXT NOT NULL,
    at       BIGINT NOT NULL,
    PRIMARY KEY (org_id, seq)
);
CREATE INDEX feed_events_at ON feed_events (at);
