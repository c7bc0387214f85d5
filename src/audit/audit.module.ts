import { Module } from '@nestjs/common';
import { storageAdapter } from '../infra/adapters';
import { AuditLogRepository } from './audit-log.repository';
import { SqlAuditLogRepository } from './storage/sql-audit-log.repository';
import { SupabaseAuditLogRepository } from './storage/supabase-audit-log.repository';

/** The append-only audit log, for the features that record who did what. */
@Module({
  providers: [
    storageAdapter(AuditLogRepository, { sql: SqlAuditLogRepository, supabase: SupabaseAuditLogRepository }),
  ],
  exports: [AuditLogRepository],
})
export class AuditModule {}
