import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { DependencyUnavailableError } from '../../common/errors/common.errors';
import { type PresenceState } from '../../devices/device';
import {
  type ConnectOutcome,
  type DisconnectOutcome,
  type HotPresence,
  type SignInput,
  type SignOutcome,
} from '../../presence/presence';
import { PresenceStore } from '../../presence/presence.store';
import { InjectRedis, redisCall } from './redis-client.provider';

const DEADLINES_KEY = 'presence:deadlines';
/** Hot state of a device that stays silent this long is dropped; the database keeps its last state. */
const STATE_TTL_MS = 7 * 24 * 3600 * 1000;

const stateKey = (deviceId: string): string => `presence:${deviceId}`;

/**
 * One round trip per sign. Times travel as strings and are stored as given: a Lua number would be
 * formatted with 14 significant digits, and comparisons rely on the exact text.
 */
const APPLY_SIGN = `
local key, deadlines = KEYS[1], KEYS[2]
local id, now, epoch, heartbeat = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local staleAfter, persistInterval, ttl = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local current = redis.call('HMGET', key, 'state', 'epoch', 'persistedAt', 'lastSeenAt')
local previous = current[1] or 'unknown'
if epoch ~= '' and tonumber(epoch) < tonumber(current[2] or '0') then
  return {0, previous, 0}
end
if current[4] and tonumber(current[4]) > tonumber(now) then now = current[4] end
redis.call('HSET', key, 'state', 'online', 'lastSeenAt', now)
if epoch ~= '' then redis.call('HSET', key, 'epoch', epoch) end
local persist = 0
if heartbeat ~= '' then
  redis.call('HSET', key, 'heartbeat', heartbeat, 'heartbeatAt', now)
  if not current[3] or tonumber(now) - tonumber(current[3]) >= persistInterval then
    redis.call('HSET', key, 'persistedAt', now)
    persist = 1
  end
end
redis.call('PEXPIRE', key, ttl)
redis.call('ZADD', deadlines, tonumber(now) + staleAfter, id)
return {1, previous, persist}
`;

/** A new connection: the next epoch, and a sign (the same steps as APPLY_SIGN without a payload). */
const CONNECT = `
local key, deadlines = KEYS[1], KEYS[2]
local id, now, staleAfter, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local current = redis.call('HMGET', key, 'state', 'lastSeenAt')
local previous = current[1] or 'unknown'
local epoch = redis.call('HINCRBY', key, 'epoch', 1)
if current[2] and tonumber(current[2]) > tonumber(now) then now = current[2] end
redis.call('HSET', key, 'state', 'online', 'lastSeenAt', now)
redis.call('PEXPIRE', key, ttl)
redis.call('ZADD', deadlines, tonumber(now) + staleAfter, id)
return {epoch, previous}
`;

/** The connection of an epoch closed: offline, unless a newer epoch took over. */
const DISCONNECT = `
local current = redis.call('HMGET', KEYS[1], 'state', 'epoch', 'lastSeenAt')
if not current[1] then return {0, 'unknown', ''} end
if current[2] ~= ARGV[2] or current[1] == 'offline' then return {0, current[1], current[3]} end
redis.call('HSET', KEYS[1], 'state', 'offline')
redis.call('ZREM', KEYS[2], ARGV[1])
return {1, current[1], current[3]}
`;

const TRANSITION = `
local current = redis.call('HMGET', KEYS[1], 'state', 'lastSeenAt')
if not current[1] then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if current[1] ~= ARGV[2] or current[2] ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[4])
if ARGV[5] == '' then redis.call('ZREM', KEYS[2], ARGV[1]) else redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1]) end
return 1
`;

interface PresenceCommands {
  presenceApplySign(...args: string[]): Promise<[number, string, number]>;
  presenceConnect(...args: string[]): Promise<[number, string]>;
  presenceDisconnect(...args: string[]): Promise<[number, string, string]>;
  presenceTransition(...args: string[]): Promise<number>;
}

