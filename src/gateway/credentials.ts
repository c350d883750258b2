// The credentials a gateway route signs with: static keys from the config, or the AWS default chain
// (environment, shared files and profiles, SSO, web identity, container and instance metadata), which
// the SDK's provider caches and refreshes before they expire.

import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
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
  return fromNodeProviderChain(c.profile === null ? {} : { profile: c.profile });
}
