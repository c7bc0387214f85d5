import { IsOptional, IsString, Length } from 'class-validator';

export class OpenSessionDto {
  /** What the customer is looking into, for whoever reads the session later. */
  @IsOptional()
  @IsString()
  @Length(1, 500)
  reason?: string;
}