@Injectable()
export class RedisPresenceStore extends PresenceStore {
  private readonly commands: PresenceCommands;

  constructor(@InjectRedis() private readonly redis: Redis) {
    super();
    redis.defineCommand('presenceApplySign', { numberOfKeys: 2, lua: APPLY_SIGN });
    redis.defineCommand('presenceTransition', { numberOfKeys: 2, lua: TRANSITION });
    redis.defineCommand('presenceConnect', { numberOfKeys: 2, lua: CONNECT });
    redis.defineCommand('presenceDisconnect', { numberOfKeys: 2, lua: DISCONNECT });
    this.commands = redis as unknown as PresenceCommands;
  }

  async applySign(sign: SignInput, staleAfterMs: number): Promise<SignOutcome> {
    const [applied, previous, persist] = await redisCall(() =>
      this.commands.presenceApplySign(
        stateKey(sign.deviceId),
        DEADLINES_KEY,
        sign.deviceId,
        String(sign.at),
        sign.epoch === undefined ? '' : String(sign.epoch),
        sign.heartbeat ?? '',
        String(staleAfterMs),
        String(sign.persistIntervalMs),
        String(STATE_TTL_MS),
      ),
    );
    return { applied: applied === 1, previousState: previous as PresenceState, persistDue: persist === 1 };
  }

  async connect(deviceId: string, at: number, staleAfterMs: number): Promise<ConnectOutcome> {
    const [epoch, previous] = await redisCall(() =>
      this.commands.presenceConnect(
        stateKey(deviceId),
        DEADLINES_KEY,
        deviceId,
        String(at),
        String(staleAfterMs),
        String(STATE_TTL_MS),
      ),
    );
    return { epoch, previousState: previous as PresenceState };
  }

  async disconnect(deviceId: string, epoch: number): Promise<DisconnectOutcome> {
    const [applied, previous, lastSeenAt] = await redisCall(() =>
      this.commands.presenceDisconnect(stateKey(deviceId), DEADLINES_KEY, deviceId, String(epoch)),
    );
    return {
      applied: applied === 1,
      previousState: previous as PresenceState,
      lastSeenAt: lastSeenAt === '' ? null : Number(lastSeenAt),
    };
  }

  async get(deviceIds: readonly string[]): Promise<(HotPresence | null)[]> {
    if (deviceIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of deviceIds)
      pipeline.hmget(stateKey(id), 'state', 'lastSeenAt', 'epoch', 'heartbeat', 'heartbeatAt');
    const results = await redisCall(() => pipeline.exec());
    return (results ?? []).map(([error, fields]) => {
      if (error) throw new DependencyUnavailableError('cache', error);
      const [state, lastSeenAt, epoch, heartbeat, heartbeatAt] = fields as (string | null)[];
      if (!state || !lastSeenAt) return null;
      return {
        state: state as PresenceState,
        lastSeenAt: Number(lastSeenAt),
        epoch: Number(epoch ?? 0),
        heartbeat: heartbeat ?? null,
        heartbeatAt: heartbeatAt ? Number(heartbeatAt) : null,
      };
    });
  }

  due(now: number, limit: number): Promise<string[]> {
    return redisCall(() => this.redis.zrangebyscore(DEADLINES_KEY, '-inf', now, 'LIMIT', 0, limit));
  }

  async transition(
    deviceId: string,
    from: { state: PresenceState; lastSeenAt: number },
    to: PresenceState,
    deadline: number | null,
  ): Promise<boolean> {
    const made = await redisCall(() =>
      this.commands.presenceTransition(
        stateKey(deviceId),
        DEADLINES_KEY,
        deviceId,
        from.state,
        String(from.lastSeenAt),
        to,
        deadline === null ? '' : String(deadline),
      ),
    );
    return made === 1;
  }

  async forget(deviceId: string): Promise<void> {
    await redisCall(() => this.redis.multi().del(stateKey(deviceId)).zrem(DEADLINES_KEY, deviceId).exec());
  }
}
