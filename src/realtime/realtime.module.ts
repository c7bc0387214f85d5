import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { DevicesModule } from '../devices/devices.module';
import { AgentGateway } from './agent.gateway';
import { PortalGateway } from './portal.gateway';
import { PresenceRelay } from '../devices/presence/presence-relay';
import { RealtimeService } from './realtime.service';
import { SocketClusterAdapter } from './socket-cluster.adapter';

@Module({
  imports: [AuthModule, DevicesModule],
  providers: [AgentGateway, PortalGateway, RealtimeService, PresenceRelay, SocketClusterAdapter],
  exports: [RealtimeService],
})
export class RealtimeModule {}
