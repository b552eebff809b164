// S3 event notifications, as S3 publishes them to an SNS topic (the Notification's Message): which
// objects were created or removed in which bucket. Other events, and S3's test event, are no change.
import { z } from 'zod';
import { SnsMalformed } from './sns-signature.js';

export interface S3Change {
  bucket: string;
  /** The object key, decoded (S3 sends it URL-encoded, spaces as '+'). */
  key: string;
  event: string;
}

const s3Event = z.object({
  Records: z.array(
    z.object({
      eventName: z.string(),
      s3: z.object({ bucket: z.object({ name: z.string().min(1) }), object: z.object({ key: z.string() }) }),
    }).passthrough(),
  ),
}).passthrough();

const testEvent = z.object({ Event: z.literal('s3:TestEvent') }).passthrough();

function decodeKey(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    throw new SnsMalformed(`object key "${key}" is not URL-encoded as S3 sends it`);
  }
}

/** The object changes in a Notification's Message; [] for S3's test event and for events that change no object. */
export function s3Changes(message: string): S3Change[] {
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    throw new SnsMalformed('the notification\'s Message is not an S3 event (not JSON): subscribe envbot to a topic that receives the bucket\'s event notifications');
  }
  if (testEvent.safeParse(json).success) return [];
  const parsed = s3Event.safeParse(json);
  if (!parsed.success) throw new SnsMalformed('the notification\'s Message is not an S3 event (no Records[].s3): subscribe envbot to a topic that receives the bucket\'s event notifications');
  return parsed.data.Records
    .filter((r) => /^ObjectCreated:|^ObjectRemoved:/.test(r.eventName))
    .map((r) => ({ bucket: r.s3.bucket.name, key: decodeKey(r.s3.object.key), event: r.eventName }));
}
