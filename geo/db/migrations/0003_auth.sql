-- Sign-in: bearer tokens and session cookies are random secrets of which only a SHA-256 is
-- stored, so a copy of the database cannot be used to sign in; disabling a user ends them at once.
CREATE TABLE auth_tokens (
    token_sha256  text PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('bearer', 'session')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX auth_tokens_user_idx ON auth_tokens (user_id);
CREATE INDEX auth_tokens_expires_idx ON auth_tokens (expires_at);

-- Failed sign-ins per account, for rate limiting (a locked account waits until locked_until).
ALTER TABLE users
    ADD COLUMN failed_logins  integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    ADD COLUMN locked_until   timestamptz;
