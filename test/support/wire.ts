// What this process writes to the network while a piece of code runs: the bytes a server (and its
// statement logs, performance_schema, replication) receives, for tests that prove a secret never
// travels in plain text.
import { Socket } from 'node:net';

export interface Sent {
  /** Every byte written on every TCP socket of the process, in order. */
  all: Buffer;
  /** Only what went to `port`. */
  to(port: number): Buffer;
}

export async function bytesSent<T>(fn: () => Promise<T>): Promise<{ result: T; sent: Sent }> {
  const chunks: { port: number | undefined; data: Buffer }[] = [];
  const proto = Socket.prototype as unknown as { write: (...args: unknown[]) => boolean };
  const own = Object.prototype.hasOwnProperty.call(proto, 'write');
  const original = proto.write;
  proto.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    chunks.push({ port: this.remotePort, data });
    return original.call(this, chunk, ...rest);
  };
  try {
    const result = await fn();
    return {
      result,
      sent: { all: Buffer.concat(chunks.map((c) => c.data)), to: (port) => Buffer.concat(chunks.filter((c) => c.port === port).map((c) => c.data)) },
    };
  } finally {
    if (own) proto.write = original;
    else delete (proto as { write?: unknown }).write;
  }
}
