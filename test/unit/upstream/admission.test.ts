import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import { UpstreamAdmission, UpstreamBusyError } from '../../../src/upstream/admission.js';

const O = 'override|true|http://127.0.0.1:9000';

describe('upstream admission', () => {
  test('uploads hold at most connections - read_reserve; reads still get the rest at once', async () => {
    const a = new UpstreamAdmission({ connections: 4, readReserve: 2, queueTimeoutMs: 60_000 });
    const u1 = await a.admit(O, 'upload');
    await a.admit(O, 'upload');
    let third = false;
    const u3 = a.admit(O, 'upload').then((r) => {
      third = true;
      return r;
    });
    await a.admit(O, 'read');
    await a.admit(O, 'read');
    await new Promise((r) => setImmediate(r));
    assert.equal(third, false, 'the third upload waits although a place is free for reads');
    assert.equal(a.waiting, 1);
    u1();
    (await u3)();
    assert.equal(third, true, 'it takes the place the first upload gave back');
    assert.equal(a.waiting, 0);
  });

  test('a freed place goes to a waiting read before a waiting upload', async () => {
    const a = new UpstreamAdmission({ connections: 2, readReserve: 0, queueTimeoutMs: 60_000 });
    const first = await a.admit(O, 'upload');
    await a.admit(O, 'upload');
    const order: string[] = [];
    const noting = (kind: string) => (release: () => void) => {
      order.push(kind);
      return release;
    };
    const upload = a.admit(O, 'upload').then(noting('upload'));
    const read = a.admit(O, 'read').then(noting('read'));
    first();
    (await read)();
    (await upload)();
    assert.deepEqual(order, ['read', 'upload']);
  });

  test('a wait is bounded: past queue_timeout the request is refused (503 SlowDown upstream)', async () => {
    const a = new UpstreamAdmission({ connections: 1, readReserve: 0, queueTimeoutMs: 50 });
    await a.admit(O, 'read');
    const t0 = Date.now();
    await assert.rejects(a.admit(O, 'read'), UpstreamBusyError);
    assert.ok(Date.now() - t0 >= 45);
    assert.equal(a.refused, 1);
    assert.equal(a.waiting, 0);
  });

  test('a client that goes away stops waiting; other origins are not affected', async () => {
    const a = new UpstreamAdmission({ connections: 1, readReserve: 0, queueTimeoutMs: 60_000 });
    await a.admit(O, 'read');
    const gone = new EventEmitter();
    const waiting = a.admit(O, 'read', gone);
    gone.emit('abort');
    await assert.rejects(waiting, (err: Error) => err.name === 'AbortError');
    assert.equal(a.waiting, 0);
    const other = await a.admit('s3|undefined|https://s3.amazonaws.com:443', 'read');
    other();
  });
});
