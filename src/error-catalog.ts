import { authProblems, type AuthErrorCode } from './auth/auth.errors';
import { deviceProblems, type DeviceErrorCode } from './devices/devices.errors';
import { realtimeProblems, type RealtimeErrorCode } from './realtime/realtime.errors';
import { commandProblems, type CommandErrorCode } from './sessions/commands/commands.errors';
import { remediationProblems, type RemediationErrorCode } from './remediation/remediation.errors';
import { sessionProblems, type SessionErrorCode } from './sessions/sessions.errors';
import {
  agentCommandProblems,
  type AgentCommandErrorCode,
} from './sessions/commands/agent/agent-commands.errors';
import { commonProblems, type CommonErrorCode } from './common/errors/common.errors';
import { type ProblemCatalog } from './common/errors/problem-catalog';

/**
 * Every error code the gateway can raise. A feature adds its enum here and its catalog below; the spec
 * beside this file fails for a feature enum left out.
 */
export type ErrorCode =
  | CommonErrorCode
  | AuthErrorCode
  | DeviceErrorCode
  | RealtimeErrorCode
  | SessionErrorCode
  | CommandErrorCode
  | RemediationErrorCode
  | AgentCommandErrorCode;

/** Typed as a complete Record: an enum member without an HTTP mapping fails to compile. */
export const ERROR_CATALOG: ProblemCatalog<ErrorCode> = {
  ...commonProblems,
  ...authProblems,
  ...deviceProblems,
  ...realtimeProblems,
  ...sessionProblems,
  ...commandProblems,
  ...remediationProblems,
  ...agentCommandProblems,
};
