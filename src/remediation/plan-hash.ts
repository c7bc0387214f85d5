import { createHash } from 'node:crypto';
import { canonicalJson } from '../common/canonical-json';

/** What the hash covers of each step, and nothing else: the content the customer approves. */
export interface HashedStep {
  type: string;
  params: Record<string, unknown>;
  description: string;
}

/** `planHash` (README.md#the-plan-hash): SHA-256, hex, of the canonical JSON of the steps' type, params and description. */
export function planHash(steps: readonly HashedStep[]): string {
  const content = steps.map(({ type, params, description }) => ({ type, params, description }));
  return createHash('sha256').update(canonicalJson(content), 'utf8').digest('hex');
}
