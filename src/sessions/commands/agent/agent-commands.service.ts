import { isDeepStrictEqual } from 'node:util';
import { Injectable } from '@nestjs/common';
import { type DevicePrincipal } from '../../../auth/principal';
import { isUuid } from '../../../common/uuid';
import { AppConfig } from '../../../config/app-config';
import { type CommandRecord } from '../command';
import { isFinalStatus } from '../command-lifecycle';
import { CommandRepository } from '../command.repository';
import { type CommandResponse, toCommandResponse } from '../dto/command.response';
import { CommandRouter } from '../delivery/command-router.service';
import { CommandTransitions } from '../delivery/command-transitions.service';
import {
  AgentCommandNotFoundError,
  CommandOutputTooLargeError,
  CommandResultConflictError,
} from './agent-commands.errors';
import { type CommandProgressBodyDto, type CommandResultBodyDto } from './dto/command-report.dto';

/**
 * What an agent reports about its commands (docs/guide.md#command-delivery, #socketio), over HTTP and over its socket alike. At
 * least once: a repeated ack, progress or result changes nothing. A progress or result before the ack
 * counts as the ack (delivered is recorded first, so deliveredAt tells the truth). A command of another
 * device is a 404, as if it did not exist.
 */
@Injectable()
export class AgentCommandsService {
  constructor(
    private readonly config: AppConfig,
    private readonly commands: CommandRepository,
    private readonly transitions: CommandTransitions,
    private readonly router: CommandRouter,
  ) {}

  /** The long poll: commands handed over are `sent`. */
  async next(device: DevicePrincipal, waitSec: number, aborted: AbortSignal): Promise<CommandResponse[]> {
    const commands = await this.router.poll(device.deviceId, waitSec * 1000, aborted);
    return commands.map(toCommandResponse);
  }

  async ack(device: DevicePrincipal, commandId: string): Promise<void> {
    await this.delivered(await this.own(device, commandId));
  }

  async progress(device: DevicePrincipal, commandId: string, report: CommandProgressBodyDto): Promise<void> {
    const command = await this.delivered(await this.own(device, commandId));
    if (command.status !== 'delivered' && command.status !== 'running') return;
    const progress = {
      ...(report.message === undefined ? {} : { message: report.message }),
      ...(report.pct === undefined ? {} : { pct: report.pct }),
    };
    await this.transitions.apply(commandId, ['delivered', 'running'], { status: 'running', progress });
  }

  async result(
    device: DevicePrincipal,
    commandId: string,
    result: CommandResultBodyDto,
  ): Promise<CommandResponse> {
    const bytes = result.output === undefined ? 0 : Buffer.byteLength(JSON.stringify(result.output));
    if (bytes > this.config.COMMAND_OUTPUT_MAX_BYTES)
      throw new CommandOutputTooLargeError(bytes, this.config.COMMAND_OUTPUT_MAX_BYTES);
    const change = {
      status: result.status,
      ...(result.output === undefined ? {} : { output: result.output }),
      ...(result.error === undefined
        ? {}
        : { error: { code: result.error.code, message: result.error.message } }),
    };
    // Twice at most: a clock or a claim may move the command between the read and the transition. The
    // first try may start from what the socket's ack left, with no read: the transition checks it.
    for (let attempt = 0; ; attempt += 1) {
      const acked = attempt === 0 ? await this.router.acked(device.deviceId, commandId) : null;
      const command = acked ?? (await this.delivered(await this.own(device, commandId)));
      if (isFinalStatus(command.status)) return toCommandResponse(this.sameResult(command, result));
      const finished = await this.transitions.apply(commandId, ['delivered', 'running'], change);
      if (finished) return toCommandResponse(finished);
      if (attempt === 1) throw new CommandResultConflictError(command.id, command.status);
    }
  }

  private async own(device: DevicePrincipal, commandId: string): Promise<CommandRecord> {
    const command = isUuid(commandId) ? await this.commands.findById(commandId) : null;
    if (!command || command.deviceId !== device.deviceId) throw new AgentCommandNotFoundError(commandId);
    return command;
  }

  /**
   * Records that the device has the command, when it had not said so: from `sent`, or from `queued` for
   * a command whose ack timed out while the agent ran it all the same (it is put on the device again).
   */
  private async delivered(command: CommandRecord): Promise<CommandRecord> {
    let current = command;
    // queued → sent → delivered, each step once more when another caller moved the command in between.
    for (let step = 0; step < 4 && (current.status === 'queued' || current.status === 'sent'); step += 1) {
      const next = current.status === 'queued' ? 'sent' : 'delivered';
      current =
        (await this.transitions.apply(current.id, [current.status], { status: next })) ??
        (await this.commands.findById(current.id)) ??
        current;
    }
    return current;
  }

  /** A final command answers the same result again with itself; any other result is a conflict. */
  private sameResult(command: CommandRecord, result: CommandResultBodyDto): CommandRecord {
    const same =
      command.status === result.status &&
      isDeepStrictEqual(command.output ?? null, result.output ?? null) &&
      (result.error === undefined ||
        isDeepStrictEqual(command.error, { code: result.error.code, message: result.error.message }));
    if (!same) throw new CommandResultConflictError(command.id, command.status);
    return command;
  }
}
