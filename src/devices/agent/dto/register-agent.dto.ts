import {
  ArrayMaxSize,
  IsArray,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';

export class HardwareDto {
  @IsOptional()
  @IsString()
  @MaxLength(200)
  model?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  serial?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  os?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  kernel?: string;
}

export class RegisterAgentDto {
  @IsString()
  @Length(1, 64)
  agentVersion!: string;

  @IsOptional()
  @ValidateNested()
  hardware?: HardwareDto;

  @IsArray()
  @ArrayMaxSize(64)
  @IsString({ each: true })
  @Length(1, 64, { each: true })
  @Matches(/^[A-Za-z0-9_.:-]+$/, { each: true })
  capabilities!: string[];
}
