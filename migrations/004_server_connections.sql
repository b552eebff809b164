-- The admin connection (URL with password) of each database server envbot made things on, so destroy
-- can reach a server that was removed from the catalogue since. AES-256-GCM encrypted like secrets;
-- key_id names the key, so keys can rotate.
CREATE TABLE server_connections (
  engine        text NOT NULL,          -- mongo, mysql, postgres, redis
  server        text NOT NULL,          -- the server's name in the catalogue
  key_id        text NOT NULL,
  iv            bytea NOT NULL CHECK (length(iv) = 12),
  ciphertext    bytea NOT NULL,
  auth_tag      bytea NOT NULL CHECK (length(auth_tag) = 16),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (engine, server)
);
