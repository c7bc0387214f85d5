import { JSONSchema } from 'class-validator-jsonschema';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsInt,
  IsIP,
  IsNumber,
  IsOptional,
  IsString,
  Length,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

export class HeartbeatMetricsDto {
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(100)
  cpuPct?: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(100)
  memPct?: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(100)
  diskPct?: number;

  @IsOptional()
  @IsNumber()
  @Min(-60)
  @Max(150)
  tempC?: number;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(10000)
  load1?: number;
}

export class NetworkInterfaceDto {
  @IsString()
  @Length(1, 64)
  name!: string;

  @IsOptional()
  @IsBoolean()
  up?: boolean;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  ipv4?: string;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  ipv6?: string;

  @IsOptional()
  @IsString()
  @MaxLength(32)
  mac?: string;
}

export class HeartbeatNetworkDto {
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(32)
  @ValidateNested({ each: true })
  // An array's items cannot be read from its declared type, as a single nested DTO's are.
  @JSONSchema((schema) => ({ ...schema, items: { $ref: '#/definitions/NetworkInterfaceDto' } }))
  interfaces?: NetworkInterfaceDto[];

  @IsOptional()
  @IsIP()
  publicIp?: string;

  @IsOptional()
  @IsBoolean()
  gatewayReachable?: boolean;

  @IsOptional()
  @IsBoolean()
  dnsOk?: boolean;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(600000)
  latencyMs?: number;
}

export class HeartbeatDto {
  @IsInt()
  @Min(0)
  uptimeSec!: number;

  @IsOptional()
  @IsString()
  @Length(1, 64)
  agentVersion?: string;

  @IsOptional()
  @ValidateNested()
  metrics?: HeartbeatMetricsDto;

  @IsOptional()
  @ValidateNested()
  network?: HeartbeatNetworkDto;
}
