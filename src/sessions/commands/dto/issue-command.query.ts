import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

export class IssueCommandQuery {
  /** How long the request may wait for the command to end: 200 with it if it did, else 202. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(30)
  waitSec = 0;
}
