/**
 * `npm run web`: builds the playground and serves `web/dist/` on http://localhost:8080 (or
 * `PORT`). A static file server and nothing else: the page sends nothing anywhere.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb, distDir } from './build.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.o': 'application/octet-stream',
  '.pcap': 'application/vnd.tcpdump.pcap',
};

/** Serve `dir` on `port` (0: any free port); resolves once listening. */
export function serve(dir: string, port: number): Promise<Server> {
  const server = createServer(async (request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(dir)) {
      response.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      // Cross-origin isolation gives the page fine-grained timers (performance.now) for the run times.
      response.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      });
      response.end(body);
    } catch {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const built = await buildWeb();
  console.log(`built web/dist (app.js ${(built.appGzipBytes / 1024).toFixed(1)} KiB gzipped)`);
  const port = Number(process.env.PORT ?? 8080);
  await serve(distDir, port);
  console.log(`tsbpf playground: http://localhost:${port}/`);
}
