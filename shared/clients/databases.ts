// The worker's administrative clients of the catalogue's database servers: one PostgreSQL pool, one
// MySQL/MariaDB pool, one MongoDB client and one Redis connection per server URL, made on first use
// and kept for the worker's life, so a create no longer opens (and authenticates) a new connection to
// every server in every activity. Keyed by URL: a catalogue may name several servers per engine. Each
// survives a server restart: the pools drop broken connections and open new ones, the MongoDB driver
// monitors and reconnects on its own, ioredis reconnects. Connections logging in as an environment's
// own user (seeding) are not here: they are per call on purpose. URLs (with passwords) are never logged.
import { MongoClient } from 'mongodb';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/** Connections each pool may hold per server: admin work is a few short statements per environment. */
const POOL_SIZE = 4;

export class DatabaseClients {
  private readonly pgPools = new Map<string, pg.Pool>();
  private readonly mysqlPools = new Map<string, mysql.Pool>();
  private readonly mongoClients = new Map<string, Promise<MongoClient>>();
  private readonly redisClients = new Map<string, Redis>();
  private closed = false;

  /** `name` labels the connections on the servers (PostgreSQL application_name, Redis CLIENT SETNAME, MongoDB appName). */
  constructor(
    private readonly log: Pick<Logger, 'debug'>,
    readonly name = 'envbot',
  ) {}

  private open(): void {
    if (this.closed) throw new Error('the worker is shutting down: its database clients are closed');
  }

  /** The PostgreSQL pool of the server at `url` (its admin database). */
  postgres(url: string): pg.Pool {
    this.open();
    let pool = this.pgPools.get(url);
    if (!pool) {
      pool = new pg.Pool({ connectionString: url, application_name: this.name, max: POOL_SIZE, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 15_000 });
      // An idle connection the server dropped (a restart) is discarded by the pool; without a listener it would end the worker.
      pool.on('error', (err) => this.log.debug({ err: err.message }, 'idle postgres connection lost'));
      this.pgPools.set(url, pool);
    }
    return pool;
  }

  /** The MySQL/MariaDB pool of the server at `url`. */
  mysql(url: string): mysql.Pool {
    this.open();
    let pool = this.mysqlPools.get(url);
    if (!pool) {
      pool = mysql.createPool({ uri: url, connectionLimit: POOL_SIZE, maxIdle: POOL_SIZE, idleTimeout: 30_000, connectTimeout: 15_000 });
      // The pool removes a connection that failed; this listener keeps a second error from ending the worker.
      pool.on('connection', (c) => c.on('error', (err: Error) => this.log.debug({ err: err.message }, 'mysql connection lost')));
      this.mysqlPools.set(url, pool);
    }
    return pool;
  }

  /** The connected MongoDB client of the server at `url`; a failed first connection is tried again on the next call. */
  mongo(url: string): Promise<MongoClient> {
    this.open();
    let client = this.mongoClients.get(url);
    if (!client) {
      const made = new MongoClient(url, { appName: this.name, serverSelectionTimeoutMS: 15_000, maxPoolSize: POOL_SIZE });
      client = made.connect().catch(async (err: unknown) => {
        this.mongoClients.delete(url);
        await made.close().catch(() => undefined);
        throw err;
      });
      this.mongoClients.set(url, client);
    }
    return client;
  }

  /**
   * A connection to the Redis server at `url` for server-wide commands only (ACL, CONFIG): never
   * for keys, since it is shared and its selected database is not anyone's. Commands fail fast while
   * the server is away (the activity is retried); it reconnects meanwhile.
   */
  redis(url: string): Redis {
    this.open();
    let client = this.redisClients.get(url);
    if (!client) {
      const u = new URL(url);
      u.pathname = '';
      u.searchParams.delete('db');
      client = new Redis(u.toString(), {
        connectionName: this.name.replace(/\s/g, '-'),
        connectTimeout: 10_000,
        maxRetriesPerRequest: 1,
        retryStrategy: (times) => Math.min(times * 200, 2_000),
      });
      // Errors reach callers through their rejected commands; without a listener ioredis prints them.
      client.on('error', (err: Error) => this.log.debug({ err: err.message }, 'redis admin connection error'));
      this.redisClients.set(url, client);
    }
    return client;
  }

  /** Closes every client (on worker shutdown); later calls fail. */
  async close(): Promise<void> {
    this.closed = true;
    const closing: Promise<unknown>[] = [
      ...[...this.pgPools.values()].map((p) => p.end()),
      ...[...this.mysqlPools.values()].map((p) => p.end()),
      ...[...this.mongoClients.values()].map((c) => c.then((m) => m.close(), () => undefined)),
    ];
    for (const r of this.redisClients.values()) r.disconnect();
    this.pgPools.clear();
    this.mysqlPools.clear();
    this.mongoClients.clear();
    this.redisClients.clear();
    await Promise.allSettled(closing);
  }
}
