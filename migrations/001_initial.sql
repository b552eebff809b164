-- envbot's own store: environments, the ledger of created resources, Redis index allocations,
-- encrypted secrets, the audit log, chat message references and channel subscriptions.

CREATE TABLE environments (
  name          text PRIMARY KEY CHECK (name ~ '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' AND length(name) <= 63),
  project       text NOT NULL,
  stage         text NOT NULL,
  suffix        text,
  state         text NOT NULL CHECK (state IN ('creating', 'ready', 'failed', 'resetting', 'destroying', 'destroyed')),
  -- What was asked for: branches per service, expiry, options. Never secret values.
  spec          jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_by    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz,
  workflow_id   text,
  last_error    text
);
CREATE INDEX environments_project_idx ON environments (project, stage);

-- Every resource envbot created, so destroy and the orphan check can find it.
CREATE TABLE resources (
  id            bigserial PRIMARY KEY,
  environment   text NOT NULL,
  kind          text NOT NULL,          -- namespace, k8s-object, mongo-database, mysql-user, dns-record, ...
  name          text NOT NULL,
  location      text NOT NULL,          -- server, cluster, hosted zone: where the resource lives
  details       jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  deleted_at    timestamptz
);
-- At most one live row per resource.
CREATE UNIQUE INDEX resources_live_key ON resources (environment, kind, location, name) WHERE deleted_at IS NULL;
CREATE INDEX resources_environment_idx ON resources (environment);

-- One Redis database index per environment per server; the primary key makes double allocation impossible.
CREATE TABLE redis_allocations (
  server        text NOT NULL,
  db_index      integer NOT NULL CHECK (db_index >= 0),
  environment   text NOT NULL,
  allocated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (server, db_index),
  UNIQUE (server, environment)
);

-- Generated secrets, AES-256-GCM encrypted; key_id names the key, so keys can rotate.
CREATE TABLE secrets (
  environment   text NOT NULL,
  name          text NOT NULL,
  key_id        text NOT NULL,
  iv            bytea NOT NULL CHECK (length(iv) = 12),
  ciphertext    bytea NOT NULL,
  auth_tag      bytea NOT NULL CHECK (length(auth_tag) = 16),
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (environment, name)
);

CREATE TABLE audit_log (
  id            bigserial PRIMARY KEY,
  at            timestamptz NOT NULL DEFAULT now(),
  actor         text NOT NULL,          -- slack:U123, teams:<aad id>, cli:<os user>, system
  platform      text NOT NULL CHECK (platform IN ('slack', 'teams', 'cli', 'system', 'webhook')),
  channel       text,
  action        text NOT NULL,
  environment   text,
  outcome       text NOT NULL DEFAULT 'requested',
  details       jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_environment_idx ON audit_log (environment, at);

-- The chat message that shows an operation's progress, so it can be edited in place.
CREATE TABLE chat_messages (
  id            bigserial PRIMARY KEY,
  platform      text NOT NULL CHECK (platform IN ('slack', 'teams')),
  channel       text NOT NULL,
  message_ref   text NOT NULL,          -- Slack ts, Teams activity id
  environment   text NOT NULL,
  operation     text NOT NULL,          -- the workflow id
  conversation  jsonb NOT NULL DEFAULT '{}'::jsonb,  -- Teams conversation reference
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (platform, operation)
);
CREATE INDEX chat_messages_environment_idx ON chat_messages (environment);

-- Channels that get a project's promotion and monitoring alerts.
CREATE TABLE channel_subscriptions (
  platform      text NOT NULL CHECK (platform IN ('slack', 'teams')),
  channel       text NOT NULL,
  project       text NOT NULL,
  conversation  jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_by    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (platform, channel, project)
);
