-- 011_history: closed announcements from the Historic JOA API (issue 15, ADR 0028).
--
-- job.source             which API the row's fields come from: 'search' (the Search API,
--                        the richer record: it wins whenever it has the job) or 'historic'
--                        (a job only the Historic JOA API has returned). job.raw_json is
--                        that source's item exactly as received.
-- job_historic           the Historic JOA record of a job, exactly as received, kept next to
--                        the search item: a posting seen by both APIs is one job row with
--                        both raw items. `closed_on` is what the historic status and dates
--                        say about when the announcement stopped being open.
-- job_historic_text      the AnnouncementText record of a job (`backfill --texts`), exactly
--                        as received: its long texts. For a job only history has they also
--                        fill job_details (qualification summary, education, requirements,
--                        evaluations, how to apply, what to expect next, required documents,
--                        other information, major duties); a searched job's stay the
--                        search's.
-- ingest_partition.status
--                        a backfill window's state: pending, running, complete, short
--                        (rows < totalCount: under-collection, reported) or failed. NULL for
--                        search partitions, which the run's page rows describe.
-- gold.vw_history_monthly
--                        postings by month opened, agency and occupational series: count,
--                        median annualised pay, share remote, share telework-eligible.

ALTER TABLE job ADD COLUMN source text NOT NULL DEFAULT 'search'
    CONSTRAINT job_source_known CHECK (source IN ('search', 'historic'));

CREATE TABLE job_historic (
    control_number text PRIMARY KEY REFERENCES job (control_number) ON DELETE CASCADE,
    raw_json       jsonb NOT NULL,          -- the Historic JOA record exactly as received
    content_hash   text NOT NULL,
    opening_status text,                    -- positionOpeningStatus ('Job closed', ...)
    closed_on      timestamptz,             -- when it stopped being open, if it has
    first_seen_at  timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL,
    ingest_run_id  text NOT NULL            -- the run that last wrote the record
);
ALTER TABLE job_historic ALTER COLUMN raw_json SET STORAGE EXTERNAL;

CREATE TABLE job_historic_text (
    control_number text PRIMARY KEY REFERENCES job (control_number) ON DELETE CASCADE,
    raw_json       jsonb NOT NULL,          -- the AnnouncementText record exactly as received
    content_hash   text NOT NULL,
    first_seen_at  timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,    -- when the stored record last changed
    ingest_run_id  text NOT NULL            -- the run that last wrote the record
);

ALTER TABLE ingest_partition
    ADD COLUMN status text
        CONSTRAINT ingest_partition_status_known
        CHECK (status IN ('pending', 'running', 'complete', 'short', 'failed')),
    ADD COLUMN finished_at timestamptz,
    ADD COLUMN error text;

ALTER TABLE job_historic OWNER TO tasman_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON job_historic TO tasman_loader;
ALTER TABLE job_historic_text OWNER TO tasman_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON job_historic_text TO tasman_loader;

CREATE VIEW gold.vw_history_monthly AS
SELECT date_trunc('month', j.publication_start_date AT TIME ZONE 'UTC')::date AS month,
       coalesce(j.organization_name, '(unknown)') AS agency,
       coalesce(c.code, '(none)') AS series,
       count(*) AS postings,
       round(percentile_cont(0.5) WITHIN GROUP (
           ORDER BY ((coalesce(j.pay_annual_min, j.pay_annual_max)
                      + coalesce(j.pay_annual_max, j.pay_annual_min)) / 2)::double precision
       )::numeric, 2) AS median_annual_pay,
       round(avg(CASE WHEN j.remote_indicator THEN 1.0 ELSE 0.0 END), 4) AS share_remote,
       round(avg(CASE WHEN j.telework_eligible THEN 1.0 ELSE 0.0 END), 4) AS share_telework,
       count(*) FILTER (WHERE j.source = 'historic') AS from_history_only
  FROM job j
  LEFT JOIN job_category c ON c.job_id = j.job_id
 WHERE j.publication_start_date IS NOT NULL
 GROUP BY 1, 2, 3;

COMMENT ON VIEW gold.vw_history_monthly IS
    'Postings by month opened (publication_start_date, UTC month), hiring agency and '
    'occupational series, over every job the database holds (open, closed, from either '
    'API). A job with several series counts once under each. median_annual_pay: median '
    'of each posting''s annualised pay midpoint (NULL when no posting has pay); '
    'share_remote / share_telework: fraction of postings flagged (unknown counts as no).';
COMMENT ON COLUMN gold.vw_history_monthly.from_history_only IS
    'Postings of the group only the Historic JOA API returned (job.source = historic).';

ALTER VIEW gold.vw_history_monthly OWNER TO tasman_owner;
GRANT SELECT ON gold.vw_history_monthly TO tasman_reader;
