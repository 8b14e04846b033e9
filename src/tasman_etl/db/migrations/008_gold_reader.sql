-- 008_gold_reader: everything `tasman-etl jobs` reads is in gold, so a tasman_reader login
-- (gold only, nothing in public) can run it.
--
-- gold.vw_job_locations   one row per job location: the names and coordinates `--near`
--                         resolves a place from
-- gold.vw_job_search      job_id and the full-text vector of title + summary
--                         (job.search_tsv) that `--keyword` matches; a plain view over job,
--                         so the planner still uses job_search_tsv_idx
-- gold.vw_schema_version  the newest applied migration: the reader may not read
--                         schema_migrations, and `jobs` checks the schema is current before
--                         it queries (one row, one integer)
--
-- Views read their tables with their owner's rights (tasman_owner), so the reader gets
-- these columns and nothing else of job, job_location or schema_migrations (no raw_json).

CREATE VIEW gold.vw_job_locations AS
SELECT l.job_id,
       l.loc_idx,
       l.location_name,
       l.city_name,
       l.subdivision,
       l.country,
       l.latitude,
       l.longitude
  FROM job_location AS l;

COMMENT ON VIEW gold.vw_job_locations IS
    'Every location of every job (name, city, subdivision, country, coordinates).';

CREATE VIEW gold.vw_job_search AS
SELECT j.job_id, j.search_tsv
  FROM job AS j;

COMMENT ON VIEW gold.vw_job_search IS
    'Full-text vector of each job''s title and summary, for websearch_to_tsquery matches.';

CREATE VIEW gold.vw_schema_version AS
SELECT max(m.version) AS version
  FROM public.schema_migrations AS m;

COMMENT ON VIEW gold.vw_schema_version IS
    'The newest applied migration version (for logins that may not read schema_migrations).';

-- Same ownership and grants as 004 gives the other gold objects, stated here so they hold
-- whichever user runs this migration.
-- The owner reads schema_migrations for vw_schema_version (it may belong to the user that
-- first migrated, not to tasman_owner).
GRANT SELECT ON public.schema_migrations TO tasman_owner;
ALTER VIEW gold.vw_job_locations OWNER TO tasman_owner;
ALTER VIEW gold.vw_job_search OWNER TO tasman_owner;
ALTER VIEW gold.vw_schema_version OWNER TO tasman_owner;
GRANT SELECT ON gold.vw_job_locations, gold.vw_job_search, gold.vw_schema_version
    TO tasman_reader;
