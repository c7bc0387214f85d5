import { DomainError } from '../../../common/errors/domain-error';
import { type ProblemCatalog } from '../../../common/errors/problem-catalog';

export enum AgentCommandErrorCode {
  NotFound = 'agent_command_not_found',
  ResultConflict = 'command_result_conflict',
  OutputTooLarge = 'command_output_too_large',
}

export const agentCommandProblems = {
  [AgentCommandErrorCode.NotFound]: { status: 404, title: 'Command not found' },
  [AgentCommandErrorCode.ResultConflict]: {
    status: 409,
    title: 'The command already ended with another result',
  },
  [AgentCommandErrorCode.OutputTooLarge]: { status: 413, title: 'The result output is too large' },
} satisfies ProblemCatalog<AgentCommandErrorCode>;

/** Also for a command of another device: a device learns nothing of commands that are not its own. */
export class AgentCommandNotFoundError extends DomainError<AgentCommandErrorCode.NotFound> {
  readonly code = AgentCommandErrorCode.NotFound;

  constructor(commandId: string) {
    super(`Command ${commandId} does not exist for this device.`);
  }
}

export class CommandResultConflictError extends DomainError<AgentCommandErrorCode.ResultConflict> {
  readonly code = AgentCommandErrorCode.ResultConflict;

  constructor(commandId: string, status: string) {
    super(`Command ${commandId} already ended ${status} with another result.`, { commandStatus: status });
  }
}

export class CommandOutputTooLargeError extends DomainError<AgentCommandErrorCode.OutputTooLarge> {
  readonly code = AgentCommandErrorCode.OutputTooLarge;

  constructor(bytes: number, maxBytes: number) {
    super(`The output is ${bytes} bytes; at most ${maxBytes} are accepted.`, { maxBytes });
  }
}
