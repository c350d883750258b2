// The AWS CLI v2 with its classic transfer client (botocore), through Kura and direct against RGW.

import { clientMatrixTests } from '../support/client-suite.js';
import { awsCliDriver } from './aws-cli-driver.js';

clientMatrixTests(awsCliDriver({ crt: false }));
