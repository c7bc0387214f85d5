// DTO decorators need the Reflect metadata API before the DTO modules load.
import 'reflect-metadata';
import { describeAgentApiFuzzing } from './agent-api.fuzz';
import { describeDevicesApiFuzzing } from './devices-api.fuzz';
import { describeFoundByFuzzing } from './found-by-fuzzing';
import { type FuzzBackend, type FuzzGateway, startFuzzGateway } from './fuzz-gateway';
import { describeSocketEventFuzzing } from './socket-events.fuzz';

/**
 * Every fuzz property against one gateway on one backend: a gateway (PGlite above all) takes far longer
 * to start than a property takes to run, so each backend's file starts one and runs them all.
 */
export function describeFuzzing(backend: FuzzBackend): void {
  describe(`fuzzing the gateway on the ${backend} backend`, () => {
    let gateway: FuzzGateway | undefined;

    beforeAll(async () => {
      gateway = await startFuzzGateway(backend, 'fuzz');
    }, 60_000);

    afterAll(async () => {
      await gateway?.close();
    });

    const started = (): FuzzGateway => {
      if (!gateway) throw new Error('the gateway did not start');
      return gateway;
    };
    describeDevicesApiFuzzing(started);
    describeAgentApiFuzzing(started);
    describeSocketEventFuzzing(started);
    describeFoundByFuzzing(started);
  });
}
