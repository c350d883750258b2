// The AWS CLI v2 with its CRT transfer client (`preferred_transfer_client = crt`), through Kura as its
// HTTP_PROXY and direct against RGW. The CRT writes `:80` into every absolute-form target whatever the
// endpoint's port, and signs `Content-Length: 0` on DeleteObject: both reach RGW as sent.

import { clientMatrixTests } from '../support/client-suite.js';
import { awsCliDriver } from './aws-cli-driver.js';

clientMatrixTests(awsCliDriver({ crt: true }));
