import { canonicalJson } from '../common/canonical-json';
import { planHash } from './plan-hash';

describe('planHash', () => {
  // The vector the README shows; computed independently (Python: json.dumps(steps, sort_keys=True,
  // separators=(',', ':'), ensure_ascii=False), then SHA-256 of its UTF-8 bytes).
  const steps = [
    { type: 'restart_interface', params: { interface: 'wlan0' }, description: 'Restart Wi-Fi' },
    {
      type: 'set_dns_servers',
      params: { servers: ['1.1.1.1', '9.9.9.9'], interface: 'eth0' },
      description: 'Use public resolvers — café',
    },
    { type: 'flush_dns', params: {}, description: 'Flush the cache' },
  ];

  it('hashes the canonical JSON of the steps to the fixed vector', () => {
    expect(canonicalJson(steps)).toBe(
      '[{"description":"Restart Wi-Fi","params":{"interface":"wlan0"},"type":"restart_interface"},' +
        '{"description":"Use public resolvers — café","params":{"interface":"eth0","servers":["1.1.1.1","9.9.9.9"]},' +
        '"type":"set_dns_servers"},{"description":"Flush the cache","params":{},"type":"flush_dns"}]',
    );
    expect(planHash(steps)).toBe('f6027908dfaafc0d396f735ef3236581d11873e5bac61f13783a74266325f134');
  });

  it('does not depend on the order of keys, but does on the order of steps and on every value', () => {
    const reordered = steps.map(({ description, params, type }) => ({ description, params, type }));
    expect(planHash(reordered)).toBe(planHash(steps));
    expect(planHash([...steps].reverse())).not.toBe(planHash(steps));
    expect(planHash([{ ...steps[0]!, description: 'Restart Wi-Fi.' }, ...steps.slice(1)])).not.toBe(
      planHash(steps),
    );
  });

  it('covers only type, params and description', () => {
    const stored = steps.map((step, index) => ({ ...step, index, commandId: null, status: 'pending' }));
    expect(planHash(stored)).toBe(planHash(steps));
  });

  it('writes nested objects, arrays, numbers, booleans and null canonically', () => {
    expect(canonicalJson({ b: [1, { d: null, c: true }], a: -0.5, é: 'x', Z: 'y' })).toBe(
      '{"Z":"y","a":-0.5,"b":[1,{"c":true,"d":null}],"é":"x"}',
    );
  });
});
