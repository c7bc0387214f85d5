import { checkPlanSteps } from './plan-steps';

describe('checkPlanSteps', () => {
  it('accepts remediation steps and gives each its type’s default timeout', () => {
    expect(
      checkPlanSteps([
        { type: 'restart_interface', params: { interface: 'wlan0' }, description: 'Restart Wi-Fi' },
        { type: 'reboot', params: {}, description: 'Reboot' },
      ]),
    ).toEqual({
      value: [
        {
          type: 'restart_interface',
          params: { interface: 'wlan0' },
          description: 'Restart Wi-Fi',
          timeoutSec: 60,
        },
        { type: 'reboot', params: {}, description: 'Reboot', timeoutSec: 300 },
      ],
    });
  });

  it('names the step of every error', () => {
    const result = checkPlanSteps([
      { type: 'ping', params: { host: 'example.com', count: 1 }, description: 'a diagnostic' },
      { type: 'restart_interface', params: { interface: 'eth0; rm -rf /' }, description: 'bad name' },
      { type: 'format_disk', params: {}, description: 'unknown' },
      { type: 'flush_dns', params: { all: true }, description: '', extra: 1 },
      'not a step',
      { type: 'set_dns_servers', description: 'no params' },
    ]);
    expect('errors' in result && result.errors.map((error) => error.field)).toEqual([
      'steps[0].type',
      'steps[1].params.interface',
      'steps[2].type',
      'steps[3].extra',
      'steps[3].description',
      'steps[3].params.all',
      'steps[4]',
      'steps[5].params',
    ]);
  });
});
