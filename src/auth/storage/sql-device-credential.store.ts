import { Injectable } from '@nestjs/common';
import { isUuid } from '../../common/uuid';
import { SqlExecutor } from '../../infra/database/sql/sql-executor';
import { DeviceCredentialStore, type StoredDeviceCredential } from '../device-credential.store';

interface CredentialRow {
  customer_id: string;
  status: string;
  secret_hash: string;
}

@Injectable()
export class SqlDeviceCredentialStore extends DeviceCredentialStore {
  constructor(private readonly sql: SqlExecutor) {
    super();
  }

  async find(deviceId: string): Promise<StoredDeviceCredential | null> {
    if (!isUuid(deviceId)) return null;
    const [row] = await this.sql.query<CredentialRow>(
      'select customer_id, status, secret_hash from public.devices where id = $1',
      [deviceId],
    );
    return row
      ? { customerId: row.customer_id, revoked: row.status === 'revoked', secretHash: row.secret_hash }
      : null;
  }

  async listRevokedSince(since: Date, limit: number): Promise<string[]> {
    const rows = await this.sql.query<{ id: string }>(
      `select id from public.devices where status = 'revoked' and revoked_at >= $1
       order by revoked_at, id limit $2`,
      [since.toISOString(), limit],
    );
    return rows.map((row) => row.id);
  }
}
