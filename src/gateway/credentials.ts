// The credentials a gateway route signs with: static keys from the config, or the AWS default chain
// (environment, shared files and profiles, SSO, web identity, container and instance metadata), which
// the SDK's provider caches and refreshes before they expire.

import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { GatewayCredentials } from '../config/gateway.js';

export function credentialProvider(c: GatewayCredentials): AwsCredentialIdentityProvider {
  if (c.kind === 'static') {
    const identity: AwsCredentialIdentity = {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      ...(c.sessionToken === null ? {} : { sessionToken: c.sessionToken }),
    };
    return async () => identity;
  }
  return defaultChain(c.profile);
}

/**
 * The AWS default chain, its module loaded only by a Kura that uses it: the SDK's code would otherwise sit
 * in every process's heap, which V8 grows in proportion to (docs/operations.md, Memory).
 */
export function defaultChain(profile: string | null = null): AwsCredentialIdentityProvider {
  const provider = import('@aws-sdk/credential-providers').then((m) =>
    m.fromNodeProviderChain(profile === null ? {} : { profile }),
  );
  // Marked handled here; every request that needs credentials still sees a failure to load.
  provider.catch(() => {});
  return async (props) => (await provider)(props);
}
