// Raw HTTP/1.1 over a socket, for requests no well-behaved client would send.

import { connect } from 'node:net';

export interface SocketResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends `request` as is and reads until the server closes; `null` when it closed without answering. */
export async function rawExchange(
  port: number,
  request: string | Buffer,
  timeoutMs = 10_000,
): Promise<SocketResponse | null> {
  return parseResponse(await rawConversation(port, request, timeoutMs));
}

/** Sends `request` as is and returns everything the server sent (latin1) until it closed the connection. */
export function rawConversation(port: number, request: string | Buffer, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got: ${Buffer.concat(chunks).toString('latin1')}`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.write(request);
  });
}

export function parseResponse(text: string): SocketResponse | null {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: Number(statusLine?.split(' ')[1]), headers, body: text.slice(end + 4) };
}

export interface ContinueExchange {
  /** The interim (1xx) statuses received before the final answer. */
  interim: number[];
  /** The final answer; null when the connection closed without one. */
  response: SocketResponse | null;
  /** Body bytes this client wrote to the socket. */
  bodyBytesSent: number;
  /** Milliseconds from sending the head to sending the body; null when the body was never sent. */
  bodySentAfterMs: number | null;
  /** The server closed the connection after its answer (within `closeWaitMs` of a whole answer). */
  closedByServer: boolean;
}

/**
 * A client as RFC 9110 §10.1.1 describes it: sends `head` (which must carry `Expect: 100-continue`),
 * then its body only on `100 Continue`, or after `waitMs` with no answer; a final answer that comes
 * first means the body is never sent. Reads until the server closes, or until `closeWaitMs` after an
 * answer whose Content-Length has arrived whole.
 */
export function expectContinue(
  port: number,
  head: string,
  body: Buffer,
  waitMs: number,
  closeWaitMs = 1_000,
  timeoutMs = 20_000,
): Promise<ContinueExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const started = performance.now();
    const result: ContinueExchange = {
      interim: [],
      response: null,
      bodyBytesSent: 0,
      bodySentAfterMs: null,
      closedByServer: false,
    };
    let pending = Buffer.alloc(0);
    let finalSeen = false;
    let linger: NodeJS.Timeout | undefined;
    const sendBody = () => {
      if (result.bodySentAfterMs !== null || finalSeen) return;
      clearTimeout(wait);
      result.bodySentAfterMs = performance.now() - started;
      result.bodyBytesSent = body.length;
      socket.write(body);
    };
    const wait = setTimeout(sendBody, waitMs);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms; got: ${pending.toString('latin1')}`));
    }, timeoutMs);
    let done = false;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(wait);
      clearTimeout(timer);
      clearTimeout(linger);
      result.closedByServer = closedByServer;
      result.response = parseResponse(pending.toString('latin1'));
      resolve(result);
    };
    socket.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      while (!finalSeen) {
        const text = pending.toString('latin1');
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) return;
        const status = Number(text.slice(0, end).split(' ')[1]);
        if (status >= 200) {
          finalSeen = true;
          clearTimeout(wait);
          break;
        }
        result.interim.push(status);
        pending = pending.subarray(end + 4);
        if (status === 100) sendBody();
      }
      const answer = parseResponse(pending.toString('latin1'));
      const length = Number(answer?.headers['content-length'] ?? Number.NaN);
      if (linger === undefined && answer && Buffer.byteLength(answer.body, 'latin1') >= length) {
        linger = setTimeout(() => {
          socket.destroy();
          finish(false);
        }, closeWaitMs);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => finish(true));
    socket.write(head);
  });
}
