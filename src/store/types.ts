// What the volume holds, as data: object identities, versions, chunk pieces and object records.
// The store knows files, not HTTP; the cache layer builds these from S3's answers.

/** How a chunk's payload is stored. */
export type Codec = 'raw' | 'lz4';

/**
 * An object's identity. `namespace` says which S3 the bucket lives in (`aws` for AWS's global bucket
 * namespace, an override's origin URL for other stores), so two stores' buckets of the same name never
 * share a record.
 */
export interface ObjectKey {
  namespace: string;
  bucket: string;
  key: string;
}

/** One version of an object: its bytes never mix with another version's, since the ETag is in every path. */
export interface ObjectVersion extends ObjectKey {
  etag: string;
}

/** Half-open interval of bytes `[start, end)`, relative to the start of a chunk's grid cell. */
export interface Extent {
  start: number;
  end: number;
}

/** Bytes of one cell starting at cell offset `start`. */
export interface ChunkPiece {
  start: number;
  bytes: Buffer;
}

/** What a chunk file holds: disjoint pieces, sorted by start; a full chunk is one piece covering its cell. */
export interface ChunkContent {
  index: number;
  full: boolean;
  pieces: ChunkPiece[];
}

/** The byte range and status S3 answered for one `partNumber`. */
export interface PartAnswer {
  /** Inclusive byte positions within the object. */
  start: number;
  end: number;
  /** 206 for a part of a multipart object; S3 answers 200 for part 1 of a single-part object. */
  status: number;
}

/** Everything Kura knows about the current version of an object. Written whole; read without a lock. */
export interface ObjectRecord {
  format: 1;
  namespace: string;
  bucket: string;
  key: string;
  etag: string;
  size: number;
  /** `Last-Modified` as S3 sent it (an HTTP-date), or null when S3 sent none. */
  lastModified: string | null;
  /** Headers replayed on every answer, lower-case names, as S3 sent them (see cache/record-headers.ts). */
  headers: [string, string][];
  /** `x-amz-checksum-*` of the whole object, known from a whole-object answer to a checksum-mode request. */
  checksums: [string, string][] | null;
  /** `x-amz-mp-parts-count`, once an answer carried it. */
  partsCount: number | null;
  /** Answers to `partNumber` GETs, by part number. */
  parts: Record<string, PartAnswer>;
  /** Which request made the record. */
  source: 'get' | 'head' | 'put';
  /** Chosen once per version (store/compression.ts); chunks may still be raw when LZ4 does not shrink them. */
  codec: Codec;
  /** When S3 last confirmed this version (epoch ms) to a GET, and to a HEAD; null when never. */
  validatedGet: number | null;
  validatedHead: number | null;
  createdAt: number;
}
