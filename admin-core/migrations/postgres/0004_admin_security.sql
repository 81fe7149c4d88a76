-- Issue 13, items 2 and 6: what the delivery log keeps, and refresh-token families.

-- The delivery log used to keep up to 200 characters of what a failing receiver
-- answered, and every member of the organization can read it (issue 13, item 2). It
-- now keeps the status and a short error of our own; this removes the receivers'
-- words from the rows written before.
UPDATE webhook_deliveries
SET last_error = 'HTTP ' || CAST(response_code AS TEXT)
WHERE last_error LIKE 'HTTP %' AND response_code IS NOT NULL;

-- Refresh-token families (issue 13, item 6). Every token that `POST /v1/auth/token`
-- issues starts a family; each refresh token traded at `/v1/auth/refresh` hands its
-- family to the pair it buys. A refresh token used a second time means it was copied:
-- the whole family is revoked (`revoked_at`), refresh tokens and, through the `fam`
-- claim, the access tokens issued with them (OAuth 2.0 Security BCP, 4.14).
ALTER TABLE refresh_tokens ADD COLUMN family_id TEXT;
ALTER TABLE refresh_tokens ADD COLUMN revoked_at BIGINT;
UPDATE refresh_tokens SET family_id = hash WHERE family_id IS NULL;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
