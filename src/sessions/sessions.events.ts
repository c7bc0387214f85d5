import { serverEvent } from '../realtime/realtime.events';
import { type CommandResponse } from './commands/dto/command.response';
import { type SessionResponse } from './dto/session.response';

/** Server → portal (PRODUCT §6): a session's full current state, when it opens and when it closes. */
export const SESSION_UPDATED = serverEvent<SessionResponse>('session:updated');

/** Server → portal (PRODUCT §6): a command's full current state, after each transition. */
export const COMMAND_UPDATED = serverEvent<CommandResponse>('command:updated');
