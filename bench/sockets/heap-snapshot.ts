import { readFileSync } from 'node:fs';
import { shortUrl } from '../shared/cpu-profile';

/** The parts of a V8 .heapsnapshot that a by-constructor summary needs. */
interface HeapSnapshot {
  snapshot: {
    meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; location_fields?: string[] };
  };
  nodes: number[];
  strings: string[];
  locations?: number[];
}

/** Self size and count per kind of object: constructor name for objects, type for strings, code and so on. */
export type HeapCensus = Map<string, { count: number; bytes: number }>;

export function censusOf(file: string, scripts: ReadonlyMap<string, string> = new Map()): HeapCensus {
  const snapshot = JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot;
  // Where each closure's function is defined: "locations" holds (node offset, script id, line, column).
  const where = new Map<number, string>();
  const locationFields = snapshot.snapshot.meta.location_fields ?? [];
  const locations = snapshot.locations ?? [];
  for (
    let offset = 0;
    locationFields.length > 0 && offset < locations.length;
    offset += locationFields.length
  ) {
    const [node, script, line] = [locations[offset], locations[offset + 1], locations[offset + 2]];
    if (node === undefined || script === undefined || line === undefined) continue;
    const url = scripts.get(String(script));
    where.set(node, `${url ? shortUrl(url) : `script ${script}`}:${line + 1}`);
  }
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const census: HeapCensus = new Map();
  for (let offset = 0; offset < snapshot.nodes.length; offset += width) {
    const type = types[snapshot.nodes[offset + typeAt] ?? 0] ?? '?';
    const name = snapshot.strings[snapshot.nodes[offset + nameAt] ?? 0] ?? '?';
    const bytes = snapshot.nodes[offset + sizeAt] ?? 0;
    const key =
      type === 'object' || type === 'native'
        ? name
        : type === 'closure'
          ? `(closure) ${name || '(anonymous)'}  ${where.get(offset) ?? ''}`
          : type === 'hidden' || type === 'array' || type === 'object shape'
            ? `(${type}) ${name.length > 60 ? `${name.slice(0, 57)}...` : name}`
            : `(${type})`;
    const entry = census.get(key) ?? { count: 0, bytes: 0 };
    entry.count += 1;
    entry.bytes += bytes;
    census.set(key, entry);
  }
  return census;
}

export interface CensusGrowth {
  name: string;
  countPerSocket: number;
  bytesPerSocket: number;
}

/** What grew between two censuses, per socket, the largest first. */
export function growthPerSocket(before: HeapCensus, after: HeapCensus, sockets: number): CensusGrowth[] {
  const rows: CensusGrowth[] = [];
  for (const [name, entry] of after) {
    const base = before.get(name) ?? { count: 0, bytes: 0 };
    rows.push({
      name,
      countPerSocket: (entry.count - base.count) / sockets,
      bytesPerSocket: (entry.bytes - base.bytes) / sockets,
    });
  }
  return rows.sort((a, b) => b.bytesPerSocket - a.bytesPerSocket);
}
