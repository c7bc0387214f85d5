import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { parseAllDocuments } from 'yaml';
import { AppConfig, configVariables, loadConfig, secretVariables } from '../../src/config/app-config';
import { type InProcessApp, startInProcessApp } from '../support/in-process-app';

/**
 * The Dockerfile, compose.yaml and deploy/kubernetes cannot be run here (no container engine, no
 * cluster), so what can be checked without one is checked against the code they deploy: the variables
 * they set, the paths they probe, the commands they run, the shutdown timings they allow.
 */

const ROOT = join(__dirname, '..', '..');
const GATEWAY_IMAGE = 'netdiag-gateway';

const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

type Yaml = Record<string, unknown>;

function yamlDocuments(path: string): Yaml[] {
  return parseAllDocuments(read(path), { merge: true }).map((document) => {
    if (document.errors.length > 0) throw new Error(`${path}: ${document.errors.join('; ')}`);
    return document.toJS() as Yaml;
  });
}

/** A property path into parsed YAML, failing with the path when something on the way is missing. */
function at<T = unknown>(value: unknown, ...path: (string | number)[]): T {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || !(key in current)) {
      throw new Error(`missing ${path.join('.')}`);
    }
    current = (current as Record<string | number, unknown>)[key];
  }
  return current as T;
}

interface Instruction {
  keyword: string;
  args: string;
}

/** The Dockerfile's instructions by stage, continuation lines joined and comments dropped. */
function dockerfileStages(): Instruction[][] {
  const logical = read('Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Instruction[][] = [];
  for (const line of logical) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === 'FROM') stages.push([]);
    stages.at(-1)?.push({ keyword: keyword.toUpperCase(), args: args.trim() });
  }
  return stages;
}

/** `KEY=value KEY2=value2` as ENV writes them (values without spaces). */
function envKeys(args: string): string[] {
  return [...args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=/g)].map((match) => match[1] ?? '');
}

/** What `npm run <script>` runs, as an exec-form argument list (`exec` only hands npm's place over). */
function npmScript(name: string): string[] {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
  const script = scripts[name];
  if (script === undefined) throw new Error(`no npm script ${name}`);
  return script.replace(/^exec\s+/, '').split(/\s+/);
}

/** `${NAME:-default}` as compose interpolates it when NAME is not set. */
function interpolated(value: unknown): string {
  const text = String(value).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, (_match, fallback: string) => fallback);
  expect(text).not.toContain('$');
  return text;
}

/**
 * Paths a healthcheck command requests: those of its URLs, and the string literals starting with `/` that
 * a URL built from pieces (`'http://127.0.0.1:' + port + '/health/live'`) ends with.
 */
