-- Failed sign-ins per account and client address (issue 18): a growing delay for that pair
-- only, so that wrong passwords from one address cannot lock the account out for anyone else,
-- and the same for names that are no account (a 429 does not tell which accounts exist).
-- The account is the SHA-256 of the e-mail as typed (trimmed, lower case): a password typed
-- into the e-mail field is not kept in clear.
CREATE TABLE sign_in_failures (
    account_sha256  text NOT NULL CHECK (account_sha256 ~ '^[0-9a-f]{64}$'),
    address         text NOT NULL CHECK (length(address) BETWEEN 1 AND 100),
    failures        integer NOT NULL CHECK (failures > 0),
    last_failed_at  timestamptz NOT NULL,
    blocked_until   timestamptz,
    PRIMARY KEY (account_sha256, address)
);
CREATE INDEX sign_in_failures_last_idx ON sign_in_failures (last_failed_at);
