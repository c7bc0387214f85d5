import { Module } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { GATEWAY_METADATA, MESSAGE_MAPPING_METADATA, MESSAGE_METADATA } from '@nestjs/websockets/constants';
import { io, type Socket } from 'socket.io-client';
import { Public } from '../../src/auth/auth.decorators';
import { type InProcessApp, startInProcessApp } from '../support/in-process-app';
import { ask, connected } from '../support/socket-clients';

/** A gateway written the usual Nest way, as a future one might be, even declared @Public(). */
@WebSocketGateway({ namespace: '/probe' })
class SubscribeMessageProbeGateway {
  handled = 0;

  @Public()
  @SubscribeMessage('probe')
  probe(): { handled: number } {
    this.handled += 1;
    return { handled: this.handled };
  }
}

@Module({ providers: [SubscribeMessageProbeGateway] })
class SubscribeMessageProbeModule {}

/** Every @SubscribeMessage handler of every gateway of the app, as `Class.method (message)`. */
function subscribeMessageHandlers(gateway: InProcessApp): string[] {
  return [...gateway.app.get(ModulesContainer).values()]
    .flatMap((module) => [...module.providers.values()])
    .flatMap((wrapper) => {
      const type = wrapper.metatype as (new (...args: never[]) => object) | null;
      if (typeof type !== 'function' || Reflect.getMetadata(GATEWAY_METADATA, type) !== true) return [];
      const prototype = type.prototype as Record<string, unknown>;
      return Object.getOwnPropertyNames(prototype).flatMap((name) => {
        const handler = prototype[name];
        if (
          typeof handler !== 'function' ||
          Reflect.getMetadata(MESSAGE_MAPPING_METADATA, handler) !== true
        ) {
          return [];
        }
        return [`${type.name}.${name} (${String(Reflect.getMetadata(MESSAGE_METADATA, handler))})`];
      });
    });
}

async function listeningUrl(gateway: InProcessApp): Promise<string> {
  await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  const address = gateway.app.getHttpServer().address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return `http://127.0.0.1:${address.port}`;
}

/**
 * Nest runs no global guard on gateway handlers (its socket module builds their guards without the app's
 * global ones), so the global guard cannot protect a @SubscribeMessage handler: the gateways register
 * their events through RealtimeHandlers after the handshake authenticated the socket, and this walk fails on
 * any gateway that declares one.
 */
describe('socket gateway handlers', () => {
  const apps: InProcessApp[] = [];
  const clients: Socket[] = [];

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await Promise.all(apps.map((app) => app.close()));
  });

  it('no gateway of the app declares a @SubscribeMessage handler', async () => {
    const gateway = await startInProcessApp({ env: { LOG_LEVEL: 'silent' } });
    apps.push(gateway);

    expect(subscribeMessageHandlers(gateway)).toEqual([]);
  });

  it('the walk finds a @SubscribeMessage handler, which Nest would run without the global guard', async () => {
    const gateway = await startInProcessApp({
      env: { LOG_LEVEL: 'silent' },
      extraModules: [SubscribeMessageProbeModule],
    });
    apps.push(gateway);

    expect(subscribeMessageHandlers(gateway)).toEqual(['SubscribeMessageProbeGateway.probe (probe)']);

    const client = io(`${await listeningUrl(gateway)}/probe`, {
      path: '/socket.io',
      transports: ['websocket'],
      reconnection: false,
    });
    clients.push(client);
    await connected(client);
    expect(await ask(client, 'probe', {})).toEqual({ handled: 1 });
  });
});
