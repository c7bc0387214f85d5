import { DomainError } from '../../common/errors/domain-error';
import { type ProblemCatalog } from '../../common/errors/problem-catalog';
import { type CommandStatus } from './command';
import { type CommandType } from './command-catalogue';

export enum CommandErrorCode {
  NotFound = 'command_not_found',
  RemediationRequiresPlan = 'remediation_requires_plan',
  CapabilityMissing = 'capability_missing',
  IdempotencyKeyReused = 'idempotency_key_reused',
  Final = 'command_final',
}

export const commandProblems = {
  [CommandErrorCode.NotFound]: { status: 404, title: 'Command not found' },
  [CommandErrorCode.RemediationRequiresPlan]: {
    status: 422,
    title: 'Remediation commands run only as steps of an approved plan',
  },
  [CommandErrorCode.CapabilityMissing]: { status: 422, title: 'The device cannot run this command type' },
  [CommandErrorCode.IdempotencyKeyReused]: {
    status: 409,
    title: 'The idempotency key was used for a different request',
  },
  [CommandErrorCode.Final]: { status: 409, title: 'The command is already final' },
} satisfies ProblemCatalog<CommandErrorCode>;

export class CommandNotFoundError extends DomainError<CommandErrorCode.NotFound> {
  readonly code = CommandErrorCode.NotFound;

  constructor(commandId: string) {
    super(`Command ${commandId} does not exist.`);
  }
}

/** Remediation types change the device: only an approved remediation plan issues them (docs/guide.md#commands). */
export class RemediationRequiresPlanError extends DomainError<CommandErrorCode.RemediationRequiresPlan> {
  readonly code = CommandErrorCode.RemediationRequiresPlan;

  constructor(readonly type: CommandType) {
    super(`${type} changes the device: it runs only as a step of a remediation plan the customer approved.`, {
      type,
    });
  }
}

/** Refused up front rather than sent to fail on the device: the agent did not register the type. */
export class CapabilityMissingError extends DomainError<CommandErrorCode.CapabilityMissing> {
  readonly code = CommandErrorCode.CapabilityMissing;

  constructor(
    deviceId: string,
    readonly type: CommandType,
    capabilities: readonly string[],
    /** The request field that names the type, when it is not the body's `type` (a plan's step). */
    field = 'type',
  ) {
    const detail =
      `Device ${deviceId} did not register the capability ${type}` +
      (capabilities.length === 0 ? ' (it registered none).' : ` (it registered ${capabilities.join(', ')}).`);
    super(detail, { type, capabilities: [...capabilities], errors: [{ field, message: detail }] });
  }
}

export class IdempotencyKeyReusedError extends DomainError<CommandErrorCode.IdempotencyKeyReused> {
  readonly code = CommandErrorCode.IdempotencyKeyReused;

  constructor(readonly commandId: string) {
    super(
      'This Idempotency-Key was used within 24 hours for a different request (session, type, params or ' +
        'timeoutSec); use a new key for a new command.',
      { commandId },
    );
  }
}

/** Names the final status, so a client that lost the race with the result knows how the command ended. */
export class CommandFinalError extends DomainError<CommandErrorCode.Final> {
  readonly code = CommandErrorCode.Final;

  constructor(commandId: string, status: CommandStatus) {
    super(`Command ${commandId} is already ${status}.`, { commandStatus: status });
  }
}
