// The least a Node.js forwarding proxy can do: undici upstream, streamed body, no parsing, no checks.
// The benchmark runs it beside Kura to show what Kura's own work costs on top of a Node proxy hop.
//
//   node dist/bench/bare-proxy.js ORIGIN_URL   prints the port it listens on

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, type Dispatcher } from 'undici';

const origin = process.argv[2] as string;
const agent = new Agent({ keepAliveTimeout: 4_000 });
const server = createServer(async (req, res) => {
  try {
    const up = await agent.request({
      origin,
      path: req.url as string,
      method: req.method as Dispatcher.HttpMethod,
      headers: req.rawHeaders,
      responseHeaders: 'raw',
    });
    res.writeHead(up.statusCode, up.headers as unknown as string[]);
    up.body.on('error', () => res.destroy());
    res.on('close', () => up.body.destroy());
    up.body.pipe(res);
  } catch {
    res.destroy();
  }
});
server.listen(0, '127.0.0.1', () => console.log((server.address() as AddressInfo).port));
process.on('SIGTERM', () => process.exit(0));
