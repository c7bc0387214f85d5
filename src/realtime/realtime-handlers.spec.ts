import 'reflect-metadata';
import { IsString } from 'class-validator';
import { anyValue } from '../common/docs/typed-schema';
import { NamespaceHandlers } from './realtime-handlers';

class PingDto {
  @IsString()
  text!: string;
}

describe('NamespaceHandlers', () => {
  it('validates with the payload DTO it was given and hands the connection to the handler', async () => {
    const handlers = new NamespaceHandlers<{ id: string }>('/test');
    handlers.handle({
      event: 'ping',
      summary: 'A test event',
      payload: PingDto,
      ack: anyValue(),
      handle: (payload, connection) => Promise.resolve({ payload, connection }),
    });

    const registered = handlers.events().get('ping');
    expect(registered?.validator.check({ text: 'hi' })).toEqual({ value: { text: 'hi' } });
    expect(registered?.validator.check({ text: 1 })).toHaveProperty('errors');
    await expect(registered?.handle({ text: 'hi' }, { id: 'c1' })).resolves.toEqual({
      payload: { text: 'hi' },
      connection: { id: 'c1' },
    });
  });

  it('refuses a second handler for one event at start-up', () => {
    const handlers = new NamespaceHandlers('/test');
    const ping = {
      event: 'ping',
      summary: 'A test event',
      payload: PingDto,
      ack: anyValue(),
      handle: () => Promise.resolve(null),
    };
    handlers.handle(ping);

    expect(() => {
      handlers.handle(ping);
    }).toThrow('/test already handles "ping"');
  });

  it('tells each listener of every connection and its end, until it unsubscribes', () => {
    const handlers = new NamespaceHandlers<string>('/test');
    const heard: string[] = [];
    const stop = handlers.onConnected((connection) => heard.push(`connected ${connection}`));
    handlers.onDisconnected((connection) => heard.push(`disconnected ${connection}`));

    handlers.announceConnected('a');
    handlers.announceDisconnected('a');
    stop();
    handlers.announceConnected('b');

    expect(heard).toEqual(['connected a', 'disconnected a']);
  });
});
