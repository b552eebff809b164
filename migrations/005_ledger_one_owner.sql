-- A physical resource belongs to one environment: at most one live ledger row per (kind, location,
-- name), whichever environment holds it. Before, the key included the environment, so a second
-- environment whose names collided with a first one's recorded the same database, took it over and
-- emptied it on its reset, rollback or destroy.

-- Stored secrets are keyed by (environment, name) in the secrets table: their location says whose they are.
UPDATE resources SET location = 'envbot-store/' || environment WHERE kind = 'secret' AND location = 'envbot-store';

-- A resource two environments already share stays with the one that recorded it first. The later
-- claims are closed (deleted_at set, details.releasedTo naming the first holder), so destroying the
-- later environment no longer removes the first one's data. Look for them with
--   SELECT environment, kind, location, name, details->>'releasedTo' FROM resources WHERE details ? 'releasedTo';
WITH ranked AS (
  SELECT id,
         first_value(environment) OVER w AS holder,
         row_number() OVER w AS n
  FROM resources
  WHERE deleted_at IS NULL
  WINDOW w AS (PARTITION BY kind, location, name ORDER BY id)
)
UPDATE resources r
SET deleted_at = now(), details = r.details || jsonb_build_object('releasedTo', ranked.holder)
FROM ranked
WHERE r.id = ranked.id AND ranked.n > 1;

DROP INDEX resources_live_key;
CREATE UNIQUE INDEX resources_live_key ON resources (kind, location, name) WHERE deleted_at IS NULL;
