-- Agreements, approval and a pay-once ledger (DESIGN.md decision 6).
--
-- Organisations get the kind 'foundation' and may be part of another (Kulturföreningen Solan is
-- the association of Södra Folkparken that walks). Agreements pay per walk (`rate_sek`) or are a
-- fixed grant (`budget_sek`) with reporting dates. An approved walk writes one ledger entry under
-- the agreement that covers it; the ledger is append-only (a withdrawn approval is a reversal
-- row), and totals are always sums over it, never stored.

ALTER TABLE organisations DROP CONSTRAINT organisations_kind_check;
ALTER TABLE organisations
    ADD CONSTRAINT organisations_kind_check
        CHECK (kind IN ('district', 'club', 'police', 'property_owner', 'foundation', 'other')),
    ADD COLUMN part_of_id  bigint REFERENCES organisations (id),
    ADD COLUMN notes       text NOT NULL DEFAULT '' CHECK (char_length(notes) <= 2000),
    ADD COLUMN version     integer NOT NULL DEFAULT 1 CHECK (version > 0),
    ADD COLUMN updated_at  timestamptz NOT NULL DEFAULT now(),
    ADD CONSTRAINT organisations_name_length_check CHECK (char_length(name) <= 200),
    ADD CONSTRAINT organisations_not_part_of_itself_check CHECK (part_of_id <> id);

ALTER TABLE agreements
    ADD COLUMN compensation     text NOT NULL DEFAULT 'per_walk'
                                CHECK (compensation IN ('per_walk', 'grant')),
    ALTER COLUMN rate_sek DROP NOT NULL,
    ADD COLUMN budget_sek       bigint CHECK (budget_sek >= 0),
    ADD COLUMN decided_on       date,
    ADD COLUMN signed_on        date,
    ADD COLUMN reporting_dates  date[] NOT NULL DEFAULT '{}',
    ADD COLUMN version          integer NOT NULL DEFAULT 1 CHECK (version > 0),
    ADD COLUMN created_by       bigint REFERENCES users (id),
    ADD COLUMN created_at       timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_at       timestamptz NOT NULL DEFAULT now(),
    ADD CONSTRAINT agreements_name_check
        CHECK (btrim(name) <> '' AND char_length(name) <= 200),
    ADD CONSTRAINT agreements_notes_length_check CHECK (char_length(notes) <= 2000),
    -- Per walk: a rate and no budget; a grant: a budget and no rate.
    ADD CONSTRAINT agreements_compensation_amount_check
        CHECK ((compensation = 'per_walk' AND rate_sek IS NOT NULL AND budget_sek IS NULL)
               OR (compensation = 'grant' AND budget_sek IS NOT NULL AND rate_sek IS NULL)),
    ADD CONSTRAINT agreements_not_extending_itself_check CHECK (extends_id <> id),
    ADD CONSTRAINT agreements_signed_after_decided_check
        CHECK (signed_on IS NULL OR decided_on IS NULL OR signed_on >= decided_on),
    ADD CONSTRAINT agreements_reporting_dates_count_check
        CHECK (cardinality(reporting_dates) <= 24);

-- The old demo rows: every agreement so far paid per walk.
UPDATE agreements SET compensation = 'per_walk' WHERE rate_sek IS NOT NULL;

CREATE INDEX agreement_parties_org_idx ON agreement_parties (organisation_id);

