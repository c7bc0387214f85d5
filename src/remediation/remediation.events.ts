import { serverEvent } from '../realtime/realtime.events';
import { PLAN_SCHEMA, type PlanResponse } from './dto/plan.response';

/** Server → portal (docs/guide.md#socketio): a plan's full current state, after every change of it. */
export const REMEDIATION_UPDATED = serverEvent<PlanResponse>('remediation:updated', {
  namespaces: ['/portal'],
  summary: "A plan's full current state after every change of it, to its customer's sockets.",
  payload: PLAN_SCHEMA,
});
