// Starts the real `tocsin` binary on a fresh SQLite file, and restarts it on the same file and port.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const binary = process.env.TOCSIN_BIN;
const siteRoot = process.env.TOCSIN_SITE_ROOT;

export class TocsinServer {
  private child?: ChildProcess;
  private listen = '127.0.0.1:0';
  private output = '';

  private constructor(
    private readonly dataDir: string,
    private readonly extraEnv: Record<string, string>,
  ) {}

  /** The server's origin, e.g. http://127.0.0.1:41234 */
  url = '';

  /** Starts a server; `extraEnv` adds settings, e.g. `{ TOCSIN_AUTH: 'on' }`. */
  static async start(extraEnv: Record<string, string> = {}): Promise<TocsinServer> {
    if (!binary || !siteRoot) {
      throw new Error('TOCSIN_BIN and TOCSIN_SITE_ROOT must name the built server and its site folder');
    }
    const server = new TocsinServer(mkdtempSync(path.join(tmpdir(), 'tocsin-e2e-')), extraEnv);
    await server.spawn();
    return server;
  }

  get databaseUrl(): string {
    return `sqlite://${path.join(this.dataDir, 'tocsin.db')}`;
  }

  private spawn(): Promise<void> {
    const child = spawn(binary!, [], {
      env: {
        ...process.env,
        TOCSIN_LISTEN: this.listen,
        TOCSIN_DATABASE_URL: this.databaseUrl,
        TOCSIN_SITE_ROOT: siteRoot,
        // The tests' fake receivers listen on 127.0.0.1 over plain http; `localhost` stands for Slack.
        TOCSIN_ALLOW_HTTP: 'true',
        TOCSIN_ALLOW_SUBNETS: '127.0.0.0/8',
        TOCSIN_SLACK_HOSTS: 'localhost',
        TOCSIN_RETRY_SCHEDULE: '100ms,200ms,400ms',
        TOCSIN_THROTTLE_DELAY: '200ms',
        TOCSIN_SLACK_PACE: '50ms',
        TOCSIN_POLL_INTERVAL: '100ms',
        RUST_LOG: 'warn',
        ...this.extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tocsin did not start:\n${this.output}`)), 15_000);
      const onData = (chunk: Buffer) => {
        this.output += chunk.toString();
        const match = this.output.match(/Tocsin is listening on (\S+);/);
        if (match) {
          clearTimeout(timer);
          // Restarts reuse the port, so the browser's URLs stay valid.
          this.listen = match[1];
          this.url = `http://${match[1]}`;
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`tocsin exited with code ${code}:\n${this.output}`));
      });
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    this.child = undefined;
  }

  /** Adds a user with `tocsin user add`, the password piped in as an operator would. */
  addUser(name: string, password: string): void {
    const result = spawnSync(binary!, ['user', 'add', name], {
      env: { ...process.env, TOCSIN_DATABASE_URL: this.databaseUrl },
      input: `${password}\n`,
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`tocsin user add failed: ${result.stderr}`);
  }

  /** Stops the server and starts it again on the same database and port. */
  async restart(): Promise<void> {
    await this.stop();
    this.output = '';
    await this.spawn();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
