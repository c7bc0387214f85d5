import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app.factory';
import { type AppConfig } from '../../src/config/app-config';
import { PresenceEvents, type PresenceTransition } from '../../src/devices/presence/presence-events';
import { CapturedLogs } from './captured-logs';

/** One gateway listening on a real port, with its logs and the presence transitions it made. */
export interface GatewayInstance {
  url: string;
  app: NestFastifyApplication;
  logs: CapturedLogs;
  transitions: PresenceTransition[];
  close(): Promise<void>;
}

export async function startGatewayInstance(config: AppConfig): Promise<GatewayInstance> {
  const logs = new CapturedLogs();
  const app = await createApp({ config, logDestination: logs });
  const transitions: PresenceTransition[] = [];
  app.get(PresenceEvents).subscribe((transition) => transitions.push(transition));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return { url: `http://127.0.0.1:${address.port}`, app, logs, transitions, close: () => app.close() };
}

export interface JsonResponse<T = unknown> {
  status: number;
  body: T;
  contentType: string | null;
  headers: Headers;
}

/** A real HTTP request over TCP, JSON in and out. */
export async function request<T = Record<string, unknown>>(
  url: string,
  init: { method?: string; authorization?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<JsonResponse<T>> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: {
      ...init.headers,
      ...(init.authorization === undefined ? {} : { authorization: init.authorization }),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: (text === '' ? null : JSON.parse(text)) as T,
    contentType: response.headers.get('content-type'),
    headers: response.headers,
  };
}

export const bearer = (token: string): string => `Bearer ${token}`;
export const basic = (id: string, secret: string): string =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
