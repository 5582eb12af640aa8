-- Walks (pass): the schedule, sign-ups, the recorded track and the report back
-- (återrapportering). The walks table has existed since 0001; this gives it what the programme
-- loop needs. Every rule the database can hold is a CHECK, so a bypass of the API cannot store
-- a walk that ends before it starts, a count out of range or a point outside lon/lat.

-- Users get a display name (e.g. a first name): walkers see each other's within the club only.
ALTER TABLE users ADD COLUMN display_name text
    CHECK (display_name IS NULL OR (btrim(display_name) <> '' AND char_length(display_name) <= 80));

-- Whom a walker calls during a walk: the district's field worker on duty, the police and the
-- emergency number. Digits, spaces, dashes and a leading plus only (they become tel: links).
ALTER TABLE areas
    ADD COLUMN field_worker_phone  text CHECK (field_worker_phone ~ '^\+?[0-9][0-9 -]{1,29}$'),
    ADD COLUMN police_phone        text NOT NULL DEFAULT '114 14'
                                   CHECK (police_phone ~ '^\+?[0-9][0-9 -]{1,29}$'),
    ADD COLUMN emergency_phone     text NOT NULL DEFAULT '112'
                                   CHECK (emergency_phone ~ '^\+?[0-9][0-9 -]{1,29}$');

-- The old statuses: 'completed' is now 'reported' (the report back is what completes a walk
-- until a planner approves it); a cancelled walk keeps a reason.
ALTER TABLE walks DROP CONSTRAINT walks_status_check;
UPDATE walks SET status = 'reported' WHERE status = 'completed';

ALTER TABLE walks
    ADD COLUMN meeting_point     geometry(Point, 4326)
                                 CHECK (meeting_point IS NULL OR nv_lonlat_ok(meeting_point)),
    ADD COLUMN meeting_place_id  bigint REFERENCES places (id),
    ADD COLUMN walkers_needed    integer NOT NULL DEFAULT 6 CHECK (walkers_needed BETWEEN 1 AND 100),
    ADD COLUMN leader_id         bigint REFERENCES users (id),
    ADD COLUMN cancel_reason     text CHECK (cancel_reason IS NULL OR
                                             (btrim(cancel_reason) <> ''
                                              AND char_length(cancel_reason) <= 500)),
    ADD COLUMN guests            integer NOT NULL DEFAULT 0 CHECK (guests BETWEEN 0 AND 100),
    ADD COLUMN notes             text NOT NULL DEFAULT '' CHECK (char_length(notes) <= 2000),
    ADD COLUMN series_id         uuid,
    ADD COLUMN source            text NOT NULL DEFAULT 'api'
                                 CHECK (source IN ('api', 'series', 'import', 'demo')),
    ADD COLUMN version           integer NOT NULL DEFAULT 1 CHECK (version > 0),
    ADD COLUMN body_sha256       text,
    ADD COLUMN synthetic         boolean NOT NULL DEFAULT false,
    ADD COLUMN created_by        bigint REFERENCES users (id),
    ADD COLUMN updated_at        timestamptz NOT NULL DEFAULT now();

UPDATE walks SET cancel_reason = 'okänd orsak (före schemaversion 8)'
WHERE status = 'cancelled' AND cancel_reason IS NULL;

ALTER TABLE walks
    ADD CONSTRAINT walks_status_check
        CHECK (status IN ('planned', 'ongoing', 'reported', 'approved', 'rejected', 'cancelled')),
    -- A reason exactly when cancelled.
    ADD CONSTRAINT walks_cancelled_has_reason_check
        CHECK ((status = 'cancelled') = (cancel_reason IS NOT NULL)),
    -- A night walk lasts at most 12 hours (planned and walked).
    ADD CONSTRAINT walks_planned_length_check
        CHECK (planned_end IS NULL OR planned_end <= planned_start + interval '12 hours'),
    ADD CONSTRAINT walks_walked_length_check
        CHECK (ended_at IS NULL OR started_at IS NULL OR ended_at <= started_at + interval '12 hours'),
    -- Ended only after started; ongoing only when started.
    ADD CONSTRAINT walks_ended_after_start_check CHECK (ended_at IS NULL OR started_at IS NOT NULL),
    ADD CONSTRAINT walks_ongoing_started_check CHECK (status <> 'ongoing' OR started_at IS NOT NULL),
    -- A meeting place is a point too (the place's position, copied when the walk is stored).
    ADD CONSTRAINT walks_meeting_place_point_check
        CHECK (meeting_place_id IS NULL OR meeting_point IS NOT NULL);

CREATE INDEX walks_org_start_idx ON walks (organisation_id, planned_start);
CREATE INDEX walks_area_start_idx ON walks (area_id, planned_start);
CREATE INDEX walks_series_idx ON walks (series_id) WHERE series_id IS NOT NULL;

-- Who signed up for a walk (walkers with an account; guests without one are walks.guests).
CREATE TABLE walk_signups (
    walk_id     uuid NOT NULL REFERENCES walks (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (walk_id, user_id)
);
CREATE INDEX walk_signups_user_idx ON walk_signups (user_id);

-- The kept points of a walk's recorded track. A phone sends them in batches and retries a batch
-- it got no answer for: one point per walk and time stores a retried batch once. Points less
-- accurate than 50 m are never kept.
CREATE TABLE walk_track_points (
    walk_id      uuid NOT NULL REFERENCES walks (id) ON DELETE CASCADE,
    recorded_at  timestamptz NOT NULL,
    accuracy_m   double precision CHECK (accuracy_m IS NULL OR (accuracy_m >= 0 AND accuracy_m <= 50)),
    geom         geometry(Point, 4326) NOT NULL CHECK (nv_lonlat_ok(geom)),
    PRIMARY KEY (walk_id, recorded_at)
);

-- The report back after a walk: one per walk, keyed by the client's UUID (idempotent retries).
CREATE TABLE walk_reports (
    id               uuid PRIMARY KEY,
    walk_id          uuid NOT NULL UNIQUE REFERENCES walks (id) ON DELETE CASCADE,
    reporter_id      bigint REFERENCES users (id),
    started_at       timestamptz NOT NULL,
    ended_at         timestamptz NOT NULL,
    walkers_present  integer NOT NULL CHECK (walkers_present BETWEEN 0 AND 100),
    youths_met       integer NOT NULL CHECK (youths_met BETWEEN 0 AND 1000),
    mood             text NOT NULL CHECK (mood IN ('calm', 'mixed', 'unsettled')),
    contacts         text[] NOT NULL DEFAULT '{}'
                     CHECK (contacts <@ ARRAY['field_workers', 'police', 'ambulance', 'parents',
                                              'school']::text[]),
    summary          text NOT NULL DEFAULT '' CHECK (char_length(summary) <= 2000),
    version          integer NOT NULL DEFAULT 1 CHECK (version > 0),
    body_sha256      text,
    synthetic        boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (ended_at > started_at AND ended_at <= started_at + interval '12 hours')
);
