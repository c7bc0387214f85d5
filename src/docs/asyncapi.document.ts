import { Injectable } from '@nestjs/common';
import { anyOf, dto } from '../common/docs/typed-schema';
import { type JsonSchema } from '../common/validation/dto-schema';
import { VersionService } from '../health/version.service';
import { HANDSHAKE_ERROR_SCHEMA, NAMESPACE_DOCS } from '../realtime/realtime.docs';
import { type NamespaceHandlers, RealtimeHandlers } from '../realtime/realtime-handlers';
import { declaredServerEvents, type RealtimeNamespace } from '../realtime/realtime.events';
import { PROBLEM_DEFINITION } from './problem-docs';
import { SchemaComponents } from './schema-components';

const SECURITY_SCHEMES: Record<RealtimeNamespace, JsonSchema> = {
  '/agent': {
    type: 'userPassword',
    description:
      'The device id and secret, in the handshake: `io("/agent", { auth: { deviceId, secret } })`.',
  },
  '/portal': {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A Supabase Auth access token, in the handshake: `io("/portal", { auth: { token } })`.',
  },
};

/** An AsyncAPI key (channels, messages, operations) may not hold `:` or `/`. */
function keyOf(...parts: string[]): string {
  return parts.map((part) => part.replace(/^\//, '').replace(/[^A-Za-z0-9.\-_]/g, '.')).join('.');
}

/**
 * The AsyncAPI 3.0 document (`/docs/asyncapi.json`) of the Socket.IO namespaces: every client event
 * registered with RealtimeHandlers (its payload DTO as validated, its ack, or the namespace's problem ack
 * on failure), every declared server event, the handshake's auth and close reasons.
 */
@Injectable()
export class AsyncApiDocument {
  private document: Record<string, unknown> | undefined;

  constructor(
    private readonly handlers: RealtimeHandlers,
    private readonly version: VersionService,
  ) {}

  /** The document, with the server the client reached it on (`host`, `ws` or `wss`). */
  get(host: string, secure: boolean): Record<string, unknown> {
    this.document ??= this.build();
    return {
      ...this.document,
      servers: {
        gateway: {
          host,
          protocol: secure ? 'wss' : 'ws',
          pathname: '/socket.io',
          description: 'Socket.IO (engine.io protocol 4) over WebSocket, path `/socket.io`.',
        },
      },
    };
  }

  private build(): Record<string, unknown> {
    const components = new SchemaComponents();
    components.use(PROBLEM_DEFINITION);
    const channels: Record<string, Record<string, unknown>> = {};
    const operations: Record<string, unknown> = {};
    const namespaces: [RealtimeNamespace, NamespaceHandlers<unknown>][] = [
      ['/agent', this.handlers.agent as NamespaceHandlers<unknown>],
      ['/portal', this.handlers.portal as NamespaceHandlers<unknown>],
    ];
    for (const [namespace, handlers] of namespaces) {
      const channel = keyOf(namespace);
      const docs = NAMESPACE_DOCS[namespace];
      const messages: Record<string, unknown> = {};
      const channelRef = { $ref: `#/channels/${channel}` };
      const messageRef = (key: string): { $ref: string } => ({
        $ref: `#/channels/${channel}/messages/${key}`,
      });
      const security = [{ $ref: `#/components/securitySchemes/${channel}` }];
      for (const [event, { docs: eventDocs }] of handlers.events()) {
        const key = keyOf(event);
        messages[key] = { name: event, title: event, payload: components.use(dto(eventDocs.payload)) };
        messages[`${key}.ack`] = {
          title: `${event} ack`,
          summary: 'Its answer on success; on failure, the problem',
          payload: components.use(anyOf(eventDocs.ack, handlers.failureAck.schema)),
        };
        operations[keyOf('receive', namespace, event)] = {
          action: 'receive',
          channel: channelRef,
          summary: eventDocs.summary,
          messages: [messageRef(key)],
          reply: { channel: channelRef, messages: [messageRef(`${key}.ack`)] },
          security,
        };
      }
      for (const event of declaredServerEvents().filter((declared) =>
        declared.namespaces.includes(namespace),
      )) {
        const key = keyOf(event.name);
        messages[key] = { name: event.name, title: event.name, payload: components.use(event.payload) };
        if (event.ack) {
          messages[`${key}.ack`] = {
            title: `${event.name} ack`,
            payload: components.use(event.ack),
          };
        }
        operations[keyOf('send', namespace, event.name)] = {
          action: 'send',
          channel: channelRef,
          summary: event.summary,
          messages: [messageRef(key)],
          ...(event.ack ? { reply: { channel: channelRef, messages: [messageRef(`${key}.ack`)] } } : {}),
          security,
        };
      }
      channels[channel] = {
        address: namespace,
        title: `Socket.IO namespace ${namespace}`,
        description: docs.description,
        messages,
        'x-handshake': {
          description:
            'The Socket.IO handshake authenticates the socket. A refused one ends in `connect_error` ' +
            '(`{ message, data: { code, retryAfterSec? } }`): `unauthorized` (do not retry as is) or ' +
            '`dependency_unavailable` (retry after `retryAfterSec`).',
          auth: components.use(docs.handshakeAuth),
          connectError: components.use(HANDSHAKE_ERROR_SCHEMA),
        },
      };
    }
    const { name, version } = this.version.info;
    return {
      asyncapi: '3.0.0',
      info: {
        title: `${name} realtime API`,
        version,
        description:
          'Socket.IO namespaces `/agent` (device agents) and `/portal` (customers), on path `/socket.io` with the ' +
          'websocket transport. Every payload is validated like an HTTP body; a failed event is answered with ' +
          'a problem (in its ack, or in an `error` event when it was sent without one). The HTTP API is in ' +
          'the OpenAPI document at `/docs/json`.',
      },
      defaultContentType: 'application/json',
      channels,
      operations,
      components: {
        schemas: components.all(),
        securitySchemes: Object.fromEntries(
          Object.entries(SECURITY_SCHEMES).map(([namespace, scheme]) => [keyOf(namespace), scheme]),
        ),
      },
    };
  }
}
