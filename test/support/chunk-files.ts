// Chunk files as older Kuras wrote them, for the tests that check they are still read.

import { crc32 } from 'node:zlib';

/** A format 2 full chunk of `bytes` (before blocks): one CRC of all the raw bytes at 20, no block table. */
export function formatTwoFile(bytes: Buffer, index: number, tag: Buffer): Buffer {
  const header = Buffer.alloc(52);
  header.write('KURC', 0, 'latin1');
  header[4] = 2;
  header[5] = 0;
  header.writeUInt16LE(1, 6);
  header.writeUInt32LE(index, 8);
  header.writeUInt32LE(bytes.length, 12);
  header.writeUInt32LE(bytes.length, 16);
  header.writeUInt32LE(crc32(bytes), 20);
  tag.copy(header, 24);
  header.writeUInt32LE(0, 40);
  header.writeUInt32LE(bytes.length, 44);
  header.writeUInt32LE(crc32(header.subarray(0, 48)), 48);
  return Buffer.concat([header, bytes]);
}
