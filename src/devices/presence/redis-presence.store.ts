import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { DependencyUnavailableError } from '../../common/errors/common.errors';
import { type PresenceState } from '../device';
import {
  connectionEpochFloor,
  type ConnectOutcome,
  type DisconnectOutcome,
  type HotPresence,
  type PresenceSeed,
  type SignInput,
  type SignOutcome,
  type StoreRecovery,
} from './presence';
import { PresenceStore } from './presence.store';
import { InjectRedis, redisCall } from '../../infra/redis/redis-client.provider';
import { RedisRebuildLease } from '../../infra/redis/redis-rebuild-lease';

const DEADLINES_KEY = 'presence:deadlines';
/**
 * Written (with the recovery's generation) once the store has been filled from the database, and never
 * expiring: it vanishes exactly when the store loses its data (a restart without persistence, FLUSHALL,
 * FLUSHDB, keys deleted by prefix), so its absence is how every instance tells. Read by every sweep, so
 * an LRU eviction policy finds it recently used; should it be evicted anyway, the cost is one needless
 * recovery, never a wrong state.
 */
const SEEDED_KEY = 'presence:seeded';
/** Held, with an expiry, by the one instance rebuilding the store, so the others do not repeat it. */
const SEEDING_KEY = 'presence:seeding';
/** Hot state of a device that stays silent this long is dropped; the database keeps its last state. */
const STATE_TTL_MS = 7 * 24 * 3600 * 1000;
const STATE_TTL_TEXT = String(STATE_TTL_MS);

const stateKey = (deviceId: string): string => `presence:${deviceId}`;
/** Queued commands by device id, as the delivery engine counts them; lost with the store, then recounted. */
const PENDING_KEY = 'presence:pending-commands';

/**
 * One round trip per sign. Times travel as strings and are stored as given: a Lua number would be
 * formatted with 14 significant digits, and comparisons rely on the exact text.
 */
const APPLY_SIGN = `
local key, deadlines, pending = KEYS[1], KEYS[2], KEYS[3]
local id, now, epoch, heartbeat = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local staleAfter, persistInterval, ttl = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local current = redis.call('HMGET', key, 'state', 'epoch', 'persistedAt', 'lastSeenAt')
local previous = current[1] or 'unknown'
if epoch ~= '' and tonumber(epoch) < tonumber(current[2] or '0') then
  return {0, previous, 0, 0}
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
return {1, previous, persist, tonumber(redis.call('HGET', pending, id) or '0')}
`;

/**
 * A new connection: the next epoch, and a sign (the same steps as APPLY_SIGN without a payload). The
 * epoch is the stored one + 1 or the caller's floor, whichever is larger (see connectionEpochFloor);
 * HINCRBY and the floor's own text keep it exact where a Lua number would be reformatted.
 */
const CONNECT = `
local key, deadlines = KEYS[1], KEYS[2]
local id, now, staleAfter, ttl, floor = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local current = redis.call('HMGET', key, 'state', 'lastSeenAt', 'epoch')
local previous = current[1] or 'unknown'
local epoch
if tonumber(current[3] or '0') >= tonumber(floor) then
  epoch = redis.call('HINCRBY', key, 'epoch', 1)
else
  redis.call('HSET', key, 'epoch', floor)
  epoch = tonumber(floor)
end
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

/** Hot state for a device the store does not know, from what the database recorded. */
const SEED = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'lastSeenAt', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return 1
`;

interface PresenceCommands {
  presenceApplySign(...args: string[]): Promise<[number, string, number, number]>;
  presenceConnect(...args: string[]): Promise<[number, string]>;
  presenceDisconnect(...args: string[]): Promise<[number, string, string]>;
  presenceTransition(...args: string[]): Promise<number>;
  presenceSeed(...args: string[]): Promise<number>;
}

/** The pipeline form of the seed script (ioredis adds defined commands to pipelines too). */
interface SeedPipeline {
  presenceSeed(...args: string[]): unknown;
}

@Injectable()
export class RedisPresenceStore extends PresenceStore {
  private readonly commands: PresenceCommands;
  private readonly rebuild: RedisRebuildLease;

  constructor(@InjectRedis() private readonly redis: Redis) {
    super();
    redis.defineCommand('presenceApplySign', { numberOfKeys: 3, lua: APPLY_SIGN });
    redis.defineCommand('presenceTransition', { numberOfKeys: 2, lua: TRANSITION });
    redis.defineCommand('presenceConnect', { numberOfKeys: 2, lua: CONNECT });
    redis.defineCommand('presenceDisconnect', { numberOfKeys: 2, lua: DISCONNECT });
    redis.defineCommand('presenceSeed', { numberOfKeys: 2, lua: SEED });
    this.commands = redis as unknown as PresenceCommands;
    this.rebuild = new RedisRebuildLease(redis, SEEDED_KEY, SEEDING_KEY);
  }

