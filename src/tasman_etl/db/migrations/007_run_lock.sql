-- 007_run_lock: who holds a search's run lock, so a later run can tell a live run from a
-- dead one. The lock itself stays a session-level advisory lock keyed on the scope hash
-- (repository.try_lock_scope); a run records here, once it holds it, its database session
-- (pg_backend_pid) and its process (host name, host identity, OS pid) and when it took it.
-- A later run that finds the lock taken looks the holder up (pg_locks -> lock_backend_pid)
-- and takes over when the recorded process is gone (same host identity, pid not alive) or
-- the holder showed no sign of life (heartbeat_at: refreshed every 30 s while the run
-- works) for longer than RUN_MAX_AGE_S: it ends the holder's session
-- (pg_terminate_backend: allowed on sessions of one's own role), marks that run aborted
-- with the reason, and takes the lock. Otherwise it refuses, saying how old the holder is.
ALTER TABLE ingest_run
    ADD COLUMN lock_backend_pid integer,
    ADD COLUMN lock_host        text,
    ADD COLUMN lock_host_id     text,
    ADD COLUMN lock_os_pid      integer,
    ADD COLUMN locked_at        timestamptz,
    ADD COLUMN heartbeat_at     timestamptz;
COMMENT ON COLUMN ingest_run.lock_backend_pid IS
    'pg_backend_pid() of the session holding the scope lock for this run (run command).';
COMMENT ON COLUMN ingest_run.lock_host IS 'Host name of the process holding the scope lock.';
COMMENT ON COLUMN ingest_run.lock_host_id IS
    'Host name, boot id and pid namespace of that process: equal means its pid can be checked.';
COMMENT ON COLUMN ingest_run.lock_os_pid IS 'OS pid of the process holding the scope lock.';
COMMENT ON COLUMN ingest_run.locked_at IS 'When this run (last) took the scope lock.';
COMMENT ON COLUMN ingest_run.heartbeat_at IS
    'Last sign of life of the run holding the lock (every 30 s while it works).';
