-- 004_roles: least privilege. Three NOLOGIN group roles that the operator grants to
-- login users (e.g. `GRANT tasman_loader TO etl_task;`):
--
--   tasman_owner   owns the schema objects: DDL (later migrations, ALTER, indexes)
--   tasman_loader  what `run`, `load` and `replay` need: SELECT/INSERT/UPDATE/DELETE on the
--                  silver, reference and ledger tables, USAGE/SELECT on their sequences,
--                  SELECT on schema_migrations (every command checks it); nothing else:
--                  no DDL, no TRUNCATE, no gold
--   tasman_reader  USAGE on schema gold and SELECT on its views; nothing in public, so
--                  job.raw_json and every silver and ledger table stay out of reach
--
-- Roles are cluster-wide while migrations run per database: creation tolerates roles
-- that exist already (another database of the cluster, or a concurrent migration).
-- Creating them needs CREATEROLE (the embedded server's `postgres`; the RDS master user,
-- which is then made a member of tasman_owner so it keeps managing what it hands over).
-- Without CREATEROLE, a DBA creates the three roles first and grants tasman_owner to the
-- migrating user; this file then only grants.
-- Default privileges make objects that later migrations create (as the migrating user or
-- as tasman_owner) follow the same rules. Later migrations should keep public for silver
-- and the ledger and gold for consumer views.

DO $roles$
DECLARE
    wanted text;
BEGIN
    FOREACH wanted IN ARRAY ARRAY['tasman_owner', 'tasman_loader', 'tasman_reader'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = wanted) THEN
            IF NOT EXISTS (
                SELECT 1 FROM pg_roles
                 WHERE rolname = current_user AND (rolsuper OR rolcreaterole)
            ) THEN
                RAISE EXCEPTION 'role % does not exist and % may not create roles', wanted,
                    current_user
                    USING HINT = 'run migrations as a role with CREATEROLE, or have a DBA run '
                        'CREATE ROLE tasman_owner NOLOGIN; CREATE ROLE tasman_loader NOLOGIN; '
                        'CREATE ROLE tasman_reader NOLOGIN;';
            END IF;
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', wanted);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created meanwhile by a migration of another database
            END;
        END IF;
    END LOOP;
    -- A non-superuser migrating user must stay able to manage what it hands to the owner.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, 'tasman_owner', 'USAGE') THEN
        EXECUTE format('GRANT tasman_owner TO %I', current_user);
    END IF;
END
$roles$;

-- ---------------------------------------------------------------- ownership (DDL)
-- New tables: the owner creates them, nobody else (PostgreSQL < 15 let PUBLIC create in
-- public). A new owner needs CREATE on the schema (checked for non-superusers).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO tasman_owner;
GRANT USAGE, CREATE ON SCHEMA gold TO tasman_owner;

-- Tables, views and functions of this project go to tasman_owner (identity sequences
-- follow their tables). Extension objects (pg_trgm) are left alone.
DO $owner$
DECLARE
    obj record;
BEGIN
    FOR obj IN
        SELECT c.oid::regclass AS name, c.relkind
          FROM pg_class AS c
          JOIN pg_namespace AS n ON n.oid = c.relnamespace
         WHERE n.nspname IN ('public', 'gold')
           AND c.relkind IN ('r', 'p', 'v', 'm')
           AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
           AND NOT EXISTS (SELECT 1 FROM pg_depend AS d
                            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                              AND d.deptype = 'e')
    LOOP
        IF obj.relkind IN ('v', 'm') THEN
            EXECUTE format('ALTER %s %s OWNER TO tasman_owner',
                           CASE obj.relkind WHEN 'v' THEN 'VIEW' ELSE 'MATERIALIZED VIEW' END,
                           obj.name);
        ELSE
            EXECUTE format('ALTER TABLE %s OWNER TO tasman_owner', obj.name);
        END IF;
    END LOOP;
    FOR obj IN
        SELECT p.oid::regprocedure AS name
          FROM pg_proc AS p
          JOIN pg_namespace AS n ON n.oid = p.pronamespace
         WHERE n.nspname = 'gold'
           AND p.proowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
    LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO tasman_owner', obj.name);
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'gold'
                AND nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)) THEN
        ALTER SCHEMA gold OWNER TO tasman_owner;
    END IF;
END
$owner$;

-- jobs_near reads job_location; views that call it (vw_de_jobs_chicago) run it with the
-- caller's rights, so the reader could not use them. As SECURITY DEFINER it runs as
-- tasman_owner and still returns only (job_id, distance_miles). Its body is SQL-standard
-- (bound at creation), and the search_path is pinned anyway.
ALTER FUNCTION gold.jobs_near(double precision, double precision, double precision)
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA gold FROM PUBLIC;

-- ---------------------------------------------------------------- loader
GRANT USAGE ON SCHEMA public TO tasman_loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON
    job, job_location, job_category, job_grade, job_hiring_path, job_details, job_version,
    job_scope, codelist, quarantine, ingest_run, ingest_partition, ingest_page
    TO tasman_loader;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO tasman_loader;
GRANT SELECT ON public.schema_migrations TO tasman_loader;

-- ---------------------------------------------------------------- reader
GRANT USAGE ON SCHEMA gold TO tasman_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA gold TO tasman_reader;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA gold TO tasman_reader, tasman_owner;

-- ---------------------------------------------------------------- future objects
-- Objects created later by the migrating user, or by tasman_owner, follow the same rules.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tasman_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO tasman_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA gold GRANT SELECT ON TABLES TO tasman_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA gold REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA gold GRANT EXECUTE ON FUNCTIONS TO tasman_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE tasman_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tasman_loader;
ALTER DEFAULT PRIVILEGES FOR ROLE tasman_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO tasman_loader;
ALTER DEFAULT PRIVILEGES FOR ROLE tasman_owner IN SCHEMA gold
    GRANT SELECT ON TABLES TO tasman_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE tasman_owner IN SCHEMA gold
    REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE tasman_owner IN SCHEMA gold
    GRANT EXECUTE ON FUNCTIONS TO tasman_reader;
