// Whether an object version's chunks are worth compressing, decided once per version
// (docs/caching.md#writing-chunks).
// Trying LZ4 on bytes that are already compressed costs CPU on every fill for nothing; the per-chunk
// "store raw when LZ4 does not shrink it" rule still catches what these guesses miss.

import { fileTypeFromBuffer } from 'file-type';
import { compressSync } from 'lz4-napi';
import type { Codec } from './types.js';

/**
 * Leading bytes of a version LZ4 is tried on to decide for all its chunks. Trying LZ4 on a whole chunk
 * of incompressible bytes costs more CPU than the rest of a fill's work on it (measured: about 1.8 CPU
 * seconds per GiB against 0.06 for its CRC32); a sample this size costs well under a millisecond.
 */
export const CODEC_SAMPLE_BYTES = 64 * 1024;

/**
 * Extensions of formats whose bytes are compressed or encrypted. Borderline ones are left out on purpose,
 * since leaving one out only costs a failed LZ4 attempt per chunk, while wrongly listing one loses the
 * savings for good: `.npz` (`np.savez` stores its arrays uncompressed), `.tif` (often uncompressed),
 * `.arrow`/`.ipc` (IPC files are usually uncompressed), `.pt`/`.safetensors` (raw tensors), `.ts` (also
 * TypeScript).
 *
 * By line: general-purpose compressors and their tarball shorthands; archives and packages that deflate
 * their members; office documents (zip containers); columnar files, whose pages are Snappy- or
 * Zstandard-compressed by default; feather v2 (pyarrow compresses it with LZ4 by default); lossy or
 * entropy-coded images, audio and video; PDF (deflated streams) and web fonts; encrypted data.
 */
const COMPRESSED_EXTENSIONS = wordSet(`
  gz tgz bz2 tbz tbz2 xz txz zst zstd tzst lz4 lz lzma tlz lzo br z sz snappy
  zip jar war ear whl egg nupkg 7z rar cab apk aab ipa xpi crx deb rpm dmg epub
  docx xlsx pptx odt ods odp
  parquet orc avro
  feather
  jpg jpeg png gif webp avif heic heif jxl jp2
  mp3 aac m4a m4b ogg oga opus flac wma
  mp4 m4v mov mkv webm avi wmv flv 3gp mpg mpeg
  pdf woff woff2
  gpg pgp age
`);

/** `file-type` results whose bytes are compressed; see COMPRESSED_EXTENSIONS for what is left out. */
const COMPRESSED_FILE_TYPES = wordSet(`
  gz tar.gz bz2 xz zst lz4 lz Z lzh br zip 7z rar cab arj ace apk jar xpi crx deb rpm dmg epub
  docx xlsx pptx odt ods odp odg otp ots ott otg potx xltx dotx xltm xlsm docm dotm potm pptm ppsm ppsx
  parquet avro
  jpg png apng gif webp avif heic jxl jp2 jpx jpm mj2 flif bpg
  mp3 mp2 mp1 aac m4a m4b m4p ogg oga ogv ogm ogx opus flac spx amr ape wv mpc ac3
  mp4 m4v f4v f4p f4b f4a mov mkv webm avi flv 3gp 3g2 mpg asf
  pdf woff woff2 pgp
`);

const COMPRESSING_CONTENT_ENCODINGS = wordSet('gzip x-gzip br zstd compress x-compress deflate');

/** Image and audio types that hold raw samples or text: everything else under image/ and audio/ is coded. */
const UNCOMPRESSED_IMAGE_TYPES = wordSet(`
  svg+xml bmp x-bmp x-ms-bmp tiff x-icon vnd.microsoft.icon vnd.adobe.photoshop x-tga x-targa
  x-portable-anymap x-portable-bitmap x-portable-graymap x-portable-pixmap x-xbitmap x-xpixmap
`);
const UNCOMPRESSED_AUDIO_TYPES = wordSet('wav x-wav wave vnd.wave aiff x-aiff l8 l16 l24 pcm');

