import { Module } from '@nestjs/common';
import { PresenceEvents } from './presence-events';
import { PresenceService } from './presence.service';

@Module({ providers: [PresenceService, PresenceEvents], exports: [PresenceService, PresenceEvents] })
export class PresenceModule {}
