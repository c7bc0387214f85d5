import fc from 'fast-check';
import { jsonSchemaOf } from '../../src/common/validation/dto-schema';
import { type DeviceResponse } from '../../src/devices/dto/device.response';
import { CreateDeviceDto } from '../../src/devices/dto/create-device.dto';
import { ListDevicesQuery } from '../../src/devices/dto/list-devices.query';
import { UpdateDeviceDto } from '../../src/devices/dto/update-device.dto';
import { encodeCursor } from '../../src/infra/database/keyset-cursor';
import { fuzzParameters, fuzzTestTimeout } from './fuzz-budget';
import { type CreatedDevice, type FuzzGateway } from './fuzz-gateway';
import { checkHttpAnswer } from './fuzz-oracles';
import { hostileText, NUMBER_LIKE_STRINGS, OBJECT_BUILT_INS, TRICKY_CHARACTERS } from './hostile-values';
import { parsedOnServer, percentEncode, toJsonText } from './json-text';
import { type Generated, SchemaArbitraries } from './schema-arbitrary';

const JSON_CONTENT = { 'content-type': 'application/json' };

/** A valid name that exercises what a database and a validator may count differently. */
const SENTINEL_NAME = `sentinel \u{1f600}e\u0301\ufe0f\u202e|%`;

/** Query parameter value spellings for the cursor: real positions, hostile dates, and not cursors at all. */
const HOSTILE_DATES = [
  '0000-01-01T00:00:00.000Z',
  '-000001-01-01T00:00:00.000Z',
  '+010000-01-01T00:00:00.000Z',
  '+275760-09-13T00:00:00.000Z',
  '-271821-04-20T00:00:00.000Z',
  '2020-02-30T00:00:00.000Z',
  '2020-13-01T00:00:00.000Z',
  '2020-01-01T24:00:00.000Z',
  '2020-01-01T00:00:00.000+14:00',
  '1970-01-01T00:00:00.000-99:00',
  '2020-01-01',
  '8.64e15',
  '1e999',
  'Infinity',
  'now',
  '',
  ' 2020-01-01T00:00:00.000Z',
  '2020-01-01T00:00:00.000Z\u0000',
  'Tue Mar 01 2022',
];

/** A query parameter as sent: an encoded `key=value`, or raw text that is not one. */
interface QueryPart {
  text: string;
  valid: boolean;
}

function cursorArbitrary(): fc.Arbitrary<QueryPart> {
  const storableDate = fc
    .date({
      min: new Date('0001-01-01T00:00:00.000Z'),
      max: new Date('9999-12-31T23:59:59.999Z'),
      noInvalidDate: true,
    })
    .map((date) => date.toISOString());
  const encoded = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');
  const valid = fc
    .tuple(storableDate, fc.uuid())
    .map(([createdAt, id]) => ({ text: encodeCursor({ createdAt, id }), valid: true }));
  const hostile = fc.oneof(
    fc
      .tuple(fc.constantFrom(...HOSTILE_DATES), fc.oneof(fc.uuid(), hostileText))
      .map(([date, id]) => encoded(`${date}|${id}`)),
    fc
      .tuple(storableDate, fc.uuid(), hostileText)
      .map(([date, id, extra]) => encoded(`${date}|${id}|${extra}`)),
    fc.tuple(storableDate, fc.uuid()).map(([date, id]) => Buffer.from(`${date}|${id}`).toString('base64')),
    hostileText.map(encoded),
    hostileText,
    fc.constant('A'.repeat(513)),
  );
  return fc.oneof(
    { arbitrary: valid, weight: 1 },
    { arbitrary: hostile.map((text) => ({ text, valid: false })), weight: 3 },
  );
}

