-- Credential changes (issue 15): one counter, bumped in the same transaction as every token
-- revocation and every user or project deletion. API servers remember validated tokens and
-- re-read this counter at most every 200 ms: a change made by any process reaches them all.
CREATE TABLE auth_changes (id BIGINT PRIMARY KEY, n BIGINT NOT NULL);
INSERT INTO auth_changes (id, n) VALUES (1, 0);
