-- The workflow run that wrote an operation's own entries (its start, its outcome). A step run again
-- (a retried begin, or a local activity run once more after its worker died before Temporal heard
-- of it) adds nothing: one entry per run, action and outcome. NULL for every other entry, and for
-- those written before.
ALTER TABLE audit_log ADD COLUMN run_id text;
CREATE UNIQUE INDEX audit_log_run_idx ON audit_log (run_id, action, outcome) WHERE run_id IS NOT NULL;
