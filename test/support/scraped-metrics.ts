/** One sample line of the Prometheus text format: `name{label="value",...} 12`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** What one scrape of /metrics exported, parsed from the text format. */
export class ScrapedMetrics {
  constructor(
    readonly samples: readonly Sample[],
    /** Every metric family by its `# TYPE` line: there even before a labelled series has a sample. */
    readonly types: ReadonlyMap<string, string>,
  ) {}

  static parse(text: string): ScrapedMetrics {
    const samples: Sample[] = [];
    const types = new Map<string, string>();
    for (const line of text.split('\n')) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type?.[1] && type[2]) types.set(type[1], type[2]);
      if (line === '' || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match?.[1] || match[3] === undefined) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[pair[1] as string] = (pair[2] as string).replace(/\\(.)/g, (_, char: string) =>
          char === 'n' ? '\n' : char,
        );
      }
      samples.push({ name: match[1], labels, value: Number(match[3]) });
    }
    return new ScrapedMetrics(samples, types);
  }

  /**
   * The sample names the families export, whether or not they have samples yet: a histogram's
   * `_bucket`, `_sum` and `_count`, a summary's `_sum` and `_count` and its own name.
   */
  exportedNames(): Set<string> {
    const names = new Set(this.samples.map((sample) => sample.name));
    for (const [family, type] of this.types) {
      if (type === 'histogram')
        for (const suffix of ['_bucket', '_sum', '_count']) names.add(family + suffix);
      else if (type === 'summary')
        for (const name of [family, `${family}_sum`, `${family}_count`]) names.add(name);
      else names.add(family);
    }
    return names;
  }

  /** The value of the one sample with exactly these labels; undefined when there is none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const wanted = Object.entries(labels);
    return this.samples.find(
      (sample) =>
        sample.name === name &&
        Object.keys(sample.labels).length === wanted.length &&
        wanted.every(([key, value]) => sample.labels[key] === value),
    )?.value;
  }

  /** As value(), for a series that must be there: a missing one reads as a failure, not as 0. */
  of(name: string, labels: Record<string, string> = {}): number {
    const value = this.value(name, labels);
    if (value === undefined) throw new Error(`no ${name}${JSON.stringify(labels)} in /metrics`);
    return value;
  }

  /** The samples of one name, e.g. every state of a gauge. */
  all(name: string): Sample[] {
    return this.samples.filter((sample) => sample.name === name);
  }
}

/** Scrapes a gateway's /metrics over HTTP. */
export async function scrape(baseUrl: string): Promise<ScrapedMetrics> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  return ScrapedMetrics.parse(await response.text());
}
