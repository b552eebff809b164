-- Requests from chat platforms already handled, so a replayed or retried request starts nothing twice.
CREATE TABLE chat_requests (
  platform      text NOT NULL,
  request_key   text NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (platform, request_key)
);
CREATE INDEX chat_requests_received_idx ON chat_requests (received_at);
