import { Injectable, type OnModuleInit } from '@nestjs/common';
import { constant, object } from '../../../common/docs/typed-schema';
import { RealtimeHandlers } from '../../../realtime/realtime-handlers';
import { COMMAND_SCHEMA, type CommandResponse } from '../dto/command.response';
import { AgentCommandsService } from './agent-commands.service';
import { CommandProgressEventDto, CommandResultEventDto } from './dto/command-report.dto';

/**
 * `/agent` events about commands (docs/guide.md#socketio): `command:progress` and `command:result`, the same use
 * cases as the HTTP routes; a failure is the ack's problem (`{ error }`, as the transport answers).
 */
@Injectable()
export class AgentCommandSocketHandlers implements OnModuleInit {
  constructor(
    private readonly handlers: RealtimeHandlers,
    private readonly agentCommands: AgentCommandsService,
  ) {}

  onModuleInit(): void {
    this.handlers.agent.handle({
      event: 'command:progress',
      summary:
        "The command's progress (docs/guide.md#socketio): `delivered → running`, as POST /v1/agent/commands/:id/progress; " +
        'before the ack it counts as the ack.',
      payload: CommandProgressEventDto,
      ack: object<{ ok: true }>({ ok: constant(true) }),
      handle: async ({ commandId, ...report }, connection): Promise<{ ok: true }> => {
        await this.agentCommands.progress(connection.device, commandId, report);
        return { ok: true };
      },
    });
    this.handlers.agent.handle({
      event: 'command:result',
      summary:
        "The command's result, as POST /v1/agent/commands/:id/result: the same result again answers the " +
        'command; another after a final state is a 409, a foreign command a 404, an over-size output a 413.',
      payload: CommandResultEventDto,
      ack: object<{ ok: true; command: CommandResponse }>({ ok: constant(true), command: COMMAND_SCHEMA }),
      handle: async (
        { commandId, ...result },
        connection,
      ): Promise<{ ok: true; command: CommandResponse }> => ({
        ok: true,
        command: await this.agentCommands.result(connection.device, commandId, result),
      }),
    });
  }
}
