import { IsIn, IsOptional, IsUUID } from 'class-validator';
import { PageQuery } from '../../common/http/page.query';
import { SESSION_STATES, type SessionState } from '../session';

export class ListSessionsQuery extends PageQuery {
  @IsOptional()
  @IsUUID()
  deviceId?: string;

  @IsOptional()
  @IsIn(SESSION_STATES)
  state?: SessionState;
}
