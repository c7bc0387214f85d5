import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { InjectRedis, redisCall } from '../../../infra/redis/redis-client.provider';
import { type ClockRecovery, type CommandClock, CommandClockStore } from './command-clock.store';
import { RedisRebuildLease } from '../../../infra/redis/redis-rebuild-lease';

/** Deadlines by command id (score: epoch ms). */
const DEADLINES_KEY = 'commands:clocks';
/** The revision each deadline was computed from, by command id. */
const REVISIONS_KEY = 'commands:clock-revisions';
/** Ids of the commands waiting in a queue. */
const QUEUED_KEY = 'commands:queued';
/**
 * Written once the clocks have been rebuilt from the database, never expiring: it vanishes exactly when
 * the store loses its data (a restart without persistence, a flush), which is how every instance tells.
 */
const REBUILT_KEY = 'commands:clocks-rebuilt';
/** Held, with an expiry, by the one instance rebuilding the clocks. */
const REBUILDING_KEY = 'commands:clocks-rebuilding';

/** Times and revisions travel as strings: a Lua number would be reformatted with 14 significant digits. */
const ARM = `
for i = 1, #ARGV, 4 do
  local id, at, revision = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local current = redis.call('HGET', KEYS[2], id)
  if not current or tonumber(current) <= revision then
    redis.call('ZADD', KEYS[1], at, id)
    redis.call('HSET', KEYS[2], id, ARGV[i + 2])
    if ARGV[i + 3] == '1' then redis.call('SADD', KEYS[3], id) else redis.call('SREM', KEYS[3], id) end
  end
end
return 1
`;

const CLEAR = `
local current = redis.call('HGET', KEYS[2], ARGV[1])
if current and tonumber(current) > tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
return 1
`;

const CLAIM_DUE = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return due
`;

interface ClockCommands {
  commandClocksArm(...args: string[]): Promise<number>;
  commandClocksClear(...args: string[]): Promise<number>;
  commandClocksClaimDue(...args: string[]): Promise<string[]>;
}

/** The command clocks in Redis, shared by every instance; each step is one atomic script. */
@Injectable()
export class RedisCommandClockStore extends CommandClockStore {
  private readonly commands: ClockCommands;
  private readonly rebuild: RedisRebuildLease;

  constructor(@InjectRedis() private readonly redis: Redis) {
    super();
    redis.defineCommand('commandClocksArm', { numberOfKeys: 3, lua: ARM });
    redis.defineCommand('commandClocksClear', { numberOfKeys: 3, lua: CLEAR });
    redis.defineCommand('commandClocksClaimDue', { numberOfKeys: 1, lua: CLAIM_DUE });
    this.commands = redis as unknown as ClockCommands;
    this.rebuild = new RedisRebuildLease(redis, REBUILT_KEY, REBUILDING_KEY);
  }

  async arm(clocks: readonly CommandClock[]): Promise<void> {
    if (clocks.length === 0) return;
    const args = clocks.flatMap(({ commandId, at, revision, queued }) => [
      commandId,
      String(at),
      String(revision),
      queued ? '1' : '0',
    ]);
    await redisCall(
      () => this.commands.commandClocksArm(DEADLINES_KEY, REVISIONS_KEY, QUEUED_KEY, ...args),
      this.redis,
      'script',
    );
  }

  countQueued(): Promise<number> {
    return redisCall(() => this.redis.scard(QUEUED_KEY), this.redis, 'command');
  }

  async clear(commandId: string, revision: number): Promise<void> {
    await redisCall(
      () =>
        this.commands.commandClocksClear(
          DEADLINES_KEY,
          REVISIONS_KEY,
          QUEUED_KEY,
          commandId,
          String(revision),
        ),
      this.redis,
      'script',
    );
  }

  claimDue(now: number, leaseMs: number, limit: number): Promise<string[]> {
    return redisCall(
      () =>
        this.commands.commandClocksClaimDue(DEADLINES_KEY, String(now), String(now + leaseMs), String(limit)),
      this.redis,
      'script',
    );
  }

  checkRecovery(owner: string, leaseMs: number): Promise<ClockRecovery> {
    return this.rebuild.check(owner, leaseMs);
  }

  completeRecovery(owner: string, generation: string): Promise<boolean> {
    return this.rebuild.complete(owner, generation);
  }
}
