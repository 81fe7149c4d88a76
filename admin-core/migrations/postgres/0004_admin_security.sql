-- Issue 13, items 2 and 6: what the delivery log keeps, and refresh-token families.

-- The delivery log used to keep up to 200 characters of what a failing receiver
-- answered, and every member of the organization can read it (issue 13, item 2). It
-- now keeps the status and a short error of our own; this removes the receivers'
-- words from the rows written before.
UPDATE webhook_deliveries
SET last_error = 'HTTP ' || CAST(response_code AS TEXT)
WHERE last_error LIKE 'HTTP %' AND response_code IS NOT NULL;
