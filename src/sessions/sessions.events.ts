import { serverEvent } from '../realtime/realtime.events';
import { COMMAND_SCHEMA, type CommandResponse } from './commands/dto/command.response';
import { SESSION_SCHEMA, type SessionResponse } from './dto/session.response';

/** Server → portal (docs/guide.md#socketio): a session's full current state, when it opens and when it closes. */
export const SESSION_UPDATED = serverEvent<SessionResponse>('session:updated', {
  namespaces: ['/portal'],
  summary: "A session's full current state, when it opens and when it closes, to its customer's sockets.",
  payload: SESSION_SCHEMA,
});

/** Server → portal (docs/guide.md#socketio): a command's full current state, when it is issued and after each transition. */
export const COMMAND_UPDATED = serverEvent<CommandResponse>('command:updated', {
  namespaces: ['/portal'],
  summary:
    "A command's full current state when it is issued and after each transition, to its customer's " +
    'sockets and to sockets subscribed to its device; `revision` orders them (keep the highest).',
  payload: COMMAND_SCHEMA,
});
