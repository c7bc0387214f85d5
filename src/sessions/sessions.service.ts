import { Injectable } from '@nestjs/common';
import { AuditLogRepository } from '../audit/audit-log.repository';
import { actorOf, type CustomerPrincipal, type ServicePrincipal } from '../auth/principal';
import { ForbiddenError } from '../common/errors/common.errors';
import { type DeviceRevocation } from '../devices/device-revocations';
import { watchersOf } from '../devices/devices.events';
import { DevicesService } from '../devices/devices.service';
import { RealtimeService } from '../realtime/realtime.service';
import { CommandRepository } from './commands/command.repository';
import { type CancelReason, CommandsService } from './commands/commands.service';
import { type CommandResponse, toCommandResponse } from './commands/dto/command.response';
import { type ListSessionsQuery } from './dto/list-sessions.query';
import { type OpenSessionDto } from './dto/open-session.dto';
import {
  type SessionResponse,
  type SessionWithCommandsResponse,
  toSessionResponse,
} from './dto/session.response';
import { type SessionCloseReason, type SessionClosing, type SessionRecord } from './session';
import { SessionClosings } from './session-closings';
import { SessionPlans } from './session-plans';
import { SessionRepository } from './session.repository';
import { SessionClosedError, SessionNotFoundError } from './sessions.errors';
import { SESSION_UPDATED } from './sessions.events';

/** How many commands one read of a session's commands asks the database for. */
const COMMANDS_PAGE = 100;

/** Why a closing session's commands are cancelled, by why it closed. */
const CANCEL_REASON: Record<SessionCloseReason, CancelReason> = {
  requested: 'session_closed',
  device_revoked: 'device_revoked',
};

/**
 * Diagnostic sessions (docs/guide.md#diagnostic-sessions, #principals-and-authentication): a customer opens one on its own live device, at most one open
 * per device, and closes it. A session of another customer is "not found"; admins and backend services
 * read every session; only its customer opens or closes one. Each opening and closing is audited and sent
 * to the portals watching the device as `session:updated`; closing cancels the session's open commands.
 */
@Injectable()
export class SessionsService {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly commands: CommandRepository,
    private readonly devices: DevicesService,
    private readonly audit: AuditLogRepository,
    private readonly realtime: RealtimeService,
    private readonly commandsApi: CommandsService,
    private readonly closings: SessionClosings,
    private readonly plans: SessionPlans,
  ) {}

  async open(customer: CustomerPrincipal, deviceId: string, input: OpenSessionDto): Promise<SessionResponse> {
    const device = await this.devices.actionable(customer, deviceId);
    const session = await this.sessions.open({
      deviceId: device.id,
      customerId: device.customerId,
      reason: input.reason ?? null,
      openedBy: actorOf(customer),
    });
    await this.audit.append({
      actor: session.openedBy,
      action: 'session.opened',
      subjectType: 'session',
      subjectId: session.id,
      customerId: session.customerId,
      details: { deviceId: session.deviceId, reason: session.reason },
    });
    return this.announce(session);
  }

  async list(
    customer: CustomerPrincipal,
    query: ListSessionsQuery,
  ): Promise<{ items: SessionResponse[]; nextCursor: string | null }> {
    const page = await this.sessions.list({
      customerId: customer.isAdmin ? undefined : customer.userId,
      deviceId: query.deviceId,
      state: query.state,
      cursor: query.cursor,
      limit: query.limit,
    });
    return { items: page.items.map(toSessionResponse), nextCursor: page.nextCursor };
  }

  async get(
    reader: CustomerPrincipal | ServicePrincipal,
    sessionId: string,
  ): Promise<SessionWithCommandsResponse> {
    const session = await this.readable(reader, sessionId);
    return {
      ...toSessionResponse(session),
      commands: await this.commandsOf(session.id),
      plans: await this.plans.of(session.id),
    };
  }

  async close(customer: CustomerPrincipal, sessionId: string): Promise<SessionResponse> {
    const session = await this.readable(customer, sessionId);
    if (session.customerId !== customer.userId) {
      throw new ForbiddenError('Admins may read every session but close only their own.');
    }
    const closing: SessionClosing = { closedBy: actorOf(customer), closeReason: 'requested' };
    const closed = await this.closeAndRecord(session.id, closing);
    if (!closed) {
      // Closed already, perhaps by a close whose cancellations failed half way: this retry finishes them.
      await this.commandsApi.cancelOpenOfSession(session.id, closing.closedBy, 'session_closed');
      throw new SessionClosedError(session.id);
    }
    return this.announce(closed);
  }

  /** A deleted device's open session closes with it (DeviceRevocations, from the devices feature). */
  async closeForRevokedDevice(revocation: DeviceRevocation): Promise<void> {
    // At most one is open (a unique index), and none can open on a revoked device.
    const [open] = (await this.sessions.list({ deviceId: revocation.deviceId, state: 'open', limit: 1 }))
      .items;
    if (!open) return;
    const closed = await this.closeAndRecord(open.id, {
      closedBy: revocation.revokedBy,
      closeReason: 'device_revoked',
    });
    if (closed) this.announce(closed);
  }

  /**
   * Closes a session if it is still open, audits it, and then cancels its commands that are not final;
   * null when it was not open. The commands are read once the close has committed, so one issued
   * concurrently is among them (see CommandsService.cancelOpenOfSession).
   */
  private async closeAndRecord(sessionId: string, closing: SessionClosing): Promise<SessionRecord | null> {
    const closed = await this.sessions.close(sessionId, closing);
    if (!closed) return null;
    await this.audit.append({
      actor: closing.closedBy,
      action: 'session.closed',
      subjectType: 'session',
      subjectId: closed.id,
      customerId: closed.customerId,
      details: { deviceId: closed.deviceId, closeReason: closing.closeReason },
    });
    // Plans first: a plan cancelled with its session ends `cancelled`, where its running step cancelled
    // first would have failed it.
    await this.closings.announce(closed);
    await this.commandsApi.cancelOpenOfSession(
      closed.id,
      closing.closedBy,
      CANCEL_REASON[closing.closeReason],
    );
    return closed;
  }

  /** Sends the session to the portals watching its device, on every instance, and returns it. */
  private announce(session: SessionRecord): SessionResponse {
    const response = toSessionResponse(session);
    this.realtime.toPortal(
      watchersOf({ id: session.deviceId, customerId: session.customerId }),
      SESSION_UPDATED,
      response,
    );
    return response;
  }

  /** Customers read their own sessions, admins and backend services every one. */
  private async readable(
    reader: CustomerPrincipal | ServicePrincipal,
    sessionId: string,
  ): Promise<SessionRecord> {
    const session = await this.sessions.findById(sessionId);
    if (!session) throw new SessionNotFoundError(sessionId);
    const readsAll = reader.kind === 'service' || reader.isAdmin;
    if (!readsAll && session.customerId !== reader.userId) throw new SessionNotFoundError(sessionId);
    return session;
  }

  private async commandsOf(sessionId: string): Promise<CommandResponse[]> {
    const commands: CommandResponse[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.commands.listBySession({ sessionId, cursor, limit: COMMANDS_PAGE });
      commands.push(...page.items.map(toCommandResponse));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return commands;
  }
}
