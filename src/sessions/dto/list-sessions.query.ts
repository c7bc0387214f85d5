import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import { SESSION_STATES, type SessionState } from '../session';

export class ListSessionsQuery {
  @IsOptional()
  @IsUUID()
  deviceId?: string;

  @IsOptional()
  @IsIn(SESSION_STATES)
  state?: SessionState;

  @IsOptional()
  @IsString()
  @MaxLength(512)
  cursor?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit = 50;
}
