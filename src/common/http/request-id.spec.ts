import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { requestIdFor } from './request-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function requestWith(headers: IncomingMessage['headers']): IncomingMessage {
  // An unconnected socket: nothing is read or written, the message only carries the headers.
  const message = new IncomingMessage(new Socket());
  message.headers = headers;
  return message;
}

describe('requestIdFor', () => {
  it('keeps a plain id the caller sent', () => {
    expect(requestIdFor(requestWith({ 'x-request-id': 'portal-42:retry.1_a' }))).toBe('portal-42:retry.1_a');
  });

  it('makes up a fresh UUID when the caller sent none', () => {
    const first = requestIdFor(requestWith({}));

    expect(first).toMatch(UUID);
    expect(requestIdFor(requestWith({}))).not.toBe(first);
  });

  it.each([
    ['too long', 'a'.repeat(129)],
    ['a line break that could forge a log line', 'abc\n{"level":"error"}'],
    ['spaces', 'a b'],
    ['empty', ''],
  ])('replaces an id that is %s', (_, given) => {
    expect(requestIdFor(requestWith({ 'x-request-id': given }))).toMatch(UUID);
  });

  it('replaces a header sent twice instead of picking one', () => {
    expect(requestIdFor(requestWith({ 'x-request-id': ['a', 'b'] }))).toMatch(UUID);
  });
});
