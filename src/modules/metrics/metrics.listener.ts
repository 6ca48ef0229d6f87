import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.service.js';

/** The metrics port is taken or the address is not this machine's: an operator's fix, told in one line. */
export class MetricsListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetricsListenError';
  }
}

export interface MetricsListener {
  /** Serves GET /metrics on host:port (port 0: a free one); resolves with the address it bound. */
  listen(options: { host: string; port: number }): Promise<AddressInfo>;
  /** Stops it (a no-op when it is not listening). */
  close(): Promise<void>;
}

/**
 * The operators' listener: a plain node:http server of its own, apart from the public Fastify
 * listener, so a scrape never shares its port, its hooks, its logs or its limits with the API.
 * It answers GET /metrics and 404 to everything else.
 */
export function createMetricsListener(metrics: Metrics, onError: (err: unknown) => void): MetricsListener {
  let server: Server | null = null;

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?', 1)[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found\n');
      return;
    }
    try {
      const { contentType, body } = await metrics.scrape();
      res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body);
    } catch (err) {
      onError(err);
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics collection failed\n');
    }
  }

  return {
    async listen({ host, port }) {
      if (server) throw new Error('the metrics listener is already listening');
      // A scraper sends a small GET and reads the answer at once: short limits keep a client
      // that trickles its request from holding a connection open.
      const candidate = createServer({ requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000 }, (req, res) => {
        void answer(req, res);
      });
      await new Promise<void>((resolve, reject) => {
        candidate.once('error', (err: NodeJS.ErrnoException) => {
          reject(
            new MetricsListenError(
              `the metrics listener cannot listen on ${host}:${port} (METRICS_HOST, METRICS_PORT): ${err.code ?? err.message}`,
            ),
          );
        });
        candidate.listen({ host, port }, () => {
          candidate.removeAllListeners('error');
          resolve();
        });
      });
      server = candidate;
      return candidate.address() as AddressInfo;
    },
    async close() {
      const closing = server;
      server = null;
      if (!closing) return;
      // close() waits for open connections; a scraper's idle keep-alive one is closed now.
      await new Promise<void>((resolve) => {
        closing.close(() => resolve());
        closing.closeIdleConnections();
      });
    },
  };
}
