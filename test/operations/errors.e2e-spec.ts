import { type InjectOptions } from 'fastify';
import { ErrorProbeModule, INTERNAL_FAILURE_MESSAGE } from '../support/error-probe.module';
import { type InProcessApp, startInProcessApp } from '../support/in-process-app';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BODY_LIMIT_BYTES = 2048;

const validBody = {
  name: 'lab router',
  hardware: { model: 'RB5009' },
  interfaces: [{ mac: '00:11:22:33:44:55' }],
};

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId?: string;
  errors?: { field: string; message: string }[];
}

describe('error responses (problem+json)', () => {
  let gateway: InProcessApp;

  beforeAll(async () => {
    gateway = await startInProcessApp({
      env: { BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES), LOG_LEVEL: 'silent' },
      extraModules: [ErrorProbeModule],
    });
  });

  afterAll(async () => {
    // Undefined when beforeAll failed; that failure is the one worth reading.
    await (gateway as InProcessApp | undefined)?.close();
  });

  async function send(options: InjectOptions) {
    const response = await gateway.app.inject(options);
    return { response, problem: response.json<ProblemBody>() };
  }

  function postJson(payload: string, headers: Record<string, string> = {}) {
    return send({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'application/json', ...headers },
      payload,
    });
  }

  function expectProblem(
    response: { statusCode: number; headers: Record<string, unknown> },
    status: number,
  ): void {
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  }

  it('accepts a valid body, so the refusals below are about the body and not the route', async () => {
    const response = await gateway.app.inject({ method: 'POST', url: '/test/echo', payload: validBody });

    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(validBody);
  });

  it('answers an unknown route with 404 not_found as problem+json', async () => {
    const { response, problem } = await send({ method: 'GET', url: '/v1/nothing-here?x=1' });

    expectProblem(response, 404);
    expect(problem).toMatchObject({
      type: 'urn:netdiag:problem:not_found',
      status: 404,
      code: 'not_found',
      title: 'Not found',
    });
    expect(problem.detail).toContain('/v1/nothing-here');
  });

  it('lists every invalid field, nested ones by their path', async () => {
    const { response, problem } = await postJson(
      JSON.stringify({
        name: '',
        hardware: { model: 42 },
        interfaces: [{ mac: '00:11:22:33:44:55' }, { mac: 7 }],
      }),
    );

    expectProblem(response, 400);
    expect(problem.code).toBe('validation_failed');
    const fields = problem.errors?.map((error) => error.field);
    expect(fields).toEqual(expect.arrayContaining(['name', 'hardware.model', 'interfaces.1.mac']));
    for (const error of problem.errors ?? []) expect(error.message).not.toBe('');
  });

  it('refuses an unknown body field, naming it, instead of dropping it', async () => {
    const { response, problem } = await postJson(JSON.stringify({ ...validBody, isAdmin: true }));

    expectProblem(response, 400);
    expect(problem.errors?.map((error) => error.field)).toEqual(['isAdmin']);
    expect(problem.errors?.[0]?.message).toContain('isAdmin');
  });

  it('refuses an unknown field inside a nested object, naming its path', async () => {
    const { response, problem } = await postJson(
      JSON.stringify({ ...validBody, hardware: { model: 'RB5009', colour: 'red' } }),
    );

    expectProblem(response, 400);
    expect(problem.errors?.map((error) => error.field)).toEqual(['hardware.colour']);
  });

  it('answers malformed JSON with 400 problem+json', async () => {
    const { response, problem } = await postJson('{"name": "lab router",');

    expectProblem(response, 400);
    expect(problem.code).toBe('malformed_request');
  });

  it.each([
    ['an array', JSON.stringify([validBody])],
    ['a string', JSON.stringify('lab router')],
    ['a number', '42'],
    ['null', 'null'],
  ])('answers %s where an object is expected with 400, not 500', async (_, payload) => {
    const { response, problem } = await postJson(payload);

    expectProblem(response, 400);
    expect(['validation_failed', 'malformed_request']).toContain(problem.code);
  });

  it('answers a plain-text body where JSON is expected with 415, not 500', async () => {
    const { response } = await send({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'text/plain' },
      payload: 'name=lab router',
    });

    expectProblem(response, 415);
  });

  it('answers a body over BODY_LIMIT_BYTES with 413 problem+json', async () => {
    const body = { ...validBody, name: 'x'.repeat(BODY_LIMIT_BYTES) };

    const { response, problem } = await postJson(JSON.stringify(body));

    expectProblem(response, 413);
    expect(problem.code).toBe('payload_too_large');
  });

  it('answers a content type it cannot read with 415 problem+json', async () => {
    const { response, problem } = await send({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'application/xml' },
      payload: '<device><name>lab router</name></device>',
    });

    expectProblem(response, 415);
    expect(problem.code).toBe('unsupported_media_type');
  });

  it('answers an unexpected error with a 500 that does not reveal it', async () => {
    const { response, problem } = await send({ method: 'GET', url: '/test/boom' });

    expectProblem(response, 500);
    expect(problem.code).toBe('internal_error');
    expect(response.body).not.toContain('db-internal-7');
    expect(response.body).not.toContain(INTERNAL_FAILURE_MESSAGE);
    expect(response.body).not.toMatch(/at .*\.ts:\d+/);
  });

  describe('x-request-id', () => {
    it('is generated when the caller sent none, and the problem body carries the same id', async () => {
      const { response, problem } = await send({ method: 'GET', url: '/v1/nothing-here' });

      const id = response.headers['x-request-id'];
      expect(id).toMatch(UUID);
      expect(problem.requestId).toBe(id);
    });

    it('differs between two requests', async () => {
      const first = await gateway.app.inject({ method: 'GET', url: '/health/live' });
      const second = await gateway.app.inject({ method: 'GET', url: '/health/live' });

      expect(first.headers['x-request-id']).not.toBe(second.headers['x-request-id']);
    });

    it('is echoed when the caller sent one, on success and on error', async () => {
      const ok = await gateway.app.inject({
        method: 'GET',
        url: '/health/live',
        headers: { 'x-request-id': 'portal-7f3a.retry-2' },
      });
      const { response, problem } = await send({
        method: 'GET',
        url: '/v1/nothing-here',
        headers: { 'x-request-id': 'portal-7f3a.retry-3' },
      });

      expect(ok.headers['x-request-id']).toBe('portal-7f3a.retry-2');
      expect(response.headers['x-request-id']).toBe('portal-7f3a.retry-3');
      expect(problem.requestId).toBe('portal-7f3a.retry-3');
    });

    it.each([
      ['500 characters long', 'a'.repeat(500)],
      ['carrying a line break', 'abc\n{"level":"fatal","msg":"forged"}'],
    ])('is replaced when the one sent is %s', async (_, hostile) => {
      const response = await gateway.app.inject({
        method: 'GET',
        url: '/health/live',
        headers: { 'x-request-id': hostile },
      });

      expect(response.statusCode).toBe(200);
      expect(response.headers['x-request-id']).toMatch(UUID);
    });
  });
});
