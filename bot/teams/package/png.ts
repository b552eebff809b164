// The app's two icons, drawn here so the package needs no image files: a 192×192 colour icon and
// a 32×32 outline icon (white on transparent, as Teams requires), both an "e" on a plain field.
import { crc32, deflateSync } from 'node:zlib';

type Rgba = [number, number, number, number];

/** A PNG (8-bit RGBA, no interlace) of `size`×`size` pixels from `pixel(x, y)`. */
export function png(size: number, pixel: (x: number, y: number) => Rgba): Buffer {
  const rows = Buffer.alloc(size * (1 + size * 4));
  for (let y = 0; y < size; y++) {
    const row = y * (1 + size * 4);
    rows[row] = 0; // filter: none
    for (let x = 0; x < size; x++) Buffer.from(pixel(x, y)).copy(rows, row + 1 + x * 4);
  }
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(6, 9); // colour type: RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

/** Whether (u, v), both 0..1, is on the letter "e" drawn as a ring with a bar and an opening. */
function onLetter(u: number, v: number): boolean {
  const dx = u - 0.5;
  const dy = v - 0.5;
  const r = Math.hypot(dx, dy);
  const ring = r > 0.22 && r < 0.34;
  const bar = Math.abs(dy) < 0.05 && Math.abs(dx) < 0.3;
  const opening = dx > 0.05 && dy > 0.04 && dy < 0.2;
  return (ring && !opening) || bar;
}

export function colorIcon(): Buffer {
  return png(192, (x, y) => (onLetter(x / 192, y / 192) ? [255, 255, 255, 255] : [0x1f, 0x6f, 0xeb, 255]));
}

export function outlineIcon(): Buffer {
  return png(32, (x, y) => (onLetter((x + 0.5) / 32, (y + 0.5) / 32) ? [255, 255, 255, 255] : [255, 255, 255, 0]));
}
