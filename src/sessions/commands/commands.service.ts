import { Injectable, Logger } from '@nestjs/common';
import { type Actor } from '../../audit/audit-event';
import { AuditLogRepository } from '../../audit/audit-log.repository';
import { actorOf, type CustomerPrincipal, type ServicePrincipal } from '../../auth/principal';
import { ForbiddenError, ValidationFailedError } from '../../common/errors/common.errors';
import { AppConfig } from '../../config/app-config';
import { DevicesService } from '../../devices/devices.service';
import { type SessionRecord } from '../session';
import { SessionRepository } from '../session.repository';
import { SessionNotFoundError } from '../sessions.errors';
import { type CommandRecord } from './command';
import { checkCommandParams, checkTimeout, COMMAND_CATALOGUE } from './command-catalogue';
import { isFinalStatus } from './command-lifecycle';
import { CommandRepository } from './command.repository';
import {
  CapabilityMissingError,
  CommandFinalError,
  CommandNotFoundError,
  IdempotencyKeyReusedError,
  RemediationRequiresPlanError,
} from './commands.errors';
import { CommandDelivery } from './delivery/command-delivery';
import { type CommandResponse, toCommandResponse } from './dto/command.response';
import { type IssueCommandDto } from './dto/issue-command.dto';
import { checkIdempotencyKey, IDEMPOTENCY_WINDOW_SEC, requestHashOf } from './idempotency';

/** How many commands one read of a session's commands asks the database for. */
const COMMANDS_PAGE = 100;

/** Why a command was cancelled, as its audit event says. */
export type CancelReason = 'requested' | 'session_closed' | 'device_revoked';

/** What issuing answers: the command, whether it is final (200) or not yet (202), and whether a key replayed it. */
export interface IssuedCommand {
  command: CommandResponse;
  final: boolean;
  replayed: boolean;
}

/**
 * The customer API of commands (docs/guide.md#commands; issue 11 item 9): issuing a diagnostic in an open
 * session of the customer's, reading a command, cancelling one, and cancelling a closed session's open
 * commands. Delivery, the clocks and `command:updated` belong to the engine behind CommandDelivery.
 * Customers reach their own commands only (another's is "not found"); admins and backend services read
 * every command; an admin issues and cancels in its own sessions only, as it closes only its own.
 */
@Injectable()
export class CommandsService {
  private readonly logger = new Logger(CommandsService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly commands: CommandRepository,
    private readonly sessions: SessionRepository,
    private readonly devices: DevicesService,
    private readonly delivery: CommandDelivery,
    private readonly audit: AuditLogRepository,
  ) {}

  async issue(
    customer: CustomerPrincipal,
    sessionId: string,
    body: IssueCommandDto,
    idempotencyKeyHeader: string | undefined,
    waitSec: number,
  ): Promise<IssuedCommand> {
    const declaration = COMMAND_CATALOGUE[body.type];
    // Refused whatever the rest says: no correction of the body makes it acceptable here.
    if (declaration.risk === 'remediation') throw new RemediationRequiresPlanError(body.type);
    const params = checkCommandParams(body.type, body.params);
    const timeout = checkTimeout(body.type, body.timeoutSec);
    const key = checkIdempotencyKey(idempotencyKeyHeader);
    if ('errors' in params || 'errors' in timeout || 'errors' in key) {
      throw new ValidationFailedError([
        ...('errors' in params ? params.errors : []),
        ...('errors' in timeout ? timeout.errors : []),
        ...('errors' in key ? key.errors : []),
      ]);
    }

    const session = await this.ownSession(customer, sessionId);
    // A closed session takes no command, but a retry with its key still gets the command the key made:
    // create() answers both, so the device, which may be gone with the session, is not asked first.
    if (session.state === 'open') {
      const device = await this.devices.actionable(customer, session.deviceId);
      if (!device.capabilities.includes(body.type)) {
        throw new CapabilityMissingError(device.id, body.type, device.capabilities);
      }
    }
    const requestHash = requestHashOf({
      sessionId: session.id,
      type: body.type,
      params: params.value,
      timeoutSec: timeout.value,
    });
    const { command, created, queued } = await this.commands.create({
      sessionId: session.id,
      type: body.type,
      params: params.value,
      timeoutSec: timeout.value,
      expiresInSec: this.config.COMMAND_EXPIRY_SEC,
      issuedBy: actorOf(customer),
      planStep: null,
      idempotency:
        key.value === null ? null : { key: key.value, requestHash, windowSec: IDEMPOTENCY_WINDOW_SEC },
    });
    if (!created && command.requestHash !== requestHash) throw new IdempotencyKeyReusedError(command.id);
    // Watched before it is submitted, so that a device answering at once is heard.
    const watch = waitSec > 0 && !isFinalStatus(command.status) ? this.delivery.watch(command.id) : null;
    let current = command;
    try {
      if (created) {
        await this.submit(command, queued);
        await this.audit.append({
          actor: command.issuedBy,
          action: 'command.issued',
          subjectType: 'command',
          subjectId: command.id,
          customerId: command.customerId,
          details: {
            sessionId: command.sessionId,
            deviceId: command.deviceId,
            type: command.type,
            params: command.params,
            timeoutSec: command.timeoutSec,
          },
        });
      }
      // A replayed command may have ended between its read and the watch.
      if (watch) current = (await watch.settled(waitSec * 1000, { readFirst: !created })) ?? command;
    } finally {
      watch?.stop();
    }
    return { command: toCommandResponse(current), final: isFinalStatus(current.status), replayed: !created };
  }

