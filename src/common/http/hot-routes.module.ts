import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AuthModule } from '../../auth/auth.module';
import { HotRouteRegistrar } from './hot-route.registrar';

/** Serves the controllers' @HotRoute() methods (see hot-route.ts). */
@Module({ imports: [DiscoveryModule, AuthModule], providers: [HotRouteRegistrar] })
export class HotRoutesModule {}
