import { Module } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { AppConfig } from '../config/app-config';
import { storageAdapter } from '../infra/adapters';
import { AuthSecrets } from './auth-secrets';
import { AuthenticateBeforeBody } from './authenticate-before-body';
import { CustomerTokenVerifier } from './customer-token.verifier';
import { DeviceCredentialStore } from './device-credential.store';
import { DeviceCredentialsService } from './device-credentials.service';
import { PrincipalGuard } from './principal.guard';
import { ServiceKeyVerifier } from './service-key.verifier';
import { CustomerStrategy } from './strategies/customer.strategy';
import { DeviceStrategy } from './strategies/device.strategy';
import { ServiceStrategy } from './strategies/service.strategy';
import { SqlDeviceCredentialStore } from './storage/sql-device-credential.store';
import { SupabaseDeviceCredentialStore } from './storage/supabase-device-credential.store';

/**
 * Principals and their verification (docs/guide.md#principals-and-authentication). The verifiers are exported for the Socket.IO handshakes;
 * the guard is global (registered with useExisting so a test module can override it), and every route,
 * Nest's or registered with Fastify directly, is authenticated with its checks before its body is read
 * (AuthenticateBeforeBody).
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    AuthenticateBeforeBody,
    {
      provide: AuthSecrets,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => AuthSecrets.load(config),
    },
    CustomerTokenVerifier,
    ServiceKeyVerifier,
    DeviceCredentialsService,
    storageAdapter(DeviceCredentialStore, {
      sql: SqlDeviceCredentialStore,
      supabase: SupabaseDeviceCredentialStore,
    }),
    DeviceStrategy,
    CustomerStrategy,
    ServiceStrategy,
    PrincipalGuard,
    { provide: APP_GUARD, useExisting: PrincipalGuard },
  ],
  exports: [CustomerTokenVerifier, ServiceKeyVerifier, DeviceCredentialsService, AuthSecrets],
})
export class AuthModule {}
