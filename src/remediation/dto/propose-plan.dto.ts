import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Max,
  Min,
} from 'class-validator';
import { JSONSchema } from 'class-validator-jsonschema';
import { PLAN_RISKS, type PlanRisk } from '../plan';

/** Steps per plan (issue 12 item 3). */
export const MAX_PLAN_STEPS = 20;

/** How long a plan waits for its decision: one hour unless the proposer says otherwise, at most a day. */
export const PLAN_EXPIRY_SEC = { default: 3600, min: 60, max: 86_400 } as const;

/**
 * `POST /v1/sessions/:id/remediation-plans` (docs/guide.md#remediation-plans). The steps are checked one by one against the
 * command catalogue by the service, so that every error names its step (`steps[1].params.interface`);
 * the body schema only bounds their number.
 */
export class ProposePlanDto {
  @IsString()
  @Length(1, 500)
  summary!: string;

  @IsOptional()
  @IsString()
  @Length(1, 4000)
  rationale?: string;

  @IsIn(PLAN_RISKS)
  risk!: PlanRisk;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_PLAN_STEPS)
  @JSONSchema((schema) => ({
    ...schema,
    items: {},
    description: 'Each { type, params, description }: a remediation type of the catalogue and its parameters',
  }))
  steps!: unknown[];

  @IsOptional()
  @IsInt()
  @Min(PLAN_EXPIRY_SEC.min)
  @Max(PLAN_EXPIRY_SEC.max)
  expiresInSec?: number;
}
