-- What each service of each environment runs and follows, and how it got there (issue 11: GitOps).
-- The single place the push webhook, `/env track`, `/env history`, the card and (later) production
-- promotion read and write.

-- One row per (environment, service): what it tracks now and what it runs.
--   branch NULL: the service tracks no branch (it follows production / its catalogue image).
--   commit: the git commit its objects were last rendered from (NULL: not from git).
--   image: the first container image of its rendered workload (what promotion compares).
CREATE TABLE service_deployments (
  environment   text NOT NULL,
  service       text NOT NULL,
  branch        text,
  commit        text CHECK (commit IS NULL OR commit ~ '^[0-9a-f]{40}$'),
  image         text,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (environment, service)
);
-- A push asks: which environments track <branch>?
CREATE INDEX service_deployments_branch_idx ON service_deployments (branch) WHERE branch IS NOT NULL;

-- Every deployment, newest last: what (commit or tag), why, who, when.
CREATE TABLE deployments (
  id            bigserial PRIMARY KEY,
  environment   text NOT NULL,
  service       text NOT NULL,
  branch        text,
  commit        text,
  image         text,
  why           text NOT NULL CHECK (why IN ('create', 'push', 'promotion', 'manual')),
  who           text NOT NULL,
  at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deployments_environment_idx ON deployments (environment, service, at DESC);

-- Webhook deliveries already handled (GitHub's X-GitHub-Delivery, GitLab's X-Gitlab-Event-UUID), so a
-- redelivery applies nothing twice. Kept 30 days: GitHub lets people redeliver by hand for that long.
CREATE TABLE webhook_deliveries (
  source        text NOT NULL CHECK (source IN ('github', 'gitlab')),
  delivery_id   text NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, delivery_id)
);
CREATE INDEX webhook_deliveries_received_idx ON webhook_deliveries (received_at);
