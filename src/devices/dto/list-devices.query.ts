import { IsIn, IsOptional } from 'class-validator';
import { PageQuery } from '../../common/http/page.query';
import { PRESENCE_STATES, type PresenceState } from '../device';

export class ListDevicesQuery extends PageQuery {
  @IsOptional()
  @IsIn(PRESENCE_STATES)
  state?: PresenceState;
}
