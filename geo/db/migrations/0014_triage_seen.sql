-- The planners' desk (issue 15, "Triage"): when each planner last looked at the new reports, so
-- that the planners' map can say "N nya sedan du senast tittade". One row per user, moved forward
-- by POST /api/v1/me/triage/seen; a user who never looked has no row (every new report counts).
CREATE TABLE triage_seen (
    user_id  bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    seen_at  timestamptz NOT NULL DEFAULT now()
);

-- The count reads the new reports by when they arrived.
CREATE INDEX deviations_new_reported_idx ON deviations (reported_at) WHERE status = 'new';
