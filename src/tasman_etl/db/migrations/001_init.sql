-- 001_init: silver tables, codelists, quarantine and the run ledger.
-- Names other tools rely on are fixed by design.md §3; add around them, never rename.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- ---------------------------------------------------------------- run ledger
CREATE TABLE ingest_run (
    run_id       text PRIMARY KEY,
    command      text NOT NULL,                       -- run | load | replay
    status       text NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'succeeded', 'failed', 'aborted')),
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    params       jsonb NOT NULL DEFAULT '{}'::jsonb,  -- search parameters, never secrets
    scope_hash   text,                                 -- hash of the search parameters
    complete     boolean NOT NULL DEFAULT false,       -- every page loaded, no under-collection
    summary      jsonb,
    error        text,
    code_version text
);
CREATE INDEX ingest_run_started_idx ON ingest_run (started_at DESC);
CREATE INDEX ingest_run_scope_idx ON ingest_run (scope_hash, started_at DESC);

CREATE TABLE ingest_partition (
    run_id      text NOT NULL REFERENCES ingest_run (run_id) ON DELETE CASCADE,
    part        text NOT NULL,                 -- '' for an unpartitioned search
    params      jsonb NOT NULL,
    api_total   integer NOT NULL,              -- SearchResultCountAll (saturates at 10,000)
    pages       integer NOT NULL,
    over_cap    boolean NOT NULL DEFAULT false,
    fetched     integer NOT NULL DEFAULT 0,    -- rows received
    unique_rows integer NOT NULL DEFAULT 0,    -- distinct control numbers received
    PRIMARY KEY (run_id, part)
);

CREATE TABLE ingest_page (
    run_id      text NOT NULL REFERENCES ingest_run (run_id) ON DELETE CASCADE,
    page_key    text NOT NULL,                 -- 'page=0001' or 'part=p001/page=0001'
    part        text NOT NULL DEFAULT '',
    page        integer NOT NULL CHECK (page >= 1),
    status      text NOT NULL
                CHECK (status IN ('pending', 'loaded', 'failed', 'held', 'skipped')),
    source      text,                          -- file name for `load`, endpoint for `run`
    bronze_key  text,
    sha256      text,                          -- SHA-256 of the payload bytes as received
    items       integer,
    inserted    integer,
    updated     integer,
    unchanged   integer,
    quarantined integer,
    duplicates  integer,
    attempts    integer NOT NULL DEFAULT 0,
    error       text,
    dq          jsonb,                         -- data-quality results for the page
    control_numbers text[],                    -- valid control numbers on the page (dedupe, audit)
    fetched_at  timestamptz,
    loaded_at   timestamptz,
    PRIMARY KEY (run_id, page_key)
);
CREATE INDEX ingest_page_status_idx ON ingest_page (status) WHERE status <> 'loaded';

-- ---------------------------------------------------------------- silver
CREATE TABLE job (
    job_id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    control_number           text NOT NULL UNIQUE,        -- MatchedObjectId
    position_id              text,                        -- agency announcement no., not unique
    position_title           text NOT NULL,
    position_uri             text NOT NULL,
    apply_uris               text[] NOT NULL DEFAULT '{}',
    position_location_display text,
    organization_name        text,
    department_name          text,
    sub_agency               text,
    job_summary              text,
    pay_min                  numeric,
    pay_max                  numeric,
    pay_interval_code        text,                        -- normalised: PA, PH, BW, ...
    pay_interval_description text,
    pay_annual_min           numeric,
    pay_annual_max           numeric,
    publication_start_date   timestamptz,
    application_close_date   timestamptz,
    position_start_date      timestamptz,
    position_end_date        timestamptz,
    telework_eligible        boolean,
    remote_indicator         boolean,
    location_count           integer NOT NULL DEFAULT 0,
    first_seen_at            timestamptz NOT NULL,
    last_seen_at             timestamptz NOT NULL,
    last_seen_run_id         text,
    inactive_since           timestamptz,
    content_hash             text NOT NULL,
    ingest_run_id            text NOT NULL,               -- run that last wrote the content
    updated_at               timestamptz NOT NULL DEFAULT now(),
    raw_json                 jsonb NOT NULL,              -- the search item exactly as received
    search_tsv               tsvector GENERATED ALWAYS AS (
        to_tsvector('english'::regconfig,
                    coalesce(position_title, '') || ' ' || coalesce(job_summary, ''))
    ) STORED,
    CONSTRAINT job_pay_order CHECK (pay_min IS NULL OR pay_max IS NULL OR pay_min <= pay_max),
    CONSTRAINT job_pay_nonnegative CHECK (pay_min IS NULL OR pay_min >= 0)
);
CREATE INDEX job_position_id_idx ON job (position_id);
CREATE INDEX job_raw_json_gin ON job USING gin (raw_json jsonb_path_ops);
CREATE INDEX job_title_trgm_idx ON job USING gin (position_title gin_trgm_ops);
CREATE INDEX job_search_tsv_idx ON job USING gin (search_tsv);
CREATE INDEX job_publication_idx ON job (publication_start_date DESC);
CREATE INDEX job_close_idx ON job (application_close_date);

