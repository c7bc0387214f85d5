import { type LightMyRequestResponse } from 'fastify';
import { ANSWER_TIMEOUT_MS } from './fuzz-budget';

/** An RFC 9457 problem as the gateway writes it. */
export interface FuzzProblem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { field: string; message: string }[];
}

/** The answer, or a failure naming what hung: no request or event may go unanswered. */
export async function withinDeadline<T>(what: string, answer: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer to ${what} within ${ANSWER_TIMEOUT_MS} ms`));
    }, ANSWER_TIMEOUT_MS);
  });
  try {
    return await Promise.race([answer, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A client error as a complete problem object; `status` is the one it must carry when known. */
export function expectProblem(problem: unknown, status?: number): FuzzProblem {
  expect(problem).toEqual(
    expect.objectContaining({
      type: expect.any(String) as unknown,
      title: expect.any(String) as unknown,
      status: status ?? (expect.any(Number) as unknown),
      detail: expect.any(String) as unknown,
      code: expect.any(String) as unknown,
    }),
  );
  const { status: own } = problem as FuzzProblem;
  expect(own >= 400 && own < 500).toBe(true);
  return problem as FuzzProblem;
}

/**
 * Oracles for every HTTP answer: never a 5xx, every 4xx a problem+json whose status is the response's,
 * every 2xx with a body JSON. Returns the parsed body (undefined when there is none).
 */
export function checkHttpAnswer(response: LightMyRequestResponse | RawHttpResponse): unknown {
  const status = 'statusCode' in response ? response.statusCode : response.status;
  const contentType = String(response.headers['content-type'] ?? '');
  const { body } = response;
  if (status >= 500) throw new Error(`answered ${status}: ${body.slice(0, 500)}`);
  if (status >= 400) {
    expect(contentType).toMatch(/^application\/problem\+json/);
    return expectProblem(JSON.parse(body), status);
  }
  if (body === '') return undefined;
  expect(contentType).toMatch(/^application\/json/);
  return JSON.parse(body) as unknown;
}

/** An HTTP response read off a raw TCP connection. */
export interface RawHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}
