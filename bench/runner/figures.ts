/** Summary statistics, number formatting and aligned tables for the benchmarks' reports. */

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? NaN)
    : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
};

export const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
};

export const fixed = (value: number, digits = 0): string =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** "median (min–max)" */
export const range = (values: readonly number[], digits = 0): string =>
  `${fixed(median(values), digits)} (${fixed(Math.min(...values), digits)}–${fixed(Math.max(...values), digits)})`;

/**
 * Rows of cells, the first row the header, printed with two spaces of indent, each column as wide as its
 * widest cell: right-aligned where the first row below the header holds a number, else left-aligned.
 */
export function printTable(rows: readonly (readonly string[])[]): void {
  const widths = rows.reduce<number[]>(
    (max, row) => row.map((cell, column) => Math.max(cell.length, max[column] ?? 0)),
    [],
  );
  const numeric = (rows[1] ?? []).map((cell) => /^[-\d]/.test(cell));
  for (const row of rows) {
    const cells = row.map((cell, column) =>
      numeric[column] ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
    );
    console.log(`  ${cells.join('   ')}`.trimEnd());
  }
}