function probedPaths(command: unknown): string[] {
  const text = Array.isArray(command) ? command.join(' ') : String(command);
  return [
    ...[...text.matchAll(/https?:\/\/[^/'"\s]+(\/[A-Za-z0-9/_-]*)/g)].map((match) => match[1] ?? ''),
    ...[...text.matchAll(/'(\/[A-Za-z0-9/_-]*)'/g)].map((match) => match[1] ?? ''),
  ];
}

const runtimeStage = (): Instruction[] => dockerfileStages().at(-1) ?? [];
const last = (stage: Instruction[], keyword: string): Instruction | undefined =>
  stage.filter((instruction) => instruction.keyword === keyword).at(-1);

const compose = yamlDocuments('compose.yaml')[0] ?? {};
const composeServices = at<Record<string, Yaml>>(compose, 'services');
const gatewayImageServices = Object.entries(composeServices).filter(([, service]) =>
  String(service.image).startsWith(GATEWAY_IMAGE),
);
const composeGateways = gatewayImageServices.filter(([, service]) => service.command === undefined);

const KUBERNETES_DIR = 'deploy/kubernetes';
const kubernetesFiles = [
  'configmap.yaml',
  'secret.template.yaml',
  'deployment.yaml',
  'service.yaml',
  'pod-disruption-budget.yaml',
  'horizontal-pod-autoscaler.yaml',
  'migrate-job.yaml',
];
const manifests = kubernetesFiles.flatMap((file) => yamlDocuments(join(KUBERNETES_DIR, file)));
function manifest(kind: string): Yaml {
  const found = manifests.filter((document) => document.kind === kind);
  if (found.length !== 1)
    throw new Error(`${KUBERNETES_DIR} holds ${found.length} ${kind} manifests, not one`);
  return found[0] ?? {};
}
const deployment = manifest('Deployment');
const podSpec = at<Yaml>(deployment, 'spec', 'template', 'spec');
const gatewayContainer = at<Yaml[]>(podSpec, 'containers')[0] ?? {};
const job = manifest('Job');
const jobPodSpec = at<Yaml>(job, 'spec', 'template', 'spec');
const configMapData = at<Record<string, string>>(manifest('ConfigMap'), 'data');
const secretData = at<Record<string, string>>(manifest('Secret'), 'stringData');

/** Values an operator would put in the Secret, to validate the ConfigMap with. */
const FILLED_SECRETS: Record<string, string> = {
  DATABASE_URL: 'postgresql://gateway:password@postgres:5432/gateway',
  REDIS_URL: 'redis://:password@redis:6379',
  DEVICE_SECRET_PEPPER: 'a-pepper-of-at-least-thirty-two-characters',
};

const known = new Set(configVariables());
const secrets = new Set(secretVariables());

describe('deployment files', () => {
  let gateway: InProcessApp;
  let port: number;

  beforeAll(async () => {
    gateway = await startInProcessApp({ env: { LOG_LEVEL: 'silent' } });
    await gateway.app.listen({ port: 0, host: '127.0.0.1' });
    const address = gateway.app.getHttpServer().address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    port = address.port;
  });

  afterAll(async () => {
    await (gateway as InProcessApp | undefined)?.close();
  });

  async function expectServed(paths: string[]): Promise<void> {
    expect(paths.length).toBeGreaterThan(0);
    for (const path of new Set(paths)) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      expect({ path, status: response.status }).toEqual({ path, status: 200 });
    }
  }

  describe('Dockerfile', () => {
    it('builds in one stage and runs from another with production dependencies only', () => {
      const stages = dockerfileStages();
      const runs = runtimeStage()
        .filter((instruction) => instruction.keyword === 'RUN')
        .map((instruction) => instruction.args);

      expect(stages.length).toBeGreaterThanOrEqual(2);
      expect(stages[0]?.some((i) => i.keyword === 'RUN' && /npm run build/.test(i.args))).toBe(true);
      expect(runs.some((run) => /npm ci --omit=dev/.test(run))).toBe(true);
      expect(runs.some((run) => /npm run build/.test(run))).toBe(false);
      expect(runtimeStage().some((i) => i.keyword === 'COPY' && /--from=build \S+\/dist /.test(i.args))).toBe(
        true,
      );
      // The migrations the migrate job applies, where the migrator reads them (supabase/migrations).
      expect(runtimeStage().some((i) => i.keyword === 'COPY' && /supabase\/migrations/.test(i.args))).toBe(
        true,
      );
    });

    it('starts the gateway with the command `npm start` runs, under tini', () => {
      const cmd = last(runtimeStage(), 'CMD');
      const entrypoint = last(runtimeStage(), 'ENTRYPOINT');

      expect(JSON.parse(cmd?.args ?? 'null')).toEqual(npmScript('start'));
      expect(JSON.parse(entrypoint?.args ?? 'null')).toEqual(['/usr/bin/tini', '--']);
    });

    it('runs as a non-root user, by number, the one the Kubernetes manifests run as', () => {
      const user = last(runtimeStage(), 'USER')?.args ?? '';
      const [uid, gid] = user.split(':');

      expect(uid).toMatch(/^[1-9]\d*$/);
      expect(gid).toMatch(/^[1-9]\d*$/);
      for (const spec of [podSpec, jobPodSpec]) {
        expect(at(spec, 'securityContext')).toMatchObject({
          runAsNonRoot: true,
          runAsUser: Number(uid),
          runAsGroup: Number(gid),
        });
      }
    });

    it('sets only variables the configuration reads, and exposes its default port', () => {
      const keys = runtimeStage()
        .filter((instruction) => instruction.keyword === 'ENV')
        .flatMap((instruction) => envKeys(instruction.args));

      expect(keys).toContain('HOST');
      expect(keys.filter((key) => !known.has(key))).toEqual([]);
      expect(last(runtimeStage(), 'EXPOSE')?.args).toBe(String(new AppConfig().PORT));
    });

    it('checks /health/live with a command that passes against a gateway and fails without one', async () => {
      const healthcheck = last(runtimeStage(), 'HEALTHCHECK')?.args ?? '';
      const [, command = 'null'] = /\bCMD\s+(\[.*\])$/.exec(healthcheck) ?? [];
      const [executable, ...args] = JSON.parse(command) as string[];
      const exitCodeWith = async (env: Record<string, string>): Promise<number> => {
        try {
          await promisify(execFile)(process.execPath, args, { env: { PATH: process.env.PATH, ...env } });
          return 0;
        } catch (error) {
          return (error as { code?: number }).code ?? -1;
        }
      };

      expect(executable).toBe('node');
      expect(probedPaths(command)).toEqual(['/health/live']);
      expect(await exitCodeWith({ PORT: String(port) })).toBe(0);
      // Port 1 on loopback: nothing listens there.
      expect(await exitCodeWith({ PORT: '1' })).toBe(1);
    });

    it('keeps local secrets, data and dependencies out of the build context, and nothing it copies', () => {
      const ignored = read('.dockerignore')
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '' && !line.startsWith('#'));
      const copied = dockerfileStages()
        .flat()
        .filter((instruction) => instruction.keyword === 'COPY' && !instruction.args.startsWith('--from'))
        .flatMap((instruction) => instruction.args.split(/\s+/).slice(0, -1));

      expect(ignored).toEqual(expect.arrayContaining(['.env', 'node_modules', 'dist', 'data', '.git']));
      expect(copied.length).toBeGreaterThan(0);
      for (const source of copied) {
        expect({ source, exists: existsSync(join(ROOT, source)) }).toEqual({ source, exists: true });
        const excludedBy = ignored.filter(
          (pattern) => source === pattern || source.startsWith(`${pattern}/`),
        );
        expect({ source, excludedBy }).toEqual({ source, excludedBy: [] });
      }
    });
  });

  describe('compose.yaml', () => {
    it('runs two gateway instances in postgres + redis mode, with variables the configuration reads', () => {
      expect(composeGateways.map(([name]) => name)).toHaveLength(2);
      for (const [name, service] of gatewayImageServices) {
        const environment = at<Record<string, unknown>>(service, 'environment');
        expect({ name, unknown: Object.keys(environment).filter((key) => !known.has(key)) }).toEqual({
          name,
          unknown: [],
        });
      }
      for (const [, service] of composeGateways) {
        const environment = at<Record<string, unknown>>(service, 'environment');
        const config = loadConfig(
          Object.fromEntries(Object.entries(environment).map(([key, value]) => [key, interpolated(value)])),
        );
        expect(config).toMatchObject({ DATA_BACKEND: 'postgres', CACHE_BACKEND: 'redis' });
        // What `dev:token` needs to mint customer tokens these instances accept (README, Running modes).
        expect(config.SUPABASE_URL).toBeDefined();
        expect(config.SUPABASE_JWT_SECRET).toBeDefined();
        expect(config.SHUTDOWN_DRAIN_DELAY_MS).toBeLessThan(config.SHUTDOWN_GRACE_MS);
        expect(durationSeconds(at(service, 'stop_grace_period')) * 1000).toBeGreaterThan(
          config.SHUTDOWN_GRACE_MS,
        );
      }
    });

    it('migrates with `npm run db:migrate`, once, before any gateway starts', () => {
      const migrations = gatewayImageServices.filter(([, service]) => service.command !== undefined);

      expect(migrations).toHaveLength(1);
      const [migrateName, migrate] = migrations[0] ?? ['', {}];
      expect(migrate.command).toEqual(npmScript('db:migrate'));
      expect(migrate.restart).toBe('no');
      for (const [, gatewayService] of composeGateways) {
        expect(at(gatewayService, 'depends_on', migrateName)).toEqual({
          condition: 'service_completed_successfully',
        });
      }
    });

    it('gives every service a healthcheck, and the migrate job none of the image’s', () => {
      for (const [name, service] of Object.entries(composeServices)) {
        expect({ name, healthcheck: typeof service.healthcheck }).toEqual({ name, healthcheck: 'object' });
      }
      for (const [, service] of gatewayImageServices) {
        const disabled = at<Yaml>(service, 'healthcheck').disable === true;
        // The image's HEALTHCHECK probes a gateway: a one-shot command would be reported unhealthy.
        expect(disabled).toBe(service.command !== undefined);
      }
    });

    it('probes the gateways on paths they serve', async () => {
      await expectServed(
        composeGateways.flatMap(([, service]) => probedPaths(at(service, 'healthcheck', 'test'))),
      );
    });

    it('balances over every gateway, passing WebSockets with timeouts above the Socket.IO heartbeat', async () => {
      const balancer = Object.values(composeServices).find((service) =>
        String(service.image).startsWith('nginx'),
      );
      const mount = at<string[]>(balancer, 'volumes')
        .map((volume) => volume.split(':'))
        .find(([, target]) => target === '/etc/nginx/nginx.conf');
      const conf = read(mount?.[0] ?? 'missing nginx.conf mount');
      const { pingInterval, pingTimeout } = await engineHandshake(port);

      for (const [name] of composeGateways) expect(conf).toContain(`server ${name}:3000`);
      expect(conf).toMatch(/proxy_http_version 1\.1;/);
      expect(conf).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
      expect(conf).toMatch(/proxy_set_header Connection \$connection_upgrade;/);
      for (const directive of ['proxy_read_timeout', 'proxy_send_timeout']) {
        const [, seconds = '0'] = new RegExp(`${directive} (\\d+)s;`).exec(conf) ?? [];
        expect(Number(seconds) * 1000).toBeGreaterThan(pingInterval + pingTimeout);
      }
      // Idle upstream connections are dropped by nginx before the gateway drops them.
      const [, keepalive = 'Infinity'] = /keepalive_timeout (\d+)s;/.exec(conf) ?? [];
      expect(Number(keepalive) * 1000).toBeLessThan(new AppConfig().HTTP_IDLE_TIMEOUT_MS);
    });
  });

  describe('deploy/kubernetes', () => {
    it('splits the configuration: plain variables in the ConfigMap, every credential in the Secret', () => {
      const configKeys = Object.keys(configMapData);
      const secretKeys = Object.keys(secretData);

      expect(configKeys.filter((key) => !known.has(key))).toEqual([]);
      expect(configKeys.filter((key) => secrets.has(key))).toEqual([]);
      expect(secretKeys.sort()).toEqual([...secrets].sort());
      // A template: nothing real is committed.
      expect(Object.values(secretData).filter((value) => value !== '')).toEqual([]);
    });

    it('holds a ConfigMap the configuration accepts once the Secret is filled', () => {
      const config = loadConfig({ ...configMapData, ...FILLED_SECRETS });

      expect(config).toMatchObject({ DATA_BACKEND: 'postgres', CACHE_BACKEND: 'redis' });
    });

    it('gives the gateway the ConfigMap and the Secret, and only variables the configuration reads', () => {
      const envFrom = at<Yaml[]>(gatewayContainer, 'envFrom');
      const env = at<{ name: string }[]>(gatewayContainer, 'env');

      expect(envFrom).toEqual([
        { configMapRef: { name: at(manifest('ConfigMap'), 'metadata', 'name') } },
        { secretRef: { name: at(manifest('Secret'), 'metadata', 'name') } },
      ]);
      expect(env.map(({ name }) => name).filter((name) => !known.has(name))).toEqual([]);
      // Kubernetes' REDIS_PORT-style service variables would land under the gateway's own prefixes.
      expect(podSpec.enableServiceLinks).toBe(false);
      expect(jobPodSpec.enableServiceLinks).toBe(false);
    });

    it('runs two replicas with liveness and readiness on the paths the gateway serves', async () => {
      const containerPort = at<{ name: string; containerPort: number }[]>(gatewayContainer, 'ports')[0];

      expect(at(deployment, 'spec', 'replicas')).toBe(2);
      expect(at(gatewayContainer, 'livenessProbe', 'httpGet', 'path')).toBe('/health/live');
      expect(at(gatewayContainer, 'readinessProbe', 'httpGet', 'path')).toBe('/health/ready');
      const probes = ['startupProbe', 'livenessProbe', 'readinessProbe'].filter(
        (probe) => probe in gatewayContainer,
      );
      for (const probe of probes) {
        expect(at(gatewayContainer, probe, 'httpGet', 'port')).toBe(containerPort?.name);
      }
      const env = at<{ name: string; value: string }[]>(gatewayContainer, 'env');
      expect(containerPort?.containerPort).toBe(
        Number(env.find(({ name }) => name === 'PORT')?.value ?? new AppConfig().PORT),
      );
      await expectServed(probes.map((probe) => at<string>(gatewayContainer, probe, 'httpGet', 'path')));
    });

    it('lets a pod finish its shutdown before the kubelet kills it', () => {
      const config = loadConfig({ ...configMapData, ...FILLED_SECRETS });
      const preStop = at<string[]>(gatewayContainer, 'lifecycle', 'preStop', 'exec', 'command');
      const [sleep, seconds = 'NaN'] = preStop;
      const graceSeconds = at<number>(podSpec, 'terminationGracePeriodSeconds');
      const MARGIN_MS = 2000;

      expect(sleep).toBe('sleep');
      expect(Number(seconds)).toBeGreaterThan(0);
      expect(config.SHUTDOWN_DRAIN_DELAY_MS).toBeGreaterThan(0);
      expect(config.SHUTDOWN_DRAIN_DELAY_MS).toBeLessThan(config.SHUTDOWN_GRACE_MS);
      expect(graceSeconds * 1000).toBeGreaterThanOrEqual(
        Number(seconds) * 1000 + config.SHUTDOWN_DRAIN_DELAY_MS + config.SHUTDOWN_GRACE_MS + MARGIN_MS,
      );
    });

    it('runs without root, privileges or a writable root filesystem, within set resources', () => {
      for (const spec of [podSpec, jobPodSpec]) {
        const container = at<Yaml[]>(spec, 'containers')[0] ?? {};
        expect(at(container, 'securityContext')).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        for (const [kind, resource] of [
          ['requests', 'cpu'],
          ['requests', 'memory'],
          ['limits', 'memory'],
        ] as const) {
          expect(typeof at(container, 'resources', kind, resource)).toBe('string');
        }
        const tmp = at<{ name: string; mountPath: string }[]>(container, 'volumeMounts').find(
          (mount) => mount.mountPath === '/tmp',
        );
        const volume = at<{ name: string; emptyDir?: unknown }[]>(spec, 'volumes').find(
          ({ name }) => name === tmp?.name,
        );
        expect(volume?.emptyDir).toBeDefined();
      }
    });

    it('routes, protects and scales the same pods', () => {
      const podLabels = at<Record<string, string>>(deployment, 'spec', 'template', 'metadata', 'labels');
      const service = manifest('Service');
      const budget = manifest('PodDisruptionBudget');
      const autoscaler = manifest('HorizontalPodAutoscaler');
      const portName = at<{ name: string }[]>(gatewayContainer, 'ports')[0]?.name;

      expect(podLabels).toMatchObject(at<Yaml>(service, 'spec', 'selector'));
      expect(at(service, 'spec', 'ports')).toEqual([expect.objectContaining({ targetPort: portName })]);
      expect(podLabels).toMatchObject(at<Yaml>(budget, 'spec', 'selector', 'matchLabels'));
      expect(at<number>(budget, 'spec', 'minAvailable')).toBeLessThan(
        at<number>(deployment, 'spec', 'replicas'),
      );
      expect(at(autoscaler, 'spec', 'scaleTargetRef')).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: at(deployment, 'metadata', 'name'),
      });
      expect(at<number>(autoscaler, 'spec', 'minReplicas')).toBeGreaterThanOrEqual(2);
      expect(
        at<Yaml[]>(autoscaler, 'spec', 'metrics').map((metric) => [
          metric.type,
          at(metric, 'resource', 'name'),
        ]),
      ).toEqual([['Resource', 'cpu']]);
    });

    it('migrates with `npm run db:migrate`, reading DATABASE_URL from the Secret, on the same image', () => {
      const container = at<Yaml[]>(jobPodSpec, 'containers')[0] ?? {};

      expect(container.command).toEqual(npmScript('db:migrate'));
      expect(container.image).toBe(gatewayContainer.image);
      expect(at(container, 'env')).toEqual([
        {
          name: 'DATABASE_URL',
          valueFrom: {
            secretKeyRef: { name: at(manifest('Secret'), 'metadata', 'name'), key: 'DATABASE_URL' },
          },
        },
      ]);
      expect(at(jobPodSpec, 'restartPolicy')).toBe('Never');
    });

    it('lists in its kustomization the gateway’s manifests, not the Secret template nor the Job', () => {
      const resources = at<string[]>(
        yamlDocuments(join(KUBERNETES_DIR, 'kustomization.yaml'))[0],
        'resources',
      );

      for (const resource of resources) expect(existsSync(join(ROOT, KUBERNETES_DIR, resource))).toBe(true);
      expect(resources).not.toContain('secret.template.yaml');
      expect(resources).not.toContain('migrate-job.yaml');
      expect(resources).toEqual(
        expect.arrayContaining(['deployment.yaml', 'configmap.yaml', 'service.yaml']),
      );
    });
  });
});

/** Compose durations as this file writes them: `30s`. */
function durationSeconds(value: unknown): number {
  const [, seconds = 'NaN'] = /^(\d+)s$/.exec(String(value)) ?? [];
  return Number(seconds);
}

/** The Engine.IO open packet a client receives first: the heartbeat the server will keep. */
function engineHandshake(port: number): Promise<{ pingInterval: number; pingTimeout: number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
    socket.once('message', (data: Buffer) => {
      socket.close();
      const text = data.toString('utf8');
      if (!text.startsWith('0')) {
        reject(new Error(`not an open packet: ${text}`));
        return;
      }
      resolve(JSON.parse(text.slice(1)) as { pingInterval: number; pingTimeout: number });
    });
    socket.once('error', reject);
  });
}
