import { Logger } from '@nestjs/common';
import { ErrorProbeModule } from '../support/error-probe.module';
import { type InProcessApp, startInProcessApp } from '../support/in-process-app';

/** Values that must never reach a log line, whatever carries them. */
const BEARER_TOKEN = 'eyJhbGciOiJFUzI1NiJ9.log-test-bearer-payload.signature-4f9c';
const COOKIE = 'sb-access-token=log-test-cookie-7d2e';
const TOKEN_FIELD = 'log-test-token-field-91ab';
const SECRET_FIELD = 'log-test-secret-field-55cd';
const PASSWORD_FIELD = 'log-test-password-field-e3f0';
const ALL_CREDENTIALS = [BEARER_TOKEN, COOKIE, TOKEN_FIELD, SECRET_FIELD, PASSWORD_FIELD];

describe('logs never carry credentials', () => {
  let gateway: InProcessApp;

  beforeAll(async () => {
    gateway = await startInProcessApp({ env: { LOG_LEVEL: 'info' }, extraModules: [ErrorProbeModule] });
  });

  afterAll(async () => {
    // Undefined when beforeAll failed; that failure is the one worth reading.
    await (gateway as InProcessApp | undefined)?.close();
  });

  function expectNoCredentialIn(text: string): void {
    for (const credential of ALL_CREDENTIALS) expect(text).not.toContain(credential);
  }

  it('logs an unexpected error of a request sent with a bearer token, without the token', async () => {
    const response = await gateway.app.inject({
      method: 'GET',
      url: '/test/boom',
      headers: { authorization: `Bearer ${BEARER_TOKEN}`, 'x-request-id': 'log-test-boom' },
    });

    expect(response.statusCode).toBe(500);
    // The error must be logged at all, or the absence of the token would prove nothing.
    const errorLines = gateway.logs.lines.filter((line) => line.includes('log-test-boom'));
    expect(errorLines).toHaveLength(1);
    expect(JSON.parse(errorLines[0]!)).toMatchObject({ level: 'error', requestId: 'log-test-boom' });
    expectNoCredentialIn(gateway.logs.text);
  });

  it('blanks the authorization and cookie headers when code logs the request headers', async () => {
    await gateway.app.inject({
      method: 'GET',
      url: '/test/log-credentials',
      headers: { authorization: `Bearer ${BEARER_TOKEN}`, cookie: COOKIE, 'user-agent': 'log-test-agent' },
    });

    const entry = gateway.logs.entries().find((line) => line.msg === 'incoming headers');
    expect(entry?.headers).toMatchObject({
      authorization: '[redacted]',
      cookie: '[redacted]',
      'user-agent': 'log-test-agent',
    });
    expectNoCredentialIn(gateway.logs.text);
  });

  it('blanks token, secret and password fields logged through the Nest logger, nested or not', () => {
    new Logger('LogTest').warn({
      msg: 'nest logger with credentials',
      token: TOKEN_FIELD,
      device: { id: 'd-1', secret: SECRET_FIELD },
      login: { form: { password: PASSWORD_FIELD } },
    });

    const entry = gateway.logs.entries().find((line) => line.msg === 'nest logger with credentials');
    expect(entry).toMatchObject({
      token: '[redacted]',
      device: { id: 'd-1', secret: '[redacted]' },
      login: { form: { password: '[redacted]' } },
    });
    expectNoCredentialIn(gateway.logs.text);
  });

  it('blanks the same fields logged through the Fastify request logger', () => {
    const fastify = gateway.app.getHttpAdapter().getInstance();

    fastify.log.info(
      { token: TOKEN_FIELD, headers: { authorization: `Bearer ${BEARER_TOKEN}` } },
      'fastify logger',
    );

    const entry = gateway.logs.entries().find((line) => line.msg === 'fastify logger');
    expect(entry).toMatchObject({ token: '[redacted]', headers: { authorization: '[redacted]' } });
    expectNoCredentialIn(gateway.logs.text);
  });
});
