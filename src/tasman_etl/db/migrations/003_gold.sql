-- 003_gold: the consumer layer (schema gold): jobs near a point, and BI views.
--
-- gold.jobs_near(lat, lon, miles)  every job with any location within `miles` of the
--                                  point, with the distance of its nearest location
-- gold.vw_jobs                     every job, one row each, denormalised for BI
-- gold.vw_de_jobs_all              the data-engineering jobs of vw_jobs, newest first
-- gold.vw_de_jobs_chicago          those that are open and within 50 miles of Chicago
--
-- Rules (also in docs and `tasman-etl jobs --help`):
-- * Distance: Haversine on a sphere of radius 3958.8 miles, between the point and each
--   job_location with coordinates; a job's distance is that of its nearest location.
-- * Data engineering: title + summary full text (job.search_tsv) matches
--   websearch_to_tsquery('english', 'data engineering'), i.e. both stems 'data' and
--   'engin' occur (data engineer, engineering data pipelines, ...).
-- * Open: not marked inactive, and the closing day not over. USAJOBS close dates are
--   Eastern wall-clock times stored as if UTC (e.g. 2025-09-15T23:59:59.997), so a job
--   is open while today's date in New York is on or before that date.
-- Function bodies are SQL-standard (BEGIN ATOMIC): tables are bound when the function
-- is created, whatever the caller's search_path.

CREATE SCHEMA gold;

COMMENT ON SCHEMA gold IS 'Consumer layer: jobs near a point and BI views over silver.';

CREATE FUNCTION gold.is_open(close_date timestamptz, inactive_since timestamptz)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT is_open.inactive_since IS NULL
       AND (is_open.close_date IS NULL
            OR (is_open.close_date AT TIME ZONE 'UTC')::date
               >= (now() AT TIME ZONE 'America/New_York')::date);
END;

COMMENT ON FUNCTION gold.is_open(timestamptz, timestamptz) IS
    'A posting is open while not inactive and its closing day (Eastern) is not over.';

-- Bounding box first (index job_location_latlon_idx), then the exact distance.
-- Latitude band: lat +- r. Longitude half-width: asin(sin r / cos lat) (exact for a
-- circle on the sphere); when the circle reaches a pole every longitude qualifies.
-- A box crossing the antimeridian also matches longitudes wrapped by 360 degrees.
-- NULL arguments or a negative radius return no rows.
CREATE FUNCTION gold.jobs_near(lat double precision, lon double precision, miles double precision)
RETURNS TABLE (job_id bigint, distance_miles double precision)
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
    )
    SELECT h.job_id, min(h.distance)
      FROM hits AS h
     WHERE h.distance <= jobs_near.miles
     GROUP BY h.job_id;
END;

COMMENT ON FUNCTION gold.jobs_near(double precision, double precision, double precision) IS
    'Jobs with any location within `miles` of (lat, lon): Haversine, R = 3958.8 mi; '
    'distance_miles is that of the nearest location.';

CREATE VIEW gold.vw_jobs AS
SELECT j.job_id,
       j.control_number,
       j.position_title,
       j.organization_name,
       j.department_name,
       j.pay_min,
       j.pay_max,
       j.pay_interval_code,
       j.pay_annual_min,
       j.pay_annual_max,
       coalesce(loc.locations, '{}'::text[]) AS locations,
       j.remote_indicator,
       j.telework_eligible,
       coalesce(nullif(j.apply_uris[1], ''), j.position_uri) AS apply_url,
       j.position_uri,
       j.publication_start_date,
       j.application_close_date,
       gold.is_open(j.application_close_date, j.inactive_since) AS is_open,
       j.inactive_since
  FROM job AS j
  LEFT JOIN LATERAL (
        SELECT array_agg(btrim(l.location_name) ORDER BY l.loc_idx)
                   FILTER (WHERE l.location_name IS NOT NULL) AS locations
          FROM job_location AS l
         WHERE l.job_id = j.job_id
       ) AS loc ON true;

COMMENT ON VIEW gold.vw_jobs IS
    'Every job, one row each: pay (as posted and annualised), location names, flags, '
    'apply URL (first apply URI, else the posting URI), dates, is_open.';

CREATE VIEW gold.vw_de_jobs_all AS
SELECT v.*
  FROM gold.vw_jobs AS v
  JOIN job AS j USING (job_id)
 WHERE j.search_tsv @@ websearch_to_tsquery('english', 'data engineering')
 ORDER BY v.publication_start_date DESC NULLS LAST, v.control_number;

COMMENT ON VIEW gold.vw_de_jobs_all IS
    'Data-engineering jobs (title + summary full text matches ''data engineering''), '
    'open or not, newest first.';

CREATE VIEW gold.vw_de_jobs_chicago AS
SELECT d.*, n.distance_miles
  FROM gold.vw_de_jobs_all AS d
  JOIN gold.jobs_near(41.8781, -87.6298, 50) AS n USING (job_id)
 WHERE d.is_open
 ORDER BY d.publication_start_date DESC NULLS LAST, d.control_number;

COMMENT ON VIEW gold.vw_de_jobs_chicago IS
    'Open data-engineering jobs with any location within 50 miles of Chicago '
    '(41.8781, -87.6298), nearest-location distance, newest first.';
