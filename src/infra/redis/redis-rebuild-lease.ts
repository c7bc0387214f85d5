import { type Redis } from 'ioredis';
import { DependencyUnavailableError } from '../../common/errors/common.errors';
import { redisCall } from './redis-client.provider';

/**
 * Whether state kept in the cache is still whole. `intact` carries the generation of the rebuild that
 * last filled it, so an instance notices a loss even when another instance already rebuilt it; `claimed`
 * means the state was lost and the caller now rebuilds it; `busy` that another instance is rebuilding it.
 */
export type RebuildState = { state: 'intact'; generation: string } | { state: 'claimed' } | { state: 'busy' };

// KEYS[1]: the marker of the last complete rebuild (its generation); KEYS[2]: the rebuilder's lease.
const CHECK = `
local generation = redis.call('GET', KEYS[1])
if generation then return {'intact', generation} end
if redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return {'claimed', ''} end
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  return {'claimed', ''}
end
return {'busy', ''}
`;

const EXTEND = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`;

const COMPLETE = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
return 1
`;

interface LeaseCommands {
  rebuildLeaseCheck(...args: string[]): Promise<[string, string]>;
  rebuildLeaseExtend(...args: string[]): Promise<number>;
  rebuildLeaseComplete(...args: string[]): Promise<number>;
}

/**
 * Detects that the cache lost some state (Redis restarted empty, flushed, or evicted it) and lets one
 * instance at a time rebuild it: a marker key says the state is whole, and whoever finds it missing first
 * takes a lease on the rebuilding. Every step is one atomic script.
 */
export class RedisRebuildLease {
  private readonly commands: LeaseCommands;

  constructor(
    private readonly redis: Redis,
    private readonly markerKey: string,
    private readonly leaseKey: string,
  ) {
    // One definition per client serves every lease on it; defining again replaces it with the same.
    redis.defineCommand('rebuildLeaseCheck', { numberOfKeys: 2, lua: CHECK });
    redis.defineCommand('rebuildLeaseExtend', { numberOfKeys: 2, lua: EXTEND });
    redis.defineCommand('rebuildLeaseComplete', { numberOfKeys: 2, lua: COMPLETE });
    this.commands = redis as unknown as LeaseCommands;
  }

  /** Whether the state is whole; when it is not, the first caller claims the rebuilding for `leaseMs`. */
  async check(owner: string, leaseMs: number): Promise<RebuildState> {
    const [state, generation] = await redisCall(
      () => this.commands.rebuildLeaseCheck(this.markerKey, this.leaseKey, owner, String(leaseMs)),
      this.redis,
      'script',
    );
    switch (state) {
      case 'intact':
        return { state, generation };
      case 'claimed':
      case 'busy':
        return { state };
      default:
        throw new DependencyUnavailableError('cache', new Error(`unexpected rebuild state ${state}`));
    }
  }

  /** Extends the claimant's lease; false when it no longer holds it. */
  async extend(owner: string, leaseMs: number): Promise<boolean> {
    const extended = await redisCall(
      () => this.commands.rebuildLeaseExtend(this.markerKey, this.leaseKey, owner, String(leaseMs)),
      this.redis,
      'script',
    );
    return extended === 1;
  }

  /** Marks the state whole under `generation`; false, changing nothing, when `owner` lost the lease. */
  async complete(owner: string, generation: string): Promise<boolean> {
    const completed = await redisCall(
      () => this.commands.rebuildLeaseComplete(this.markerKey, this.leaseKey, owner, generation),
      this.redis,
      'script',
    );
    return completed === 1;
  }
}
