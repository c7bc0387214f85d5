import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { HealthModule } from '../health/health.module';
import { RealtimeModule } from '../realtime/realtime.module';
import { AsyncApiDocument } from './asyncapi.document';
import { DocsController } from './docs.controller';
import { OpenApiDocument } from './openapi.document';
import { RouteRecorder } from './route-recorder';

/**
 * The API documents (issue 14 items 1 and 2): OpenAPI 3.1 at `/docs/json` with a UI at `/docs`, AsyncAPI 3
 * at `/docs/asyncapi.json`, both built from the routes, DTOs and event registrations the gateway runs.
 * The last feature: it reads every other one.
 */
@Module({
  imports: [DiscoveryModule, HealthModule, RealtimeModule],
  controllers: [DocsController],
  providers: [RouteRecorder, OpenApiDocument, AsyncApiDocument],
  exports: [OpenApiDocument, AsyncApiDocument],
})
export class DocsModule {}