-- What a grant's partner reported on a reporting date (the last date is the final report).
-- Keyed by a client UUID like the walk reports, so a retried submission is stored once.
CREATE TABLE grant_reports (
    id             uuid PRIMARY KEY,
    agreement_id   bigint NOT NULL REFERENCES agreements (id),
    due_on         date NOT NULL,
    submitted_on   date NOT NULL,
    covers_from    date NOT NULL,
    covers_until   date NOT NULL,
    activities     integer NOT NULL DEFAULT 0 CHECK (activities BETWEEN 0 AND 100000),
    participants   integer NOT NULL DEFAULT 0 CHECK (participants BETWEEN 0 AND 10000000),
    summary        text NOT NULL DEFAULT '' CHECK (char_length(summary) <= 5000),
    body_sha256    text,
    synthetic      boolean NOT NULL DEFAULT false,
    created_by     bigint REFERENCES users (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (agreement_id, due_on),
    CHECK (covers_until >= covers_from)
);

-- The planner's decision on a reported walk. `agreement_id` (since 0001) is the agreement the
-- approval chose, NULL for a walk no agreement covers; `approval_no` counts approvals, so that an
-- approval after a withdrawn one has a ledger key of its own.
ALTER TABLE walks
    ADD COLUMN approval_no    integer NOT NULL DEFAULT 0 CHECK (approval_no >= 0),
    ADD COLUMN rejected_by    bigint REFERENCES users (id),
    ADD COLUMN rejected_at    timestamptz,
    ADD COLUMN reject_reason  text CHECK (reject_reason IS NULL OR
                                          (btrim(reject_reason) <> ''
                                           AND char_length(reject_reason) <= 500));

-- Walks approved before this version (none outside a test database) count as one approval.
UPDATE walks SET approval_no = 1, approved_at = coalesce(approved_at, updated_at)
WHERE status = 'approved';
UPDATE walks SET reject_reason = 'okänd orsak (före schemaversion 9)'
WHERE status = 'rejected';

ALTER TABLE walks
    ADD CONSTRAINT walks_rejected_has_reason_check
        CHECK ((status = 'rejected') = (reject_reason IS NOT NULL)),
    ADD CONSTRAINT walks_approved_has_approver_check
        CHECK (status <> 'approved' OR (approved_at IS NOT NULL AND approval_no > 0));

-- The ledger: one payment per walk and approval, a reversal when the approval is withdrawn.
-- Rows are never updated nor deleted (the trigger below); the demo's synthetic rows are the only
-- exception, removed when the demo reloads its season (`nattvandring.demo_reset` = 'on').
CREATE TABLE ledger_entries (
    id            bigserial PRIMARY KEY,
    walk_id       uuid NOT NULL REFERENCES walks (id),
    approval_no   integer NOT NULL CHECK (approval_no > 0),
    kind          text NOT NULL CHECK (kind IN ('payment', 'reversal')),
    agreement_id  bigint NOT NULL REFERENCES agreements (id),
    amount_sek    integer NOT NULL,
    user_id       bigint REFERENCES users (id),
    reason        text CHECK (reason IS NULL OR char_length(reason) <= 500),
    synthetic     boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Paid once: one payment and at most one reversal per walk and approval.
    UNIQUE (walk_id, approval_no, kind),
    CHECK ((kind = 'payment' AND amount_sek >= 0)
           OR (kind = 'reversal' AND amount_sek <= 0 AND reason IS NOT NULL))
);
CREATE INDEX ledger_entries_agreement_idx ON ledger_entries (agreement_id);

CREATE FUNCTION nv_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.synthetic
       AND current_setting('nattvandring.demo_reset', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'ledger entries are never changed or deleted (write a reversal)'
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER ledger_entries_append_only
    BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION nv_ledger_append_only();

-- The areas an agreement's walks or activities are in (a programme: Solberga's agreements,
-- Skärholmen's 127-trygghet in Sätra and Vårberg); the follow-up and its summary filter by them.
CREATE TABLE agreement_areas (
    agreement_id  bigint NOT NULL REFERENCES agreements (id) ON DELETE CASCADE,
    area_id       bigint NOT NULL REFERENCES areas (id),
    PRIMARY KEY (agreement_id, area_id)
);

-- A walk's local date: the day it starts (by the report's, else the planned, start) in its
-- area's time zone; a walk from 23:00 to 01:00 belongs to the day it starts.
CREATE FUNCTION nv_local_date(at timestamptz, time_zone text) RETURNS date
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN (at AT TIME ZONE coalesce(time_zone, 'Europe/Stockholm'))::date;

-- What the approval and the follow-up know of each walk, defined once: its local date, the
-- walkers present and youths met (the report's, else the imported log's count), the agreement
-- the approval chose and what the ledger holds for it, and the flags the follow-up shows.
CREATE VIEW walk_money AS
SELECT w.id AS walk_id,
       w.organisation_id,
       w.area_id,
       w.status,
       w.agreement_id,
       w.approval_no,
       w.synthetic,
       nv_local_date(coalesce(r.started_at, w.started_at, w.planned_start), ar.time_zone)
           AS local_date,
       coalesce(r.walkers_present, w.walkers) AS walkers_present,
       coalesce(r.youths_met, 0) AS youths_met,
       ag.walkers_per_walk,
       coalesce((SELECT sum(l.amount_sek) FROM ledger_entries l WHERE l.walk_id = w.id), 0)
           AS paid_sek,
       -- fewer walkers present than the agreement asks
       (w.status = 'approved' AND ag.id IS NOT NULL
        AND coalesce(r.walkers_present, w.walkers, 0) < ag.walkers_per_walk) AS short_of_walkers,
       -- walked before the agreement was signed
       (w.status = 'approved' AND ag.signed_on IS NOT NULL
        AND nv_local_date(coalesce(r.started_at, w.started_at, w.planned_start), ar.time_zone)
            < ag.signed_on) AS before_signed,
       -- approved, but no agreement covers it: flagged, not paid
       (w.status = 'approved' AND w.agreement_id IS NULL) AS outside_agreement
FROM walks w
LEFT JOIN areas ar ON ar.id = w.area_id
LEFT JOIN walk_reports r ON r.walk_id = w.id
LEFT JOIN agreements ag ON ag.id = w.agreement_id;
