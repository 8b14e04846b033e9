-- 002_job_scope: which search scopes saw which job, for inactive marking.
-- A scope is a hash of a run's search parameters (SearchQuery.scope_hash).

CREATE TABLE job_scope (
    scope_hash       text NOT NULL,
    job_id           bigint NOT NULL REFERENCES job (job_id) ON DELETE CASCADE,
    first_seen_at    timestamptz NOT NULL,
    last_seen_at     timestamptz NOT NULL,
    last_seen_run_id text NOT NULL,
    PRIMARY KEY (scope_hash, job_id)
);
CREATE INDEX job_scope_last_run_idx ON job_scope (scope_hash, last_seen_run_id);
