import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { HotRouteRegistrar } from './hot-route.registrar';

/** Serves the controllers' @HotRoute() methods (see hot-route.ts). */
@Module({ imports: [DiscoveryModule], providers: [HotRouteRegistrar] })
export class HotRoutesModule {}
