import { serverEvent } from '../realtime/realtime.events';
import { SESSION_SCHEMA, type SessionResponse } from './dto/session.response';

/** Server → portal (PRODUCT §6): a session's full current state, when it opens and when it closes. */
export const SESSION_UPDATED = serverEvent<SessionResponse>('session:updated', {
  namespaces: ['/portal'],
  summary: "A session's full current state, when it opens and when it closes, to its customer's sockets.",
  payload: SESSION_SCHEMA,
});
