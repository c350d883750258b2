// The AWS CLI as tests run it: a throwaway config directory with path-style addressing, the test
// origin's credentials, and nothing from the machine's own AWS configuration.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AwsCliOptions {
  /** More lines for the `s3 =` section of the config file, e.g. `preferred_transfer_client = crt`. */
  s3Config?: string[];
  /** One attempt per request (default), so a failure shows instead of being retried away. */
  singleAttempt?: boolean;
}

/** Writes `dir/config` and returns the environment for `aws` commands run with it. */
export function awsCliEnv(dir: string, opts: AwsCliOptions = {}): NodeJS.ProcessEnv {
  const s3 = ['addressing_style = path', ...(opts.s3Config ?? [])].map((line) => `  ${line}\n`).join('');
  writeFileSync(join(dir, 'config'), `[default]\ns3 =\n${s3}`);
  return {
    PATH: process.env.PATH,
    HOME: dir,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: join(dir, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...(opts.singleAttempt === false ? {} : { AWS_MAX_ATTEMPTS: '1' }),
  };
}
