import {
  Agent,
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request as httpRequest,
  type ServerResponse,
} from 'node:http';
import { type AddressInfo } from 'node:net';
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';

/**
 * Test-only stand-in for the API gateway (Kong) of a Supabase project: one URL whose `/rest/v1/*` is
 * PostgREST and whose `/auth/v1/*` is the little of Supabase Auth the gateway uses. supabase-js and the
 * gateway then run unchanged with SUPABASE_URL set to `url`.
 */
export interface SupabaseFront {
  url: string;
  /** How many times the JWKS was fetched: verifiers must cache it and not refetch per unknown kid. */
  readonly jwksRequests: number;
  /** Makes `/auth/v1/user` refuse tokens of this session from now on, as a sign-out does. */
  endSession(sessionId: string): void;
  stop(): Promise<void>;
}

export interface SupabaseFrontOptions {
  postgrestUrl: string;
  /** Served at /auth/v1/.well-known/jwks.json; public keys only. */
  jwks: JSONWebKeySet;
}

/** Connection-level headers apply to one hop only and must not be forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host']);

function endToEndHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())));
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

export async function startSupabaseFront(options: SupabaseFrontOptions): Promise<SupabaseFront> {
  const upstream = new URL(options.postgrestUrl);
  const upstreamAgent = new Agent({ keepAlive: true });
  const verificationKeys = createLocalJWKSet(options.jwks);
  const endedSessions = new Set<string>();
  let url = '';

  const forwardToPostgrest = (request: IncomingMessage, response: ServerResponse, path: string): void => {
    const forwarded = httpRequest(
      {
        agent: upstreamAgent,
        host: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path,
        headers: endToEndHeaders(request.headers),
      },
      (upstreamResponse) => {
        response.writeHead(upstreamResponse.statusCode ?? 502, endToEndHeaders(upstreamResponse.headers));
        upstreamResponse.pipe(response);
      },
    );
    forwarded.on('error', (error) => {
      if (response.headersSent) response.destroy(error);
      else sendJson(response, 502, { message: `PostgREST is unreachable: ${error.message}` });
    });
    request.pipe(forwarded);
  };

  /** GET /auth/v1/user: the user behind an access token, as Supabase Auth answers it (from the claims). */
  const currentUser = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const token = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    try {
      if (token === undefined) throw new Error('no bearer token');
      const { payload } = await jwtVerify(token, verificationKeys, {
        issuer: `${url}/auth/v1`,
        audience: 'authenticated',
      });
      if (typeof payload.session_id === 'string' && endedSessions.has(payload.session_id)) {
        sendJson(response, 403, { code: 403, error_code: 'session_not_found', msg: 'Session not found' });
        return;
      }
      sendJson(response, 200, {
        id: payload.sub,
        aud: payload.aud,
        role: payload.role,
        email: payload.email,
        app_metadata: payload.app_metadata ?? {},
        user_metadata: payload.user_metadata ?? {},
        is_anonymous: payload.is_anonymous ?? false,
      });
    } catch (error) {
      sendJson(response, 403, { code: 403, error_code: 'bad_jwt', msg: `invalid JWT: ${String(error)}` });
    }
  };

  let jwksRequests = 0;
  const server = createServer((request, response) => {
    const path = request.url ?? '/';
    if (path.startsWith('/rest/v1/')) {
      forwardToPostgrest(request, response, path.slice('/rest/v1'.length));
    } else if (request.method === 'GET' && path === '/auth/v1/.well-known/jwks.json') {
      jwksRequests += 1;
      sendJson(response, 200, options.jwks);
    } else if (request.method === 'GET' && path === '/auth/v1/user') {
      void currentUser(request, response);
    } else {
      sendJson(response, 404, { message: `The test front does not serve ${request.method ?? ''} ${path}` });
    }
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    get jwksRequests() {
      return jwksRequests;
    },
    endSession: (sessionId) => {
      endedSessions.add(sessionId);
    },
    stop: async () => {
      const closed = new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
      });
      // Clients keep connections alive; without this, close() would wait for them to time out.
      server.closeAllConnections();
      upstreamAgent.destroy();
      await closed;
    },
  };
}
