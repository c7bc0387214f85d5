import { DomainError } from '../common/errors/domain-error';
import { type ProblemCatalog } from '../common/errors/problem-catalog';
import { type PlanStatus } from './plan';

export enum RemediationErrorCode {
  NotFound = 'remediation_plan_not_found',
  HashMismatch = 'plan_hash_mismatch',
  NotProposed = 'plan_not_proposed',
  Expired = 'plan_expired',
  NotCancellable = 'plan_not_cancellable',
  DeviceUnavailable = 'plan_device_unavailable',
}

export const remediationProblems = {
  [RemediationErrorCode.NotFound]: { status: 404, title: 'Remediation plan not found' },
  [RemediationErrorCode.HashMismatch]: {
    status: 409,
    title: 'The plan hash does not match the plan',
  },
  [RemediationErrorCode.NotProposed]: { status: 409, title: 'The plan has already been decided' },
  [RemediationErrorCode.Expired]: { status: 409, title: 'The plan has expired' },
  [RemediationErrorCode.NotCancellable]: {
    status: 409,
    title: 'Only an approved or executing plan can be cancelled',
  },
  [RemediationErrorCode.DeviceUnavailable]: {
    status: 409,
    title: 'The device cannot run the plan',
  },
} satisfies ProblemCatalog<RemediationErrorCode>;

export class PlanNotFoundError extends DomainError<RemediationErrorCode.NotFound> {
  readonly code = RemediationErrorCode.NotFound;

  constructor(planId: string) {
    super(`Remediation plan ${planId} does not exist.`);
  }
}

/** The customer approves exactly what it saw: the hash it sends must be the plan's (docs/guide.md#remediation-plans). */
export class PlanHashMismatchError extends DomainError<RemediationErrorCode.HashMismatch> {
  readonly code = RemediationErrorCode.HashMismatch;

  constructor(planId: string) {
    super(`The planHash sent is not that of plan ${planId}; read the plan again and approve what it shows.`);
  }
}

export class PlanNotProposedError extends DomainError<RemediationErrorCode.NotProposed> {
  readonly code = RemediationErrorCode.NotProposed;

  constructor(planId: string, status: PlanStatus) {
    super(`Plan ${planId} is ${status}; only a proposed plan can be approved or rejected.`, {
      planStatus: status,
    });
  }
}

export class PlanExpiredError extends DomainError<RemediationErrorCode.Expired> {
  readonly code = RemediationErrorCode.Expired;

  constructor(planId: string) {
    super(`Plan ${planId} expired before it was decided.`);
  }
}

export class PlanNotCancellableError extends DomainError<RemediationErrorCode.NotCancellable> {
  readonly code = RemediationErrorCode.NotCancellable;

  constructor(planId: string, status: PlanStatus) {
    super(`Plan ${planId} is ${status}; only an approved or executing plan can be cancelled.`, {
      planStatus: status,
    });
  }
}

/** A plan is approved only for a device that is active (registered, not deleted). */
export class PlanDeviceUnavailableError extends DomainError<RemediationErrorCode.DeviceUnavailable> {
  readonly code = RemediationErrorCode.DeviceUnavailable;

  constructor(planId: string, deviceId: string) {
    super(`Device ${deviceId} of plan ${planId} is not active; the plan cannot be approved.`);
  }
}