  async get(reader: CustomerPrincipal | ServicePrincipal, commandId: string): Promise<CommandResponse> {
    return toCommandResponse(await this.readable(reader, commandId));
  }

  async cancel(customer: CustomerPrincipal, commandId: string): Promise<CommandResponse> {
    const command = await this.readable(customer, commandId);
    if (command.customerId !== customer.userId) {
      throw new ForbiddenError('Admins may read every command but cancel only their own.');
    }
    if (isFinalStatus(command.status)) throw new CommandFinalError(command.id, command.status);
    const cancelled = await this.cancelAndRecord(command, actorOf(customer), 'requested');
    if (!cancelled) {
      // It ended between the read and the cancel: say how.
      const now = await this.commands.findById(command.id);
      throw new CommandFinalError(command.id, now?.status ?? 'cancelled');
    }
    return toCommandResponse(cancelled);
  }

  /**
   * Cancels every command of a session that is not final. Called once the session's close has
   * committed: create_command share-locks the session, so a command issued concurrently either was
   * written before the close (and is read here) or saw the session closed and was refused.
   */
  async cancelOpenOfSession(sessionId: string, actor: Actor, reason: CancelReason): Promise<void> {
    let cursor: string | undefined;
    do {
      const page = await this.commands.listBySession({ sessionId, cursor, limit: COMMANDS_PAGE });
      for (const command of page.items) {
        if (!isFinalStatus(command.status)) await this.cancelAndRecord(command, actor, reason);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  /** Cancels through the engine (which tells the device) and audits it; null when it was already final. */
  private async cancelAndRecord(
    command: CommandRecord,
    actor: Actor,
    reason: CancelReason,
  ): Promise<CommandRecord | null> {
    const cancelled = await this.delivery.cancel(command.id);
    if (!cancelled) return null;
    await this.audit.append({
      actor,
      action: 'command.cancelled',
      subjectType: 'command',
      subjectId: cancelled.id,
      customerId: cancelled.customerId,
      details: {
        sessionId: cancelled.sessionId,
        deviceId: cancelled.deviceId,
        type: cancelled.type,
        reason,
      },
    });
    return cancelled;
  }

  /**
   * Hands a new command to the engine. It is stored and `queued` whatever happens here, and the engine
   * rebuilds the clocks of every stored command that is not final, so a failure is logged, not answered:
   * an error would make the client issue the command again.
   */
  private async submit(command: CommandRecord, queued: number | undefined): Promise<void> {
    try {
      await this.delivery.submit(command, queued);
    } catch (error) {
      this.logger.warn(
        `Command ${command.id} is stored but its delivery did not start (${String(error)}); it waits ` +
          'queued until the device connects or the clocks are rebuilt',
      );
    }
  }

  /** The customer's own session, for writing to; forbidden to an admin for another's (as closing is). */
  private async ownSession(customer: CustomerPrincipal, sessionId: string): Promise<SessionRecord> {
    const session = await this.sessions.findById(sessionId);
    if (!session) throw new SessionNotFoundError(sessionId);
    if (session.customerId !== customer.userId) {
      if (!customer.isAdmin) throw new SessionNotFoundError(sessionId);
      throw new ForbiddenError('Admins may read every session but issue commands only in their own.');
    }
    return session;
  }

  /** Customers read their own commands, admins and backend services every one. */
  private async readable(
    reader: CustomerPrincipal | ServicePrincipal,
    commandId: string,
  ): Promise<CommandRecord> {
    const command = await this.commands.findById(commandId);
    if (!command) throw new CommandNotFoundError(commandId);
    const readsAll = reader.kind === 'service' || reader.isAdmin;
    if (!readsAll && command.customerId !== reader.userId) throw new CommandNotFoundError(commandId);
    return command;
  }
}
