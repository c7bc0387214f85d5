import { Controller, Get, Logger, Module, ParseIntPipe, Query } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Public } from '../../src/auth/public.decorator';

/** Printed when a slow request has arrived, so a test can signal the process while it is in flight. */
export const SLOW_REQUEST_STARTED = 'slow request started';

/** Test-only: a request that takes as long as asked, to prove graceful shutdown lets it finish. */
@Public()
@Controller('test')
class SlowRouteController {
  private readonly logger = new Logger('SlowRoute');

  @Get('slow')
  async slow(@Query('ms', ParseIntPipe) ms: number): Promise<{ sleptMs: number }> {
    this.logger.log(`${SLOW_REQUEST_STARTED} (${ms} ms)`);
    await sleep(ms);
    return { sleptMs: ms };
  }
}

@Module({ controllers: [SlowRouteController] })
export class SlowRouteModule {}
