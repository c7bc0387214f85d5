import { IsDefined, IsIn, IsInt, IsOptional, Min } from 'class-validator';
import { COMMAND_TYPES, type CommandType } from '../command-catalogue';

/**
 * `POST /v1/sessions/:sessionId/commands`. The body's schema checks its shape; `params` is checked
 * against its type's own schema (checkCommandParams) and `timeoutSec` against its type's maximum
 * (checkTimeout) once the type is known, with field errors named from the body (`params.host`).
 */
export class IssueCommandDto {
  @IsIn(COMMAND_TYPES)
  type!: CommandType;

  // Left open here: a closed `object` schema would refuse every parameter before its type's schema runs.
  @IsDefined()
  params!: unknown;

  /** Seconds the command may run once delivered; the type's default when omitted. */
  @IsOptional()
  @IsInt()
  @Min(1)
  timeoutSec?: number;
}
