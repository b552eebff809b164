-- Alerts from Alertmanager (POST /webhooks/alertmanager): the message each alert group got in each
-- channel (one per group, edited when it resolves), and how long an environment's alerts are muted
-- (/env silence <env> <duration>).
CREATE TABLE alert_messages (
  group_key     text NOT NULL,
  platform      text NOT NULL CHECK (platform IN ('slack', 'teams', 'console')),
  channel       text NOT NULL,
  environment   text NOT NULL,
  message_ref   text NOT NULL,
  status        text NOT NULL CHECK (status IN ('firing', 'resolved')),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_key, platform, channel)
);

CREATE TABLE alert_silences (
  environment   text PRIMARY KEY,
  until         timestamptz NOT NULL,
  created_by    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
