/** One sample line of the Prometheus text format: `name{label="value",...} 12`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** What one scrape of /metrics exported, parsed from the text format. */
export class ScrapedMetrics {
  constructor(readonly samples: readonly Sample[]) {}

  static parse(text: string): ScrapedMetrics {
    const samples: Sample[] = [];
    for (const line of text.split('\n')) {
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
    return new ScrapedMetrics(samples);
  }

  /** The names of every sample (histograms' `_bucket`, `_sum` and `_count` included). */
  names(): Set<string> {
    return new Set(this.samples.map((sample) => sample.name));
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
