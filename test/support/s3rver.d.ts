// s3rver 3.7.1 ships no types; this declares only what the test origin uses (read from lib/s3rver.js).
declare module 's3rver' {
  import type { Server } from 'node:http';
  import type { AddressInfo } from 'node:net';

  interface S3rverBucketConfig {
    name: string;
    /** CORS or website configuration XML documents. */
    configs?: (string | Buffer)[];
  }

  interface S3rverOptions {
    address?: string;
    /** 0 picks a free port; `run()` resolves to the bound address. */
    port?: number;
    directory?: string;
    silent?: boolean;
    serviceEndpoint?: string;
    vhostBuckets?: boolean;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    configureBuckets?: S3rverBucketConfig[];
  }

  class S3rver {
    constructor(options?: S3rverOptions);
    /** Creates the configured buckets, then listens; resolves to `httpServer.address()`. */
    run(): Promise<AddressInfo>;
    /** `httpServer.close()`: waits for open connections, so close them too. */
    close(): Promise<void>;
    reset(): void;
    httpServer?: Server;
  }

  export = S3rver;
}
