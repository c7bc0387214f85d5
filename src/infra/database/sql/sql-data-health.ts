import { Injectable } from '@nestjs/common';
import { DataHealth } from '../data-health';
import { SqlExecutor } from './sql-executor';

@Injectable()
export class SqlDataHealth extends DataHealth {
  constructor(private readonly sql: SqlExecutor) {
    super();
  }

  async check(): Promise<void> {
    await this.sql.query('select 1 from public.devices limit 1');
  }
}
