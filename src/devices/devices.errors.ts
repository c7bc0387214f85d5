import { DomainError } from '../common/errors/domain-error';
import { type ProblemCatalog } from '../common/errors/problem-catalog';

export enum DeviceErrorCode {
  NotFound = 'device_not_found',
  SerialTaken = 'device_serial_taken',
  TooManySubscriptions = 'too_many_subscriptions',
}

export const deviceProblems = {
  [DeviceErrorCode.NotFound]: { status: 404, title: 'Device not found' },
  [DeviceErrorCode.SerialTaken]: { status: 409, title: 'A device with this serial exists' },
  [DeviceErrorCode.TooManySubscriptions]: { status: 429, title: 'Too many subscriptions on this socket' },
} satisfies ProblemCatalog<DeviceErrorCode>;

export class DeviceNotFoundError extends DomainError<DeviceErrorCode.NotFound> {
  readonly code = DeviceErrorCode.NotFound;

  constructor(deviceId: string) {
    super(`Device ${deviceId} does not exist.`);
  }
}

export class DeviceSerialTakenError extends DomainError<DeviceErrorCode.SerialTaken> {
  readonly code = DeviceErrorCode.SerialTaken;

  constructor(serial: string) {
    super(`You already have a device with serial "${serial}".`);
  }
}

export class TooManySubscriptionsError extends DomainError<DeviceErrorCode.TooManySubscriptions> {
  readonly code = DeviceErrorCode.TooManySubscriptions;

  constructor(limit: number) {
    super(`A socket may subscribe to at most ${limit} devices; unsubscribe from some first.`);
  }
}