CREATE TABLE job_location (
    job_id        bigint NOT NULL REFERENCES job (job_id) ON DELETE CASCADE,
    loc_idx       integer NOT NULL,
    location_name text,
    country       text,
    subdivision   text,
    city_name     text,
    latitude      double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude     double precision CHECK (longitude BETWEEN -180 AND 180),
    PRIMARY KEY (job_id, loc_idx)
);
CREATE INDEX job_location_latlon_idx ON job_location (latitude, longitude);
CREATE INDEX job_location_name_idx ON job_location (lower(location_name));

CREATE TABLE job_category (
    job_id bigint NOT NULL REFERENCES job (job_id) ON DELETE CASCADE,
    code   text NOT NULL,                  -- occupational series, e.g. 2210
    name   text,
    PRIMARY KEY (job_id, code)
);
CREATE INDEX job_category_code_idx ON job_category (code);

CREATE TABLE job_grade (
    job_id bigint NOT NULL REFERENCES job (job_id) ON DELETE CASCADE,
    code   text NOT NULL,                  -- pay plan, e.g. GS
    PRIMARY KEY (job_id, code)
);

CREATE TABLE job_hiring_path (
    job_id bigint NOT NULL REFERENCES job (job_id) ON DELETE CASCADE,
    code   text NOT NULL,                  -- lower-case, as in search items
    PRIMARY KEY (job_id, code)
);
CREATE INDEX job_hiring_path_code_idx ON job_hiring_path (code);

CREATE TABLE job_details (
    job_id                          bigint PRIMARY KEY REFERENCES job (job_id) ON DELETE CASCADE,
    qualification_summary           text,
    who_may_apply_name              text,
    who_may_apply_code              text,
    low_grade                       text,
    high_grade                      text,
    promotion_potential             text,
    sub_agency_name                 text,
    organization_codes              text,
    schedule_code                   text,
    schedule_name                   text,
    offering_type_code              text,
    offering_type_name              text,
    total_openings                  text,
    travel_code                     text,
    service_type                    text,
    announcement_closing_type       text,
    commute_distance                text,
    security_clearance              text,
    position_sensitivity            text,   -- from the misspelt PositionSensitivitiy
    relocation                      boolean,
    drug_test_required              boolean,
    within_area                     boolean,
    telework_eligible               boolean,
    remote_indicator                boolean,
    benefits_display_default_text   boolean,
    financial_disclosure            boolean,
    bargaining_unit_status          boolean,
    bargaining_unit_status_additional_text text,
    mco_tags                        text[] NOT NULL DEFAULT '{}',
    major_duties                    text[] NOT NULL DEFAULT '{}',
    key_requirements                text[] NOT NULL DEFAULT '{}',
    adjudication_type               text[] NOT NULL DEFAULT '{}',
    agency_marketing_statement      text,
    education                       text,
    requirements                    text,
    evaluations                     text,
    how_to_apply                    text,
    what_to_expect_next             text,
    required_documents              text,
    benefits                        text,
    benefits_url                    text,
    other_information               text,
    apply_online_url                text,
    detail_status_url               text,
    preview_questionnaire_url       text,
    agency_contact_email            text,
    agency_contact_phone            text,
    agency_contact_website          text,
    appointment_explanation_text    text
);

-- History: one row per content version; valid_to is NULL for the current one.
CREATE TABLE job_version (
    version_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id         bigint NOT NULL REFERENCES job (job_id) ON DELETE CASCADE,
    control_number text NOT NULL,
    content_hash   text NOT NULL,
    run_id         text NOT NULL,
    valid_from     timestamptz NOT NULL,
    valid_to       timestamptz,
    snapshot       jsonb NOT NULL,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX job_version_current_idx ON job_version (job_id) WHERE valid_to IS NULL;

-- ---------------------------------------------------------------- reference data
CREATE TABLE codelist (
    list_name      text NOT NULL,           -- e.g. occupationalseries
    code           text NOT NULL,
    value          text,
    last_modified  timestamptz,
    is_disabled    boolean NOT NULL DEFAULT false,
    extra          jsonb NOT NULL DEFAULT '{}'::jsonb,
    date_generated timestamptz,
    fetched_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (list_name, code)
);

-- ---------------------------------------------------------------- quarantine
CREATE TABLE quarantine (
    quarantine_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id         text NOT NULL REFERENCES ingest_run (run_id) ON DELETE CASCADE,
    source         text NOT NULL,           -- bronze key or file name
    page_key       text,
    page_sha256    text,
    item_index     integer,
    control_number text,
    reason         text NOT NULL,
    raw_json       jsonb,                   -- whatever arrived, even a non-object
    raw_text       text,                    -- when jsonb cannot hold it (NUL, lone surrogate)
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (raw_json IS NOT NULL OR raw_text IS NOT NULL)
);
-- The same bad item on the same page is quarantined once, however often it is replayed.
CREATE UNIQUE INDEX quarantine_item_idx ON quarantine (page_sha256, item_index, reason);
CREATE INDEX quarantine_run_idx ON quarantine (run_id);
