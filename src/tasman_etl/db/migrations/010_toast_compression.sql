-- 010_toast_compression: cheaper TOAST for the long values every new or changed job writes.
--
-- Loading is dominated by COPY job and COPY job_details, and much of their server CPU is
-- pglz, PostgreSQL's default TOAST compression, squeezing raw_json (a 16 KB item is ~17 KB
-- of jsonb), the summary and the long Details texts. Measured on 10,000 simulated jobs of
-- real size, 500 per transaction (bench/README.md, "Write amplification: what each choice
-- costs"; server CPU of the loading backend, medians):
--
--   * lz4, where the server has it (RDS, Debian and Docker builds): server CPU 9.2 s ->
--     5.9 s, load + parse 13.5 s -> 10.1 s, for +4 % of WAL and +3 % of table size
--     (measured on PostgreSQL 15 with lz4);
--   * a server built without lz4 (the embedded PostgreSQL from PyPI, the zero-service
--     default): the same values uncompressed, out of line (STORAGE EXTERNAL): server CPU
--     8.1 s -> 5.0 s, load + parse 12.1 s -> 8.8 s, for +55 % of WAL and +62 % of job and
--     job_details' size (+15 KB per job). Bronze keeps every item gzipped anyway.
--
-- Which branch ran shows in pg_attribute (attcompression 'l', or attstorage 'e'). Both
-- settings apply to values written from now on; rows already stored keep their form until
-- rewritten (VACUUM FULL). Reading gets faster (no pglz to undo: a path out of every raw_json
-- 0.27 s -> 0.10 s on 10,000 jobs). Changing the settings is metadata only.

DO $$
BEGIN
    ALTER TABLE job
        ALTER COLUMN raw_json SET COMPRESSION lz4,
        ALTER COLUMN job_summary SET COMPRESSION lz4;
    ALTER TABLE job_details
        ALTER COLUMN qualification_summary SET COMPRESSION lz4,
        ALTER COLUMN major_duties SET COMPRESSION lz4,
        ALTER COLUMN key_requirements SET COMPRESSION lz4,
        ALTER COLUMN agency_marketing_statement SET COMPRESSION lz4,
        ALTER COLUMN education SET COMPRESSION lz4,
        ALTER COLUMN requirements SET COMPRESSION lz4,
        ALTER COLUMN evaluations SET COMPRESSION lz4,
        ALTER COLUMN how_to_apply SET COMPRESSION lz4,
        ALTER COLUMN what_to_expect_next SET COMPRESSION lz4,
        ALTER COLUMN required_documents SET COMPRESSION lz4,
        ALTER COLUMN benefits SET COMPRESSION lz4,
        ALTER COLUMN other_information SET COMPRESSION lz4;
    -- A closed version gets job.raw_json's value as it is (already lz4).
    ALTER TABLE job_version ALTER COLUMN snapshot SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    -- "compression method lz4 not supported": the server was built without lz4. Store these
    -- values uncompressed, out of line. job_version.snapshot keeps pglz: history is written
    -- only when a job changes.
    ALTER TABLE job
        ALTER COLUMN raw_json SET STORAGE EXTERNAL,
        ALTER COLUMN job_summary SET STORAGE EXTERNAL;
    ALTER TABLE job_details
        ALTER COLUMN qualification_summary SET STORAGE EXTERNAL,
        ALTER COLUMN major_duties SET STORAGE EXTERNAL,
        ALTER COLUMN key_requirements SET STORAGE EXTERNAL,
        ALTER COLUMN agency_marketing_statement SET STORAGE EXTERNAL,
        ALTER COLUMN education SET STORAGE EXTERNAL,
        ALTER COLUMN requirements SET STORAGE EXTERNAL,
        ALTER COLUMN evaluations SET STORAGE EXTERNAL,
        ALTER COLUMN how_to_apply SET STORAGE EXTERNAL,
        ALTER COLUMN what_to_expect_next SET STORAGE EXTERNAL,
        ALTER COLUMN required_documents SET STORAGE EXTERNAL,
        ALTER COLUMN benefits SET STORAGE EXTERNAL,
        ALTER COLUMN other_information SET STORAGE EXTERNAL;
END
$$;
