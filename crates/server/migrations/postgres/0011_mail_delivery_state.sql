-- What a waiting screen and the counter say about a mail, and what keeps a send single.
-- A mail that carries a code is not sent after the code stops working.
ALTER TABLE outbox ADD COLUMN expires_at BIGINT;
-- Why a mail was given up on (failed_at set): 'refused' (the mail server answered 5xx),
-- 'expired' (its code expired before it could be sent), 'given_up' (retried until the policy
-- for its kind gave up), 'unopenable' (the sealed body does not open).
ALTER TABLE outbox ADD COLUMN failure TEXT;
-- The token of the claim that may settle the mail: a worker whose claim was taken over can no
-- longer mark it, nor send it again.
ALTER TABLE outbox ADD COLUMN claim_token TEXT;
