import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { AgentGateway } from './agent.gateway';
import { PortalGateway } from './portal.gateway';
import { RealtimeHandlers } from './realtime-handlers';
import { RealtimeService } from './realtime.service';
import { SocketClusterAdapter } from './socket-cluster.adapter';

/**
 * The realtime transport (docs/guide.md#socketio): the `/agent` and `/portal` namespaces, handshake authentication,
 * rooms, and the two sides features plug into: RealtimeHandlers (client events, connections) and
 * RealtimeService (server events).
 */
@Module({
  imports: [AuthModule],
  providers: [AgentGateway, PortalGateway, RealtimeHandlers, RealtimeService, SocketClusterAdapter],
  exports: [RealtimeHandlers, RealtimeService],
})
export class RealtimeModule {}
