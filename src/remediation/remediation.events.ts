import { serverEvent } from '../realtime/realtime.events';
import { type PlanResponse } from './dto/plan.response';

/** Server → portal (PRODUCT §6): a plan's full current state, after every change of it. */
export const REMEDIATION_UPDATED = serverEvent<PlanResponse>('remediation:updated');
