import { configVariables } from './app-config';
import { unknownVariables } from './unknown-variables';

describe('unknownVariables', () => {
  it('names a misspelt variable under one of the gateway prefixes, with the known name nearest to it', () => {
    expect(
      unknownVariables({
        PRESENCE_SWEEP_INTERVALMS: '100',
        SOCKET_MAX_SUBSCRIPTION: '5',
        COMMAND_ACK_TIMEOUT: '10',
      }),
    ).toEqual([
      { name: 'COMMAND_ACK_TIMEOUT', nearest: 'COMMAND_ACK_TIMEOUT_SEC' },
      { name: 'PRESENCE_SWEEP_INTERVALMS', nearest: 'PRESENCE_SWEEP_INTERVAL_MS' },
      { name: 'SOCKET_MAX_SUBSCRIPTION', nearest: 'SOCKET_MAX_SUBSCRIPTIONS' },
    ]);
  });

  it('says nothing of known variables, of other prefixes, or of the service links Kubernetes sets', () => {
    const known = Object.fromEntries(configVariables().map((name) => [name, 'x']));

    expect(
      unknownVariables({
        ...known,
        PATH: '/usr/bin',
        NODE_OPTIONS: '--max-old-space-size=256',
        npm_config_cache: '/tmp',
        REDIS_SERVICE_HOST: '10.0.0.7',
        REDIS_SERVICE_PORT: '6379',
        REDIS_SERVICE_PORT_REDIS: '6379',
        REDIS_PORT: 'tcp://10.0.0.7:6379',
        REDIS_PORT_6379_TCP: 'tcp://10.0.0.7:6379',
        REDIS_PORT_6379_TCP_ADDR: '10.0.0.7',
      }),
    ).toEqual([]);
  });
});