const COMPRESSED_APPLICATION_TYPES = wordSet(`
  zip gzip x-gzip zstd x-zstd x-bzip x-bzip2 x-xz x-lzma x-lzip x-lz4 x-compress x-brotli x-7z-compressed
  x-rar-compressed vnd.rar x-snappy-framed vnd.ms-cab-compressed
  vnd.apache.parquet x-parquet vnd.apache.orc avro vnd.apache.avro vnd.apache.avro+binary
  pdf java-archive x-java-archive vnd.android.package-archive epub+zip x-xpinstall x-apple-diskimage
  x-rpm x-redhat-package-manager vnd.debian.binary-package font-woff x-font-woff pgp-encrypted
`);

function wordSet(list: string): ReadonlySet<string> {
  return new Set(list.trim().split(/\s+/));
}

/** By the key's extension (case-insensitive): `logs/a.tar.GZ` is compressed, `data.tar` is not. */
export function isCompressedName(key: string): boolean {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  if (dot < 0) return false;
  return COMPRESSED_EXTENSIONS.has(name.slice(dot + 1).toLowerCase());
}

/** By the headers S3 stores with the object. */
export function isCompressedMedia(contentType: string | null, contentEncoding: string | null): boolean {
  if (contentEncoding) {
    const codings = contentEncoding.split(',').map((c) => c.trim().toLowerCase());
    if (codings.some((c) => COMPRESSING_CONTENT_ENCODINGS.has(c))) return true;
  }
  if (!contentType) return false;
  const essence = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  const slash = essence.indexOf('/');
  if (slash < 0) return false;
  const type = essence.slice(0, slash);
  const subtype = essence.slice(slash + 1);
  switch (type) {
    case 'image':
      return !UNCOMPRESSED_IMAGE_TYPES.has(subtype);
    case 'audio':
      return !UNCOMPRESSED_AUDIO_TYPES.has(subtype);
    case 'video':
      return true;
    case 'font':
      return subtype === 'woff' || subtype === 'woff2';
    case 'application':
      return (
        COMPRESSED_APPLICATION_TYPES.has(subtype) ||
        subtype.startsWith('vnd.openxmlformats-officedocument.') ||
        subtype.startsWith('vnd.oasis.opendocument.')
      );
    default:
      return false;
  }
}

export interface CodecInputs {
  /** Compression as configured for the key's rule. */
  enabled: boolean;
  key: string;
  contentType: string | null;
  contentEncoding: string | null;
  /** The object's first bytes when the fill has them (up to CODEC_SAMPLE_BYTES), else null. */
  firstBytes: Buffer | null;
}

/** The codec for a new object version's chunks. */
export async function chooseCodec(o: CodecInputs): Promise<Codec> {
  if (!o.enabled) return 'raw';
  if (isCompressedName(o.key) || isCompressedMedia(o.contentType, o.contentEncoding)) return 'raw';
  if (o.firstBytes && o.firstBytes.length > 0) {
    if (await sniffsCompressed(o.firstBytes)) return 'raw';
    return sampleCodec(o.firstBytes);
  }
  return 'lz4';
}

/**
 * LZ4 when it makes a sample of the bytes at least 3% smaller; raw otherwise (random, encrypted, or packed
 * formats that neither the name nor file-type recognise). Chunks are still stored raw one by one when
 * LZ4 does not shrink them.
 */
export function sampleCodec(bytes: Buffer): Codec {
  const sample = bytes.subarray(0, CODEC_SAMPLE_BYTES);
  return compressSync(sample).length < sample.length * 0.97 ? 'lz4' : 'raw';
}

async function sniffsCompressed(firstBytes: Buffer): Promise<boolean> {
  try {
    const type = await fileTypeFromBuffer(firstBytes);
    return type !== undefined && COMPRESSED_FILE_TYPES.has(type.ext);
  } catch {
    // A sniffer failure is no reason to fail a fill; LZ4's shrink check still applies per chunk.
    return false;
  }
}
