import { IsUUID } from 'class-validator';

export class DeviceSubscriptionDto {
  @IsUUID()
  deviceId!: string;
}
