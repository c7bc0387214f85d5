import { Module } from '@nestjs/common';
import { PresenceModule } from '../presence/presence.module';
import { AgentController } from './agent.controller';
import { AgentService } from './agent.service';

@Module({ imports: [PresenceModule], controllers: [AgentController], providers: [AgentService] })
export class AgentModule {}
