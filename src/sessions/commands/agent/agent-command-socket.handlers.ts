import { Injectable, type OnModuleInit } from '@nestjs/common';
import { RealtimeHandlers } from '../../../realtime/realtime-handlers';
import { type CommandResponse } from '../dto/command.response';
import { AgentCommandsService } from './agent-commands.service';
import { CommandProgressEventDto, CommandResultEventDto } from './dto/command-report.dto';

/**
 * `/agent` events about commands (PRODUCT §6): `command:progress` and `command:result`, the same use
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
      payload: CommandProgressEventDto,
      handle: async ({ commandId, ...report }, connection): Promise<{ ok: true }> => {
        await this.agentCommands.progress(connection.device, commandId, report);
        return { ok: true };
      },
    });
    this.handlers.agent.handle({
      event: 'command:result',
      payload: CommandResultEventDto,
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
