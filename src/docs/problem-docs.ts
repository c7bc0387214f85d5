import { described, named } from '../common/docs/typed-schema';
import { type Problem, problemType } from '../common/errors/problem';
import { type ProblemSpec } from '../common/errors/problem-catalog';
import { ERROR_CATALOG } from '../error-catalog';

const SPECS = new Map<string, ProblemSpec>(Object.entries(ERROR_CATALOG));
const CODES = [...SPECS.keys()].sort();
const specOf = (code: string): ProblemSpec => SPECS.get(code) ?? { status: 500, title: code };

/** The problem+json object (RFC 9457) with every code the gateway can answer (PROBLEM_SCHEMA names it). */
export const PROBLEM_DEFINITION = named(
  'Problem',
  described<Problem>({
    type: 'object',
    description:
      'An error (RFC 9457). `code` is the machine-readable reason; a problem may carry extension members ' +
      '(`retryAfterSec` on 503 and 429, the open session on a conflicting session, ...).',
    properties: {
      type: { type: 'string', description: '`urn:netdiag:problem:<code>`' },
      title: { type: 'string' },
      status: { type: 'integer', minimum: 400, maximum: 599 },
      detail: { type: 'string' },
      code: { type: 'string', enum: CODES },
      instance: { type: 'string' },
      requestId: { type: 'string', description: 'The `x-request-id` of the request' },
      errors: {
        type: 'array',
        description: 'For `validation_failed`: each field that failed, named from the body (`params.host`)',
        items: {
          type: 'object',
          properties: { field: { type: 'string' }, message: { type: 'string' } },
          required: ['field', 'message'],
          additionalProperties: false,
        },
      },
    },
    required: ['type', 'title', 'status', 'detail', 'code'],
    additionalProperties: true,
  }),
);

/** An example problem of each code answered with this status. */
export function problemExamples(status: number): Record<string, { value: Problem }> {
  return Object.fromEntries(
    CODES.filter((code) => specOf(code).status === status).map((code) => {
      const { title } = specOf(code);
      const value: Problem = {
        type: problemType(code),
        title,
        status,
        detail:
          code === 'validation_failed' ? 'name: name must be shorter than or equal to 100 characters' : title,
        code,
        instance: '/v1/devices',
        requestId: '7f0d3c1e-2b4a-4f7e-9c1d-5a6b7c8d9e0f',
        ...(code === 'validation_failed'
          ? { errors: [{ field: 'name', message: 'name must be shorter than or equal to 100 characters' }] }
          : {}),
      };
      return [code, { value }];
    }),
  );
}
