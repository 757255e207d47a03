import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoInstance, freePort } from '../../scripts/chaos/instances.ts';
import { dynamoAnswers } from '../../scripts/services/dynamodb.ts';
import { uniqueName } from '../helpers/names.ts';

// The chaos rig's own services (scripts/chaos/instances.ts) start on ports that were free when
// checked; a port another process binds before the JVM does is given up for another one.

/**
 * A server that holds `port` on every interface, as a service that picks its own port would; it
 * accepts connections and never answers. The function it returns drops them and closes it.
 */
async function holdPort(port: number): Promise<() => Promise<void>> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  server.listen(port);
  await once(server, 'listening');
  return async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
}

describe('a chaos DynamoDB Local whose port is taken before it binds', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    await Promise.allSettled(cleanup.splice(0).map((step) => step()));
  });

  it('starts again on another port', async () => {
    // Prepare
    const taken = await freePort();
    cleanup.push(await holdPort(taken));
    let other = await freePort();
    while (other === taken) other = await freePort();
    const ports = [taken, other];

    // Act
    const instance = await DynamoInstance.start(
      uniqueName('chaos-port'),
      async () => ports.shift() as number,
    );
    cleanup.push(() => instance.destroy());

    // Assess
    expect(instance.endpoint).toBe(`http://127.0.0.1:${other}`);
    expect(await dynamoAnswers(instance.settings)).toBe(true);
  });

  it('gives up after three taken ports, naming its log', async () => {
    // Prepare
    const taken = await freePort();
    cleanup.push(await holdPort(taken));
    let tries = 0;

    // Act
    const starting = DynamoInstance.start(uniqueName('chaos-port'), async () => {
      tries++;
      return taken;
    });

    // Assess
    await expect(starting).rejects.toThrow(/its port was taken before it bound it; log: /);
    expect(tries).toBe(3);
  });
});
