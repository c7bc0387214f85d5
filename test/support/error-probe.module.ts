import { Body, Controller, Get, Headers, HttpCode, Logger, Module, Post } from '@nestjs/common';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsNotEmpty, IsString, MaxLength, ValidateNested } from 'class-validator';
import { Public } from '../../src/auth/public.decorator';

/** Said by the route that fails unexpectedly; a 500 must never reveal it. */
export const INTERNAL_FAILURE_MESSAGE =
  'connection to db-internal-7.example:5432 refused for user gateway_rw';

class ProbeHardwareDto {
  @IsString()
  @IsNotEmpty()
  model!: string;
}

class ProbeInterfaceDto {
  @IsString()
  @MaxLength(17)
  mac!: string;
}

/** A body with a nested object and an array of objects, like the device routes will take. */
export class ProbeBodyDto {
  @IsString()
  @IsNotEmpty()
  name!: string;

  @ValidateNested()
  @Type(() => ProbeHardwareDto)
  hardware!: ProbeHardwareDto;

  @IsArray()
  @ArrayMaxSize(8)
  @ValidateNested({ each: true })
  @Type(() => ProbeInterfaceDto)
  interfaces!: ProbeInterfaceDto[];
}

/** Test-only routes that exercise the error paths every real route shares. */
@Public()
@Controller('test')
class ErrorProbeController {
  private readonly logger = new Logger('ErrorProbe');

  @Post('echo')
  @HttpCode(200)
  echo(@Body() body: ProbeBodyDto): ProbeBodyDto {
    return body;
  }

  @Get('boom')
  boom(): never {
    throw new Error(INTERNAL_FAILURE_MESSAGE);
  }

  /** Logs what careless code might log: the caller's headers and an object holding credentials. */
  @Get('log-credentials')
  logCredentials(@Headers() headers: Record<string, string>): { logged: true } {
    this.logger.warn({ msg: 'incoming headers', headers });
    return { logged: true };
  }
}

@Module({ controllers: [ErrorProbeController] })
export class ErrorProbeModule {}
