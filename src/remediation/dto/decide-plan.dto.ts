import { IsOptional, IsString, Length, Matches } from 'class-validator';

export class ApprovePlanDto {
  /** The planHash of the plan as the customer saw it: SHA-256, hex. */
  @IsString()
  @Matches(/^[0-9a-f]{64}$/, { message: 'planHash must be 64 lower-case hexadecimal characters' })
  planHash!: string;
}

export class RejectPlanDto {
  /** Why the customer said no, for the proposer. */
  @IsOptional()
  @IsString()
  @Length(1, 500)
  reason?: string;
}
