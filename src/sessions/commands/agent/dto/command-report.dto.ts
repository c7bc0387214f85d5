import { Type } from 'class-transformer';
import { JSONSchema } from 'class-validator-jsonschema';
import {
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { OPEN_OBJECT } from '../../../../common/validation/dto-schema';

export const RESULT_STATUSES = ['succeeded', 'failed'] as const;
export type ResultStatus = (typeof RESULT_STATUSES)[number];

export class CommandErrorDto {
  @IsString()
  @Length(1, 64)
  code!: string;

  @IsString()
  @MaxLength(1000)
  message!: string;
}

/** `POST /v1/agent/commands/:id/progress` (docs/guide.md#command-delivery). */
export class CommandProgressBodyDto {
  @IsOptional()
  @IsString()
  @MaxLength(500)
  message?: string;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(100)
  pct?: number;
}

/** `POST /v1/agent/commands/:id/result` (docs/guide.md#command-delivery); `output`'s size is bounded by configuration. */
export class CommandResultBodyDto {
  @IsIn(RESULT_STATUSES)
  status!: ResultStatus;

  @IsOptional()
  @IsObject()
  @JSONSchema({ type: 'object', [OPEN_OBJECT]: true })
  output?: Record<string, unknown>;

  @IsOptional()
  @ValidateNested()
  @Type(() => CommandErrorDto)
  error?: CommandErrorDto;
}

/** Socket `command:progress` (docs/guide.md#socketio): the HTTP body with the command's id. */
export class CommandProgressEventDto extends CommandProgressBodyDto {
  @IsUUID()
  commandId!: string;
}

/** Socket `command:result` (docs/guide.md#socketio): the HTTP body with the command's id. */
export class CommandResultEventDto extends CommandResultBodyDto {
  @IsUUID()
  commandId!: string;
}

export class AgentCommandsQueryDto {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(30)
  waitSec?: number;
}
