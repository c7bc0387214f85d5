import { randomUUID } from 'node:crypto';
import { type DeviceResponse } from '../../src/devices/dto/device.response';
import { bearer, type GatewayInstance, request, startGatewayInstance } from './gateway-instance';
import { SocketClients } from './socket-clients';
import { type SupabaseStack, startSupabaseStack } from './supabase-stack';

export interface CreatedDevice {
  device: DeviceResponse;
  credentials: { deviceId: string; secret: string };
}

/**
 * Several gateway instances in this jest process sharing one real Redis (under a key prefix of their own,
 * so test files run in parallel) and one real PostgREST/PostgreSQL, plus the socket clients of the test.
 * Short presence timings: heartbeat interval 1 s (stale after 1.5 s, offline after 3 s), sweep every 100 ms.
 */
export interface RealtimeCluster {
  stack: SupabaseStack;
  instances: GatewayInstance[];
  sockets: SocketClients;
  createDevice(token: string, name?: string): Promise<CreatedDevice>;
  getDevice(instance: GatewayInstance, deviceId: string, token: string): Promise<DeviceResponse>;
  /** Closes every socket, every instance and the stack, each even when an earlier step failed. */
  close(): Promise<void>;
}

export async function startRealtimeCluster(
  suite: string,
  count: number,
  /** Added to (or overriding) the cluster's variables; a function when they name the stack's parts. */
  env: Record<string, string> | ((stack: SupabaseStack) => Record<string, string>) = {},
): Promise<RealtimeCluster> {
  const stack = await startSupabaseStack();
  const sockets = new SocketClients();
  const instances: GatewayInstance[] = [];
  const close = async (): Promise<void> => {
    sockets.closeAll();
    const failures: unknown[] = [];
    for (const instance of instances) await instance.close().catch((error: unknown) => failures.push(error));
    await stack.stop().catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw new AggregateError(failures, 'Closing the realtime cluster failed');
  };
  try {
    const config = {
      CACHE_BACKEND: 'redis',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: `test:${suite}:${randomUUID()}:`,
      HEARTBEAT_INTERVAL_SEC: '1',
      HEARTBEAT_PERSIST_INTERVAL_SEC: '1',
      PRESENCE_SWEEP_INTERVAL_MS: '100',
      ...(typeof env === 'function' ? env(stack) : env),
    };
    for (let index = 0; index < count; index += 1) {
      instances.push(await startGatewayInstance(stack.appConfig(config)));
    }
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  const [first] = instances;
  if (!first) throw new Error('a cluster needs at least one instance');
  return {
    stack,
    instances,
    sockets,
    close,
    async createDevice(token, name = 'pi') {
      const response = await request<CreatedDevice>(`${first.url}/v1/devices`, {
        method: 'POST',
        authorization: bearer(token),
        body: { name },
      });
      if (response.status !== 201) throw new Error(`creating a device answered ${response.status}`);
      return response.body;
    },
    async getDevice(instance, deviceId, token) {
      const response = await request<DeviceResponse>(`${instance.url}/v1/devices/${deviceId}`, {
        authorization: bearer(token),
      });
      if (response.status !== 200) throw new Error(`reading device ${deviceId} answered ${response.status}`);
      return response.body;
    },
  };
}
