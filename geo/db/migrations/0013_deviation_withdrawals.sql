-- Withdrawn deviation reports (issue 14, "Ångra"): a reporter may take back their own report
-- within 10 minutes. The report's row is deleted, so it vanishes from every read, aggregate,
-- heat map and export at once (and the delete bumps its area's list version: open maps see it
-- go on their next poll). Its id stays here, reserved: a resend of the same report from a phone's
-- queue or another tab is answered 410 and stores nothing. No position, time or text is kept.

CREATE TABLE withdrawn_deviations (
    id            uuid PRIMARY KEY,
    reporter_id   bigint REFERENCES users (id) ON DELETE SET NULL,
    withdrawn_at  timestamptz NOT NULL DEFAULT now()
);

-- The database's own guard: no code path can store a withdrawn id again.
CREATE FUNCTION nv_refuse_withdrawn_deviation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM withdrawn_deviations w WHERE w.id = NEW.id) THEN
        RAISE EXCEPTION 'deviation % was withdrawn by its reporter', NEW.id
            USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER deviations_refuse_withdrawn BEFORE INSERT ON deviations
    FOR EACH ROW EXECUTE FUNCTION nv_refuse_withdrawn_deviation();
