import net from 'node:net';

/**
 * A TCP proxy the chaos experiments own, between the job and PostgreSQL, that can fail the way
 * networks do:
 * - `refuse`: the listening socket closes and every open connection is reset: new connections are
 *   refused (ECONNREFUSED), as when the server is down;
 * - `blackhole`: connections are accepted but nothing flows either way and nothing is closed, as in
 *   a network partition: only timeouts notice. Bytes sent meanwhile are held, as TCP retransmits
 *   them, and delivered when the partition heals (to whichever end still listens);
 * - `pass`: back to normal.
 */
export class FaultProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private mode: 'pass' | 'blackhole' | 'refuse' = 'pass';

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }, port = 0): Promise<FaultProxy> {
    const proxy = new FaultProxy(port, target);
    await proxy.listen();
    return proxy;
  }

  get url(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Refuses connections: listener closed, every connection reset. */
  async refuse(): Promise<void> {
    this.mode = 'refuse';
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  /** Silently drops everything: connections stay open and hang. */
  blackhole(): void {
    this.mode = 'blackhole';
    for (const socket of this.sockets) socket.pause();
  }

  /** Normal service again; held bytes flow on. */
  async pass(): Promise<void> {
    const was = this.mode;
    this.mode = 'pass';
    if (was === 'refuse') await this.listen();
    for (const socket of this.sockets) socket.resume();
  }

  async close(): Promise<void> {
    await this.refuse();
  }

  private async listen(): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (typeof address === 'object' && address !== null) (this as { port: number }).port = address.port;
    this.server = server;
  }

  private accept(client: net.Socket): void {
    this.sockets.add(client);
    client.on('error', () => undefined);
    client.on('close', () => this.sockets.delete(client));
    if (this.mode !== 'pass') client.pause();
    const upstream = net.connect(this.target.port, this.target.host);
    this.sockets.add(upstream);
    if (this.mode !== 'pass') upstream.pause();
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    client.on('close', () => upstream.destroy());
    // Paused sockets (a blackhole) emit nothing: their bytes wait in the kernel's buffers.
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => client.write(chunk));
  }
}
