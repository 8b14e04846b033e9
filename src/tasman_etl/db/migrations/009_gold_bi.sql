-- 009_gold_bi: gold that BI tools read well (issue 13).
--
-- gold.vw_jobs               one row per job, as before, plus: pay rounded to cents (every
--                            amount numeric with scale 2), `pay_interval` (the interval's
--                            label, 'Per Year', not 'PA'), pay plan, grade, series and summary
-- gold.jobs_near(lat, lon, miles)
--                            whole rows: the columns of vw_jobs, then `distance_miles` and
--                            `nearest_location` (the job's location nearest the point),
--                            nearest first
-- gold.vw_job_map            one row per job and location (for maps): the location, its
--                            coordinates and the job's main columns
-- gold.vw_search_scopes      one row per search scope that ran: its hash (job_scope.scope_hash)
--                            and its parameters, so SQL finds a scope by what was searched
-- gold.vw_de_jobs_all        the jobs the founding search returned (its scope: Keyword 'data
--                            engineering', LocationName 'Chicago, Illinois', Radius 50), open
--                            or not, newest first, with `keyword_match`: whether the title or
--                            summary matches 'data engineering' in full text
-- gold.vw_de_jobs_chicago    those still open, with the nearest location to Chicago and its
--                            distance
-- gold.distance_miles(lat1, lon1, lat2, lon2)
--                            the Haversine distance used everywhere here (R = 3958.8 mi)
--
-- Why the founding views changed: they re-filtered every job with their own full-text rule
-- (title + summary), but the API's Keyword search reads more fields (duties,
-- qualifications, ...): 0 of the 25 jobs the API returned for the founding search matched.
-- They now hold what the search returned, and the full-text rule is a column (ADR 0024).
-- The founding scope's hash is computed here as SearchQuery.scope_hash does: SHA-256 of
-- the search parameters as JSON with sorted keys and no spaces.

DROP VIEW gold.vw_de_jobs_chicago;
DROP VIEW gold.vw_de_jobs_all;
DROP FUNCTION gold.jobs_near(double precision, double precision, double precision);
DROP VIEW gold.vw_jobs;

CREATE FUNCTION gold.distance_miles(
    lat1 double precision, lon1 double precision, lat2 double precision, lon2 double precision
)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 2 * 3958.8 * asin(least(1.0, sqrt(
    power(sin(radians(lat2 - lat1) / 2), 2)
    + cos(radians(lat1)) * cos(radians(lat2)) * power(sin(radians(lon2 - lon1) / 2), 2)
)));

COMMENT ON FUNCTION gold.distance_miles(double precision, double precision, double precision,
                                        double precision) IS
    'Haversine distance in miles between two points (R = 3958.8 mi); NULL if any is NULL.';

CREATE VIEW gold.vw_jobs AS
SELECT j.job_id,
       j.control_number,
       j.position_title,
       j.organization_name,
       j.department_name,
       round(j.pay_min, 2) AS pay_min,
       round(j.pay_max, 2) AS pay_max,
       j.pay_interval_code,
       coalesce(
           nullif(btrim(j.pay_interval_description), ''),
           rate.value,
           CASE upper(btrim(j.pay_interval_code))
               WHEN 'PA' THEN 'Per Year'
               WHEN 'PH' THEN 'Per Hour'
               WHEN 'PD' THEN 'Per Day'
               WHEN 'PM' THEN 'Per Month'
               WHEN 'BW' THEN 'Bi-weekly'
               WHEN 'FB' THEN 'Fee Basis'
               WHEN 'PW' THEN 'Piece Work'
               WHEN 'ST' THEN 'Student Stipend Paid'
               WHEN 'SY' THEN 'School Year'
               WHEN 'WC' THEN 'Without Compensation'
           END,
           nullif(btrim(j.pay_interval_code), '')
       ) AS pay_interval,
       round(j.pay_annual_min, 2) AS pay_annual_min,
       round(j.pay_annual_max, 2) AS pay_annual_max,
       grade.pay_plan,
       CASE WHEN d.high_grade IS NULL OR d.high_grade = d.low_grade THEN d.low_grade
            WHEN d.low_grade IS NULL THEN d.high_grade
            ELSE d.low_grade || '-' || d.high_grade
       END AS grade,
       series.series,
       series.series_name,
       coalesce(loc.locations, '{}'::text[]) AS locations,
       j.remote_indicator,
       j.telework_eligible,
       coalesce(nullif(j.apply_uris[1], ''), j.position_uri) AS apply_url,
       j.position_uri,
       j.job_summary,
       j.publication_start_date,
       j.application_close_date,
       gold.is_open(j.application_close_date, j.inactive_since) AS is_open,
       j.inactive_since
  FROM job AS j
  LEFT JOIN job_details AS d ON d.job_id = j.job_id
  LEFT JOIN codelist AS rate
         ON rate.list_name = 'remunerationrateintervalcodes'
        AND rate.code = upper(btrim(j.pay_interval_code))
  LEFT JOIN LATERAL (
        SELECT string_agg(DISTINCT g.code, ', ' ORDER BY g.code) AS pay_plan
          FROM job_grade AS g
         WHERE g.job_id = j.job_id
       ) AS grade ON true
  LEFT JOIN LATERAL (
        SELECT string_agg(c.code, ', ' ORDER BY c.code) AS series,
               string_agg(coalesce(c.name, c.code), ', ' ORDER BY c.code) AS series_name
          FROM job_category AS c
         WHERE c.job_id = j.job_id
       ) AS series ON true
  LEFT JOIN LATERAL (
        SELECT array_agg(btrim(l.location_name) ORDER BY l.loc_idx)
                   FILTER (WHERE l.location_name IS NOT NULL) AS locations
          FROM job_location AS l
         WHERE l.job_id = j.job_id
       ) AS loc ON true;

COMMENT ON VIEW gold.vw_jobs IS
    'Every job, one row each: pay as posted and annualised (numeric, 2 decimals), the pay '
    'interval''s code and label (pay_interval: ''Per Year''), pay plan, grade, series, '
    'location names, flags, apply URL (first apply URI, else the posting URI), summary, '
    'dates, is_open.';
COMMENT ON COLUMN gold.vw_jobs.pay_interval IS
    'Label of the pay interval: the API''s description, else the code list''s value, else '
    'the built-in label of the code, else the code as sent (2021 pages sent ''Per Year'').';
COMMENT ON COLUMN gold.vw_jobs.grade IS
    'Grade range, e.g. ''12-13'' (low-high), or one grade.';
COMMENT ON COLUMN gold.vw_jobs.series IS
    'Occupational series codes (JobCategory), comma-separated.';

-- Bounding box first (index job_location_latlon_idx), then the exact distance, as in 003.
CREATE FUNCTION gold.jobs_near(lat double precision, lon double precision, miles double precision)
RETURNS TABLE (
    job_id bigint,
    control_number text,
    position_title text,
    organization_name text,
    department_name text,
    pay_min numeric,
    pay_max numeric,
    pay_interval_code text,
    pay_interval text,
    pay_annual_min numeric,
    pay_annual_max numeric,
    pay_plan text,
    grade text,
    series text,
    series_name text,
    locations text[],
    remote_indicator boolean,
    telework_eligible boolean,
    apply_url text,
    position_uri text,
    job_summary text,
    publication_start_date timestamptz,
    application_close_date timestamptz,
    is_open boolean,
    inactive_since timestamptz,
    distance_miles double precision,
    nearest_location text
)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH centre AS (
        SELECT radians(jobs_near.lat) AS phi,
               radians(jobs_near.lon - 360 * floor((jobs_near.lon + 180) / 360)) AS lambda,
               greatest(jobs_near.miles, 0) / 3958.8 AS r
    ), box AS (
        SELECT c.phi,
               c.lambda,
               degrees(c.phi - c.r) - 1e-9 AS lat_lo,
               degrees(c.phi + c.r) + 1e-9 AS lat_hi,
               degrees(c.lambda) AS lon0,
               CASE WHEN c.phi + c.r >= pi() / 2 OR c.phi - c.r <= -pi() / 2 THEN NULL
                    ELSE degrees(asin(least(1.0, sin(c.r) / cos(c.phi)))) + 1e-9
               END AS dlon
          FROM centre AS c
    ), hits AS (
        SELECT l.job_id,
               l.loc_idx,
               l.location_name,
               2 * 3958.8 * asin(least(1.0, sqrt(
                   power(sin((radians(l.latitude) - b.phi) / 2), 2)
                   + cos(b.phi) * cos(radians(l.latitude))
                     * power(sin((radians(l.longitude) - b.lambda) / 2), 2)
               ))) AS distance
          FROM box AS b
          JOIN job_location AS l
            ON l.latitude BETWEEN b.lat_lo AND b.lat_hi
           AND (b.dlon IS NULL
                OR l.longitude BETWEEN b.lon0 - b.dlon AND b.lon0 + b.dlon
                OR l.longitude >= b.lon0 - b.dlon + 360
                OR l.longitude <= b.lon0 + b.dlon - 360)
    ), nearest AS (
        SELECT DISTINCT ON (h.job_id) h.job_id, h.distance, h.location_name
          FROM hits AS h
         WHERE h.distance <= jobs_near.miles
         ORDER BY h.job_id, h.distance, h.loc_idx
    )
    SELECT v.job_id, v.control_number, v.position_title, v.organization_name,
           v.department_name, v.pay_min, v.pay_max, v.pay_interval_code, v.pay_interval,
           v.pay_annual_min, v.pay_annual_max, v.pay_plan, v.grade, v.series, v.series_name,
           v.locations, v.remote_indicator, v.telework_eligible, v.apply_url, v.position_uri,
           v.job_summary, v.publication_start_date, v.application_close_date, v.is_open,
           v.inactive_since, n.distance, btrim(n.location_name)
      FROM nearest AS n
      JOIN gold.vw_jobs AS v ON v.job_id = n.job_id
     ORDER BY n.distance, v.control_number;
END;

COMMENT ON FUNCTION gold.jobs_near(double precision, double precision, double precision) IS
    'Jobs with any location within `miles` of (lat, lon), whole rows: the columns of '
    'gold.vw_jobs, distance_miles (Haversine, R = 3958.8 mi, of the nearest location) and '
    'nearest_location (its name); nearest first.';

CREATE VIEW gold.vw_job_map AS
SELECT v.job_id,
       v.control_number,
       l.loc_idx,
       btrim(l.location_name) AS location_name,
       l.city_name,
       l.subdivision,
       l.country,
       l.latitude,
       l.longitude,
       v.position_title,
       v.organization_name,
       v.department_name,
       v.pay_min,
       v.pay_max,
       v.pay_interval,
       v.pay_annual_min,
       v.pay_annual_max,
       v.pay_plan,
       v.grade,
       v.series,
       v.remote_indicator,
       v.telework_eligible,
       v.apply_url,
       v.publication_start_date,
       v.application_close_date,
       v.is_open,
       v.inactive_since
  FROM gold.vw_jobs AS v
  JOIN job_location AS l ON l.job_id = v.job_id;

COMMENT ON VIEW gold.vw_job_map IS
    'One row per job and location (for maps): the location and its coordinates (NULL when '
    'the API sent none) with the job''s main columns. Beside gold.vw_jobs (one row per job).';

CREATE VIEW gold.vw_search_scopes AS
SELECT r.scope_hash,
       min(r.params -> 'search_params' ->> 'Keyword') AS keyword,
       min(r.params -> 'search_params' ->> 'LocationName') AS location_name,
       min(r.params -> 'search_params' ->> 'Radius') AS radius_miles,
       min((r.params -> 'search_params')::text) AS search_params,
       count(*) AS runs,
       count(*) FILTER (WHERE r.complete) AS complete_runs,
       min(r.started_at) AS first_run_at,
       max(r.started_at) AS last_run_at,
       (SELECT count(*) FROM job_scope AS s WHERE s.scope_hash = r.scope_hash) AS jobs
  FROM ingest_run AS r
 WHERE r.scope_hash IS NOT NULL
 GROUP BY r.scope_hash;

COMMENT ON VIEW gold.vw_search_scopes IS
    'Every search scope that ran (`tasman-etl run`): its hash (as in job_scope), keyword, '
    'location, radius, all its search parameters (JSON text), runs and jobs seen.';

CREATE VIEW gold.vw_de_jobs_all AS
WITH founding AS (
    SELECT encode(sha256(convert_to(
               '{"Keyword":"data engineering","LocationName":"Chicago, Illinois","Radius":"50"}',
               'UTF8')), 'hex') AS scope_hash
)
SELECT v.*,
       j.search_tsv @@ websearch_to_tsquery('english', 'data engineering') AS keyword_match,
       s.first_seen_at AS search_first_seen_at,
       s.last_seen_at AS search_last_seen_at
  FROM founding AS f
  JOIN job_scope AS s ON s.scope_hash = f.scope_hash
  JOIN gold.vw_jobs AS v ON v.job_id = s.job_id
  JOIN job AS j ON j.job_id = s.job_id
 ORDER BY v.publication_start_date DESC NULLS LAST, v.control_number;

COMMENT ON VIEW gold.vw_de_jobs_all IS
    'Jobs the founding search returned (Keyword ''data engineering'', LocationName '
    '''Chicago, Illinois'', Radius 50: its job_scope rows), open or not, newest first. '
    'keyword_match: title or summary matches ''data engineering'' in full text (the API '
    'searches more fields, so false does not mean the API was wrong).';
COMMENT ON COLUMN gold.vw_de_jobs_all.keyword_match IS
    'Title or summary matches websearch_to_tsquery(''english'', ''data engineering'').';

CREATE VIEW gold.vw_de_jobs_chicago AS
SELECT d.*, n.distance_miles, n.nearest_location
  FROM gold.vw_de_jobs_all AS d
  LEFT JOIN LATERAL (
        SELECT gold.distance_miles(41.8781, -87.6298, l.latitude, l.longitude)
                   AS distance_miles,
               btrim(l.location_name) AS nearest_location
          FROM job_location AS l
         WHERE l.job_id = d.job_id AND l.latitude IS NOT NULL AND l.longitude IS NOT NULL
         ORDER BY 1, l.loc_idx
         LIMIT 1
       ) AS n ON true
 WHERE d.is_open
 ORDER BY d.publication_start_date DESC NULLS LAST, d.control_number;

COMMENT ON VIEW gold.vw_de_jobs_chicago IS
    'Open jobs of the founding search (see vw_de_jobs_all), with the location nearest '
    'Chicago (41.8781, -87.6298) and its distance in miles, newest first.';

-- Ownership and grants as 004/008 give the other gold objects, whichever user migrates.
-- jobs_near reads silver for the reader, as in 004: SECURITY DEFINER, search_path pinned
-- (its body is bound at creation anyway). The other functions read no table.
ALTER VIEW gold.vw_jobs OWNER TO tasman_owner;
ALTER VIEW gold.vw_job_map OWNER TO tasman_owner;
ALTER VIEW gold.vw_search_scopes OWNER TO tasman_owner;
ALTER VIEW gold.vw_de_jobs_all OWNER TO tasman_owner;
ALTER VIEW gold.vw_de_jobs_chicago OWNER TO tasman_owner;
ALTER FUNCTION gold.distance_miles(double precision, double precision, double precision,
                                   double precision) OWNER TO tasman_owner;
ALTER FUNCTION gold.jobs_near(double precision, double precision, double precision)
    OWNER TO tasman_owner;
ALTER FUNCTION gold.jobs_near(double precision, double precision, double precision)
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION gold.jobs_near(double precision, double precision, double precision),
    gold.distance_miles(double precision, double precision, double precision, double precision)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    gold.jobs_near(double precision, double precision, double precision),
    gold.distance_miles(double precision, double precision, double precision, double precision)
    TO tasman_reader, tasman_owner;
GRANT SELECT ON gold.vw_jobs, gold.vw_job_map, gold.vw_search_scopes, gold.vw_de_jobs_all,
    gold.vw_de_jobs_chicago TO tasman_reader;
