// A fake webhook receiver on 127.0.0.1: answers each request with the next scripted reply for
// its path (200 "ok" by default) and records it.
import http from 'node:http';
import { AddressInfo } from 'node:net';

export type Reply = { status: number; body: string };
export type Received = { path: string; webhookId: string; body: any };

export class FakeReceiver {
  readonly received: Received[] = [];
  private scripts = new Map<string, Reply[]>();
  private server?: http.Server;
  port = 0;

  async start(): Promise<void> {
    this.server = http.createServer((request, response) => {
      let data = '';
      request.on('data', (chunk) => (data += chunk));
      request.on('end', () => {
        const path = request.url ?? '/';
        let body: any = null;
        try {
          body = JSON.parse(data);
        } catch {}
        this.received.push({ path, webhookId: String(request.headers['webhook-id'] ?? ''), body });
        const reply = this.scripts.get(path)?.shift() ?? { status: 200, body: 'ok' };
        response.writeHead(reply.status, { 'content-type': 'text/plain' });
        response.end(reply.body);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  script(path: string, ...replies: Reply[]) {
    this.scripts.set(path, [...(this.scripts.get(path) ?? []), ...replies]);
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