function listQueryArbitrary(): fc.Arbitrary<QueryPart[]> {
  const schema = new SchemaArbitraries(jsonSchemaOf(ListDevicesQuery));
  const properties = jsonSchemaOf(ListDevicesQuery).properties as Record<string, Record<string, unknown>>;
  const pair = (key: string, value: QueryPart): QueryPart => ({
    text: `${percentEncode(key)}=${percentEncode(value.text)}`,
    valid: value.valid,
  });
  const validOf = (key: 'limit' | 'state'): fc.Arbitrary<QueryPart> =>
    schema.valid(properties[key] ?? {}, [key]).map((value) => ({ text: String(value), valid: true }));
  const anyValue = fc.oneof(
    hostileText,
    fc.constantFrom(...NUMBER_LIKE_STRINGS),
    fc.constantFrom(...TRICKY_CHARACTERS),
  );
  const part = fc.oneof(
    { arbitrary: cursorArbitrary().map((value) => pair('cursor', value)), weight: 3 },
    { arbitrary: validOf('limit').map((value) => pair('limit', value)), weight: 2 },
    { arbitrary: validOf('state').map((value) => pair('state', value)), weight: 2 },
    {
      arbitrary: fc
        .tuple(fc.constantFrom('cursor', 'limit', 'state'), anyValue)
        .map(([key, text]) => pair(key, { text, valid: false })),
      weight: 2,
    },
    {
      arbitrary: fc
        .tuple(fc.oneof(fc.constantFrom(...OBJECT_BUILT_INS), hostileText, fc.constant('limit[]')), anyValue)
        .map(([key, text]) => pair(key, { text, valid: false })),
      weight: 1,
    },
    {
      // Text a query parser has to cope with: bad escapes, missing `=`, empty pairs, `+` for a space.
      arbitrary: fc
        .constantFrom(
          '%',
          '%Z',
          'limit=%ZZ',
          'cursor=%C0%AE',
          'state=%ED%A0%80',
          'limit',
          '=',
          '&',
          'limit=1+1',
        )
        .map((text) => ({ text, valid: false })),
      weight: 1,
    },
  );
  return fc.array(part, { maxLength: 4 });
}

const isValidQuery = (parts: QueryPart[]): boolean => {
  const keys = parts.map((part) => part.text.split('=')[0]);
  return parts.every((part) => part.valid) && new Set(keys).size === keys.length;
};

