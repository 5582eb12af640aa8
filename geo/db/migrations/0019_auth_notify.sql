-- Sign-ins that end or change (issue 18, the Friday-night peak): every worker process keeps, for
-- a while, which tokens the database accepted and for what visibility, so that a poll of the
-- situation map is answered without a query (`api.fast_list`). Any change of an account (its
-- role, organisation, disabled flag, deletion) or of a token (revoked, expired early) tells every
-- process at once through NOTIFY on the channel nv_auth, at commit; each then forgets every
-- token it accepted and asks the database again. The payload is empty: nothing personal is sent.

CREATE FUNCTION nv_notify_auth_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('nv_auth', '');
    RETURN NULL;
END
$$;

-- Per row, so that a statement that changes nothing (a sign-in's clean-up of expired tokens)
-- tells nobody; PostgreSQL folds a transaction's equal notifications into one.
CREATE TRIGGER users_auth_changed AFTER UPDATE OF role, organisation_id, disabled OR DELETE
    ON users FOR EACH ROW EXECUTE FUNCTION nv_notify_auth_changed();
CREATE TRIGGER users_auth_truncated AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION nv_notify_auth_changed();
CREATE TRIGGER auth_tokens_changed AFTER UPDATE OR DELETE ON auth_tokens
    FOR EACH ROW EXECUTE FUNCTION nv_notify_auth_changed();
CREATE TRIGGER auth_tokens_truncated AFTER TRUNCATE ON auth_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION nv_notify_auth_changed();
