-- The version of each S3 or git location (seed, template) the environment was last built or
-- re-seeded from: {"<location>": {"version": "<S3 digest or git commit>", "uses": ["seed catalog", ...]}}.
-- Written by the resolveSources activity at the start of a create or reset; `/env status` shows it.
ALTER TABLE environments ADD COLUMN sources jsonb NOT NULL DEFAULT '{}'::jsonb;
