-- 0005: signing keys per organization, private seeds sealed with a master key, and
-- instance operators (issue 13 item 3; docs/admin-config.md, "Master key").
--
-- * A snapshot key (purpose 'snapshot') now belongs to one organization (org_id) and
--   signs only that organization's environments. The global snapshot keys of earlier
--   versions become the instance key (purpose 'instance', org_id NULL): it signs no
--   snapshot any more; it endorses each organization's keys at the edges that trust
--   it, so running edges keep serving with no redeploy. The admin creates an
--   organization's key when it first builds one of its environments; every
--   environment is queued here to be rebuilt with its organization's key.
-- * seed holds the private seed sealed with a master key (kek_id names it); a NULL
--   kek_id marks a plain hex seed written before this migration, which the admin
--   seals at its next start. public_key (base64url) serves JWKS without opening seeds.
-- * operator marks an API key as an instance operator: it may create organizations
--   and rotate the instance key. The live owner keys of the oldest organization (the
--   one `edgeflag init` created) become operators, so an existing install keeps one.
ALTER TABLE signing_keys ADD COLUMN org_id TEXT REFERENCES organizations (id);
ALTER TABLE signing_keys ADD COLUMN public_key TEXT;
ALTER TABLE signing_keys ADD COLUMN kek_id TEXT;
UPDATE signing_keys SET purpose = 'instance' WHERE purpose = 'snapshot';
-- One live key per purpose and organization.
CREATE UNIQUE INDEX signing_keys_live ON signing_keys (purpose, COALESCE(org_id, ''))
    WHERE retired_at IS NULL;

ALTER TABLE api_keys ADD COLUMN operator BIGINT NOT NULL DEFAULT 0;
UPDATE api_keys SET operator = 1
    WHERE role = 'owner' AND revoked_at IS NULL
      AND org_id = (SELECT id FROM organizations ORDER BY created_at, id LIMIT 1);

INSERT INTO outbox (environment_id, reason, created_at)
    SELECT id, 'signing-keys-per-organization', CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT) FROM environments;
