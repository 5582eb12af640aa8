-- Collaboration zones: a client id makes a retried creation idempotent, as for walk routes (the
-- same id and body returns the stored zone, another body is a conflict).
ALTER TABLE zones
    ADD COLUMN client_id    uuid UNIQUE,
    ADD COLUMN body_sha256  text;
