-- One allocation mechanism for numbered slots: Redis database indexes (pool 'redis/<server>'),
-- load-balancer rule priorities (pool 'lb/<listener arn>'). The primary key makes double allocation
-- impossible; the unique key gives an owner at most one slot per pool.
CREATE TABLE allocations (
  pool          text NOT NULL,
  slot          integer NOT NULL CHECK (slot >= 0),
  owner         text NOT NULL,          -- an environment
  allocated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pool, slot),
  UNIQUE (pool, owner)
);
-- Releasing everything an environment holds looks it up by owner.
CREATE INDEX allocations_owner_idx ON allocations (owner);

INSERT INTO allocations (pool, slot, owner, allocated_at)
SELECT 'redis/' || server, db_index, environment, allocated_at FROM redis_allocations;

DROP TABLE redis_allocations;
