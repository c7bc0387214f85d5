import { effectiveConnectionLimit } from './connection-limits';

describe('effectiveConnectionLimit', () => {
  it('keeps the configured cap when the open-files limit leaves room for it, or is unknown', () => {
    expect(effectiveConnectionLimit(1000, 65536)).toBe(1000);
    expect(effectiveConnectionLimit(1000, undefined)).toBe(1000);
  });

  it('lowers the cap below the open-files limit, keeping descriptors for everything else', () => {
    expect(effectiveConnectionLimit(16384, 1024)).toBe(768);
    expect(effectiveConnectionLimit(16384, 10)).toBe(1);
  });
});
