# boto3 for test/clients/boto3.test.ts: one process answers a JSON request per stdin line with a JSON line,
# so the test pays Python's start-up once. Each operation is what an application would call.
import json
import sys

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# 5 MiB parts: the large object goes up in parts, comes down in ranged GETs and is copied with
# UploadPartCopy.
TRANSFER = TransferConfig(multipart_threshold=5 * 2**20, multipart_chunksize=5 * 2**20)
clients = {}


def client(endpoint):
    if endpoint not in clients:
        clients[endpoint] = boto3.client(
            's3',
            endpoint_url=endpoint,
            aws_access_key_id='S3RVER',
            aws_secret_access_key='S3RVER',
            region_name='us-east-1',
            config=Config(s3={'addressing_style': 'path'}, retries={'total_max_attempts': 1}),
        )
    return clients[endpoint]


def run(req):
    s3, bucket, a = client(req['endpoint']), req['bucket'], req['args']
    op = req['op']
    if op == 'upload':
        s3.upload_file(a['file'], bucket, a['key'], Config=TRANSFER)
    elif op == 'list':
        entries = []
        for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=a['prefix']):
            entries += [{'key': o['Key'], 'size': o['Size']} for o in page.get('Contents', [])]
        return {'entries': entries}
    elif op == 'download':
        s3.download_file(bucket, a['key'], a['file'], Config=TRANSFER)
    elif op == 'range':
        body = s3.get_object(Bucket=bucket, Key=a['key'], Range=a['range'])['Body'].read()
        with open(a['file'], 'wb') as f:
            f.write(body)
    elif op == 'copy':
        s3.copy({'Bucket': bucket, 'Key': a['from']}, bucket, a['to'], Config=TRANSFER)
    elif op == 'remove':
        s3.delete_object(Bucket=bucket, Key=a['key'])
    elif op == 'presign':
        return {'url': s3.generate_presigned_url('get_object', Params={'Bucket': bucket, 'Key': a['key']}, ExpiresIn=600)}
    else:
        raise ValueError('unknown op ' + op)
    return {}


for line in sys.stdin:
    req = json.loads(line)
    try:
        answer = {'code': 0, **run(req)}
    except ClientError as e:
        answer = {'code': e.response.get('Error', {}).get('Code', 'ClientError'), 'detail': str(e)}
    except (BotoCoreError, OSError, ValueError) as e:
        answer = {'code': type(e).__name__, 'detail': str(e)}
    answer['id'] = req['id']
    sys.stdout.write(json.dumps(answer) + '\n')
    sys.stdout.flush()
