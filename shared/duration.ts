// Durations as people write them (30m, 12h, 14d, 2w). Pure: workflows use it.
import { InvalidNameError } from './errors.js';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

export function parseDuration(text: string): number {
  const m = /^(\d{1,5})([mhdw])$/.exec(text.trim());
  if (!m) throw new InvalidNameError(`"${text}" is not a duration: write a number and a unit, such as 30m, 12h, 14d or 2w.`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** A wait as the catalogue writes it (90s, 10m, 1h): seconds allowed, unlike a time to live. */
export const WAIT_PATTERN = /^(\d{1,5})([smh])$/;

export function parseWait(text: string): number {
  const m = WAIT_PATTERN.exec(text.trim());
  if (!m) throw new InvalidNameError(`"${text}" is not a wait: write a number and a unit, such as 90s, 10m or 1h.`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : UNIT_MS[m[2] as 'm' | 'h']);
}
