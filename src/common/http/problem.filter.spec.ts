import {
  type ArgumentsHost,
  BadRequestException,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { commonProblems, DependencyUnavailableError, ValidationFailedError } from '../errors/common.errors';
import { DomainError } from '../errors/domain-error';
import { ProblemFilter } from './problem.filter';

/** A feature's error, as a feature declares one: the filter knows it only through the app's catalog. */
class DeviceSerialTakenError extends DomainError<'device_serial_taken'> {
  readonly code = 'device_serial_taken';

  constructor(serial: string) {
    super(`You already have a device with serial "${serial}".`);
  }
}

const catalog = {
  ...commonProblems,
  device_serial_taken: { status: 409, title: 'A device with this serial exists' },
};

interface LoggedCall {
  level: 'warn' | 'error';
  fields: unknown;
  message: string;
}

/** The parts of a Fastify request the filter reads, with a log that records what it was given. */
function fakeRequest(logged: LoggedCall[] = []): FastifyRequest {
  const record =
    (level: LoggedCall['level']) =>
    (fields: unknown, message: string): void => {
      logged.push({ level, fields, message });
    };
  return {
    url: '/v1/devices?limit=5',
    method: 'GET',
    id: 'req-1',
    log: { warn: record('warn'), error: record('error') },
  } as unknown as FastifyRequest;
}

/** An error shaped like the ones Fastify raises for bad bodies (FST_ERR_CTP_*): a message and a status. */
function fastifyError(statusCode: number, message: string): Error {
  return Object.assign(new Error(message), { statusCode });
}

/** What a reply was given by ProblemFilter.catch: status, headers and body. */
interface SentReply {
  status?: number;
  headers: Record<string, string>;
  body?: unknown;
}

function fakeHost(request: FastifyRequest, sent: SentReply): ArgumentsHost {
  const reply = {
    sent: false,
    status(code: number) {
      sent.status = code;
      return reply;
    },
    header(name: string, value: string) {
      sent.headers[name.toLowerCase()] = value;
      return reply;
    },
    send(body: unknown) {
      sent.body = body;
      return reply;
    },
  };
  return {
    switchToHttp: () => ({
      getRequest: () => request,
      getResponse: () => reply as unknown as FastifyReply,
    }),
  } as unknown as ArgumentsHost;
}

describe('ProblemFilter.toProblem', () => {
  const filter = new ProblemFilter({ catalog, dependencyRetryAfterSec: 7 });

  it('maps a domain error through the catalog, with its code, type and the request it answers', () => {
    const problem = filter.toProblem(new DeviceSerialTakenError('SN-1'), fakeRequest());

    expect(problem).toEqual({
      type: 'urn:netdiag:problem:device_serial_taken',
      title: 'A device with this serial exists',
      status: 409,
      detail: 'You already have a device with serial "SN-1".',
      code: 'device_serial_taken',
      instance: '/v1/devices?limit=5',
      requestId: 'req-1',
    });
  });

  it('lists field errors of a validation failure', () => {
    const errors = [{ field: 'hardware.model', message: 'hardware.model must be a string' }];

    const problem = filter.toProblem(new ValidationFailedError(errors), fakeRequest());

    expect(problem).toMatchObject({ status: 400, code: 'validation_failed', errors });
  });

  it('answers a dependency failure with 503 and logs its cause, not the cause in the body', () => {
    const logged: LoggedCall[] = [];
    const cause = new Error('connect ECONNREFUSED 10.0.0.7:5432');

    const problem = filter.toProblem(new DependencyUnavailableError('database', cause), fakeRequest(logged));

    expect(problem).toMatchObject({ status: 503, code: 'dependency_unavailable' });
    expect(JSON.stringify(problem)).not.toContain('ECONNREFUSED');
    expect(logged).toEqual([
      {
        level: 'warn',
        fields: { requestId: 'req-1', err: cause, dependency: 'database' },
        message: problem.detail,
      },
    ]);
  });

  it('tells when to retry an outage, in the problem and in a Retry-After header', () => {
    const sent: SentReply = { headers: {} };
    const outage = new DependencyUnavailableError('cache', new Error("Stream isn't writeable"));

    filter.catch(outage, fakeHost(fakeRequest(), sent));

    expect(sent.status).toBe(503);
    expect(sent.headers).toMatchObject({ 'retry-after': '7', 'content-type': 'application/problem+json' });
    expect(sent.body).toMatchObject({ code: 'dependency_unavailable', retryAfterSec: 7 });
    expect(JSON.stringify(sent.body)).not.toContain('writeable');
  });

  it('sends no Retry-After with other errors', () => {
    const sent: SentReply = { headers: {} };

    filter.catch(new DeviceSerialTakenError('SN-1'), fakeHost(fakeRequest(), sent));

    expect(sent.status).toBe(409);
    expect(sent.headers['retry-after']).toBeUndefined();
    expect(sent.body).not.toHaveProperty('retryAfterSec');
  });

  it('reports each outage it answers by dependency, and nothing else', () => {
    const outages: string[] = [];
    const counting = new ProblemFilter({
      catalog,
      dependencyRetryAfterSec: 1,
      onDependencyUnavailable: (dependency) => outages.push(dependency),
    });

    counting.toProblem(new DependencyUnavailableError('database', new Error('x')), fakeRequest());
    counting.toProblem(new DependencyUnavailableError('identity_provider', new Error('y')), fakeRequest());
    counting.toProblem(new DeviceSerialTakenError('SN-1'), fakeRequest());
    counting.toProblem(new Error('boom'), fakeRequest());

    expect(outages).toEqual(['database', 'identity_provider']);
  });

  it('turns Nest not-found into not_found naming the path without its query', () => {
    const problem = filter.toProblem(new NotFoundException(), fakeRequest());

    expect(problem).toMatchObject({ status: 404, code: 'not_found', detail: 'No route GET /v1/devices' });
  });

  it.each([
    [400, 'malformed_request'],
    [413, 'payload_too_large'],
    [415, 'unsupported_media_type'],
  ])('keeps the status of a Fastify client error %i as %s', (status, code) => {
    const problem = filter.toProblem(fastifyError(status, 'framework says no'), fakeRequest());

    expect(problem).toMatchObject({ status, code, detail: 'framework says no' });
  });

  it('gives an unmapped 4xx the generic malformed_request code rather than a 500', () => {
    const problem = filter.toProblem(fastifyError(418, 'teapot'), fakeRequest());

    expect(problem).toMatchObject({ status: 418, code: 'malformed_request' });
  });

  it('keeps 400s raised by Nest pipes as client errors', () => {
    const problem = filter.toProblem(
      new BadRequestException('Validation failed (numeric string is expected)'),
      fakeRequest(),
    );

    expect(problem).toMatchObject({ status: 400, code: 'malformed_request' });
  });

  it('answers 503 from Nest as service_unavailable', () => {
    const problem = filter.toProblem(new ServiceUnavailableException('draining'), fakeRequest());

    expect(problem).toMatchObject({ status: 503, code: 'service_unavailable' });
  });

  it('hides an unexpected error behind a generic 500 and logs it', () => {
    const logged: LoggedCall[] = [];
    const error = new Error('relation "secret_table" does not exist');

    const problem = filter.toProblem(error, fakeRequest(logged));

    expect(problem).toMatchObject({ status: 500, code: 'internal_error', requestId: 'req-1' });
    expect(JSON.stringify(problem)).not.toContain('secret_table');
    expect(logged).toEqual([
      { level: 'error', fields: { requestId: 'req-1', err: error }, message: 'Unhandled error' },
    ]);
  });

  it('treats a 5xx carried on a framework error as unexpected, not as a client error', () => {
    const problem = filter.toProblem(fastifyError(502, 'upstream told us things'), fakeRequest());

    expect(problem).toMatchObject({ status: 500, code: 'internal_error' });
    expect(problem.detail).not.toContain('upstream');
  });
});
