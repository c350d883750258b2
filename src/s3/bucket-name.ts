// Which bucket names Kura caches: the one definition the read path, write-through and the volume share.

/**
 * S3 bucket names, legacy us-east-1 ones included (upper case and `_`), access point aliases
 * (`name-account`), MRAP aliases (`abc123.mrap`) and Express One Zone names (`name--usw2-az1--x-s3`):
 * 3 to 255 characters. The name becomes a directory on the volume, so it starts and ends with a letter or
 * digit, which rules out `.` and `..`, an option-like leading `-`, and the trailing dot or hyphen that some
 * file systems drop; `/`, `\` and NUL are outside the set. Two names differing only in case are safe on a
 * case-insensitive file system because the files under it are named by a hash that includes the bucket
 * (src/store/volume.ts, keyHash).
 */
const STORABLE_BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/;

export function isStorableBucket(name: string): boolean {
  return STORABLE_BUCKET.test(name);
}