/** A path segment for /v1/devices/:deviceId as written on the wire. */
function pathSegmentArbitrary(ids: { own: string; other: string }): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(ids.own, ids.own.toUpperCase(), ids.other, ids.other.toUpperCase()),
    fc.uuid(),
    hostileText.map((text) => percentEncode(text)),
    // Sub-delimiters and the characters that end a path, raw.
    hostileText.map((text) => percentEncode(text, /[A-Za-z0-9\-_.~!$&'()*+,;=:@?#]/)),
    fc.constantFrom(
      '%',
      '%Z',
      '%ZZ',
      '%C0%AE',
      '%ED%A0%80',
      '%F0%9F',
      '%FF',
      '%00',
      '%2F',
      '%2e%2e',
      '%25',
      '..',
      '.',
      `${ids.own}/..`,
      `${ids.own}%00`,
      `${ids.own}?limit=1`,
      `${ids.own}#x`,
      `${ids.own}/sessions`,
    ),
    fc.constantFrom(100, 101, 1000, 20_000).map((length) => 'a'.repeat(length)),
    // Raw bytes outside ASCII, which are not allowed unescaped in a request line.
    hostileText.map((text) => text.replace(/[ \r\n]/g, '')),
  );
}

/** Registers this suite's properties against the gateway `started` gives once it is up. */
export function describeDevicesApiFuzzing(started: () => FuzzGateway): void {
  describe('the devices API', () => {
    let gateway: FuzzGateway;
    let sentinel: CreatedDevice;
    let foreign: CreatedDevice;

    beforeAll(async () => {
      gateway = started();
      sentinel = await gateway.createDevice(gateway.customer, SENTINEL_NAME);
      foreign = await gateway.createDevice(gateway.other, 'someone-else');
      await gateway.watch(sentinel.device.id);
      await gateway.watch(foreign.device.id);
    }, 60_000);

    const asCustomer = (headers: Record<string, string> = {}): Record<string, string> => ({
      authorization: gateway.customer.authorization,
      ...headers,
    });

    it(
      'POST /v1/devices answers every body with a 2xx or a problem, and stores exactly what it accepted',
      async () => {
        const bodies = new SchemaArbitraries(jsonSchemaOf(CreateDeviceDto)).fuzzed();
        const serials = new Set<string>();
        await fc.assert(
          fc.asyncProperty(bodies, async ({ value, mutations }: Generated) => {
            const response = await gateway.inject({
              method: 'POST',
              url: '/v1/devices',
              headers: asCustomer(JSON_CONTENT),
              payload: toJsonText(value),
            });
            const answer = checkHttpAnswer(response);
            const sent = parsedOnServer(value) as { name: string; serial?: string };
            if (mutations.length === 0) {
              const taken = sent.serial !== undefined && serials.has(sent.serial);
              expect(response.statusCode).toBe(taken ? 409 : 201);
            }
            if (response.statusCode === 201) {
              const { device } = answer as CreatedDevice;
              expect({ name: device.name, serial: device.serial }).toEqual({
                name: sent.name,
                serial: sent.serial ?? null,
              });
              expect(await gateway.readDevice(device.id)).toEqual(device);
              const stored = await gateway.devices.findById(device.id);
              expect({ name: stored?.name, serial: stored?.serial }).toEqual({
                name: sent.name,
                serial: sent.serial ?? null,
              });
              if (sent.serial !== undefined) serials.add(sent.serial);
            }
            await gateway.expectWatchedUnchanged();
          }),
          fuzzParameters(),
        );
      },
      fuzzTestTimeout(),
    );

    it(
      'PATCH /v1/devices/:id answers every body with a 2xx or a problem, and renames exactly as accepted',
      async () => {
        const renamed = await gateway.createDevice(gateway.customer, 'to-be-renamed');
        const bodies = new SchemaArbitraries(jsonSchemaOf(UpdateDeviceDto)).fuzzed();
        await fc.assert(
          fc.asyncProperty(bodies, async ({ value, mutations }: Generated) => {
            const before = (await gateway.devices.findById(renamed.device.id))?.name;
            const response = await gateway.inject({
              method: 'PATCH',
              url: `/v1/devices/${renamed.device.id}`,
              headers: asCustomer(JSON_CONTENT),
              payload: toJsonText(value),
            });
            const answer = checkHttpAnswer(response);
            if (mutations.length === 0) expect(response.statusCode).toBe(200);
            let currentName = before;
            if (response.statusCode === 200) {
              const sent = parsedOnServer(value) as { name: string };
              expect((answer as DeviceResponse).name).toBe(sent.name);
              currentName = sent.name;
            }
            expect((await gateway.readDevice(renamed.device.id)).name).toBe(currentName);
            expect((await gateway.devices.findById(renamed.device.id))?.name).toBe(currentName);
            await gateway.expectWatchedUnchanged();
          }),
          fuzzParameters(),
        );
      },
      fuzzTestTimeout(),
    );

    it(
      "GET /v1/devices answers every query with the customer's own devices or a problem",
      async () => {
        await fc.assert(
          fc.asyncProperty(listQueryArbitrary(), async (parts) => {
            const query = parts.map((part) => part.text).join('&');
            const response = await gateway.inject({
              method: 'GET',
              url: `/v1/devices${query === '' ? '' : `?${query}`}`,
              headers: asCustomer(),
            });
            const answer = checkHttpAnswer(response);
            if (isValidQuery(parts)) expect(response.statusCode).toBe(200);
            if (response.statusCode === 200) {
              const page = answer as { items: DeviceResponse[]; nextCursor: unknown };
              expect(Object.keys(page).sort()).toEqual(['items', 'nextCursor']);
              expect(page.items.filter((item) => item.customerId !== gateway.customer.id)).toEqual([]);
              expect(page.nextCursor === null || typeof page.nextCursor === 'string').toBe(true);
            }
          }),
          fuzzParameters(),
        );
        await gateway.expectWatchedUnchanged();
      },
      fuzzTestTimeout(),
    );

    it(
      'GET, PATCH and DELETE /v1/devices/:deviceId answer every path over TCP, and touch no device',
      async () => {
        const ids = { own: sentinel.device.id, other: foreign.device.id };
        const methods = fc.constantFrom('GET', 'PATCH', 'DELETE');
        await fc.assert(
          fc.asyncProperty(methods, pathSegmentArbitrary(ids), async (method, segment) => {
            // PATCH and DELETE never name the sentinel: it stays as created, and the paths are the point.
            const target = method === 'GET' ? segment : segment.replace(new RegExp(ids.own, 'gi'), ids.other);
            const body = method === 'PATCH' ? '{"name":"renamed-by-path"}' : '';
            const response = await gateway.raw(
              `${method} /v1/devices/${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
                `Authorization: ${gateway.customer.authorization}\r\nConnection: close\r\n` +
                (body === '' ? '' : `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n`) +
                `\r\n${body}`,
            );
            const answer = checkHttpAnswer(response);
            if (response.status < 300) {
              expect(method).toBe('GET');
              const device = answer as DeviceResponse | { items: DeviceResponse[] };
              const own = 'items' in device ? device.items : [device];
              expect(own.filter((item) => item.customerId !== gateway.customer.id)).toEqual([]);
            }
            await gateway.expectWatchedUnchanged();
          }),
          fuzzParameters(),
        );
      },
      fuzzTestTimeout(),
    );
  });
}