  async applySign(sign: SignInput, staleAfterMs: number): Promise<SignOutcome> {
    const [applied, previous, persist, pending] = await redisCall(
      () =>
        this.commands.presenceApplySign(
          stateKey(sign.deviceId),
          DEADLINES_KEY,
          PENDING_KEY,
          sign.deviceId,
          String(sign.at),
          sign.epoch === undefined ? '' : String(sign.epoch),
          sign.heartbeat ?? '',
          String(staleAfterMs),
          String(sign.persistIntervalMs),
          STATE_TTL_TEXT,
        ),
      this.redis,
      'script',
    );
    return {
      applied: applied === 1,
      previousState: previous as PresenceState,
      persistDue: persist === 1,
      pendingCommands: pending,
    };
  }

  async connect(deviceId: string, at: number, staleAfterMs: number): Promise<ConnectOutcome> {
    const [epoch, previous] = await redisCall(
      () =>
        this.commands.presenceConnect(
          stateKey(deviceId),
          DEADLINES_KEY,
          deviceId,
          String(at),
          String(staleAfterMs),
          STATE_TTL_TEXT,
          String(connectionEpochFloor(at)),
        ),
      this.redis,
      'script',
    );
    return { epoch, previousState: previous as PresenceState };
  }

  async disconnect(deviceId: string, epoch: number): Promise<DisconnectOutcome> {
    const [applied, previous, lastSeenAt] = await redisCall(
      () => this.commands.presenceDisconnect(stateKey(deviceId), DEADLINES_KEY, deviceId, String(epoch)),
      this.redis,
      'script',
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
    const results = await redisCall(() => pipeline.exec(), this.redis, 'pipeline');
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
    return redisCall(
      () => this.redis.zrangebyscore(DEADLINES_KEY, '-inf', now, 'LIMIT', 0, limit),
      this.redis,
      'command',
    );
  }

  async transition(
    deviceId: string,
    from: { state: PresenceState; lastSeenAt: number },
    to: PresenceState,
    deadline: number | null,
  ): Promise<boolean> {
    const made = await redisCall(
      () =>
        this.commands.presenceTransition(
          stateKey(deviceId),
          DEADLINES_KEY,
          deviceId,
          from.state,
          String(from.lastSeenAt),
          to,
          deadline === null ? '' : String(deadline),
        ),
      this.redis,
      'script',
    );
    return made === 1;
  }

  async forget(deviceId: string): Promise<void> {
    await redisCall(
      () =>
        this.redis
          .multi()
          .del(stateKey(deviceId))
          .zrem(DEADLINES_KEY, deviceId)
          .hdel(PENDING_KEY, deviceId)
          .exec(),
      this.redis,
      'pipeline',
    );
  }

  async setPendingCommands(deviceId: string, count: number): Promise<void> {
    await redisCall(
      () =>
        count > 0 ? this.redis.hset(PENDING_KEY, deviceId, count) : this.redis.hdel(PENDING_KEY, deviceId),
      this.redis,
      'command',
    );
  }

  async seed(seeds: readonly PresenceSeed[]): Promise<string[]> {
    if (seeds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const { deviceId, state, lastSeenAt, deadline } of seeds) {
      (pipeline as unknown as SeedPipeline).presenceSeed(
        stateKey(deviceId),
        DEADLINES_KEY,
        deviceId,
        state,
        String(lastSeenAt),
        String(deadline),
        STATE_TTL_TEXT,
      );
    }
    const results = await redisCall(() => pipeline.exec(), this.redis, 'pipeline');
    return (results ?? []).flatMap(([error, seeded], index) => {
      if (error) throw new DependencyUnavailableError('cache', error);
      const deviceId = seeds[index]?.deviceId;
      return seeded === 1 && deviceId !== undefined ? [deviceId] : [];
    });
  }

  checkRecovery(owner: string, leaseMs: number): Promise<StoreRecovery> {
    return this.rebuild.check(owner, leaseMs);
  }

  extendRecovery(owner: string, leaseMs: number): Promise<boolean> {
    return this.rebuild.extend(owner, leaseMs);
  }

  completeRecovery(owner: string, generation: string): Promise<boolean> {
    return this.rebuild.complete(owner, generation);
  }
}
