import { Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { CurrentCustomer, CustomerAuth } from '../auth/auth.decorators';
import { type CustomerPrincipal } from '../auth/principal';
import { BodySchema, SchemaValidatedBody } from '../common/http/body-schema';
import { type CreatedDevice, DevicesService } from './devices.service';
import { CreateDeviceDto } from './dto/create-device.dto';
import { type DeviceResponse } from './dto/device.response';
import { ListDevicesQuery } from './dto/list-devices.query';
import { UpdateDeviceDto } from './dto/update-device.dto';

@CustomerAuth()
@Controller('v1/devices')
export class DevicesController {
  constructor(private readonly devices: DevicesService) {}

  @Post()
  @BodySchema(CreateDeviceDto)
  create(
    @CurrentCustomer() customer: CustomerPrincipal,
    @SchemaValidatedBody() body: CreateDeviceDto,
  ): Promise<CreatedDevice> {
    return this.devices.create(customer, body);
  }

  @Get()
  list(
    @CurrentCustomer() customer: CustomerPrincipal,
    @Query() query: ListDevicesQuery,
  ): Promise<{ items: DeviceResponse[]; nextCursor: string | null }> {
    return this.devices.list(customer, query);
  }

  @Get(':deviceId')
  get(
    @CurrentCustomer() customer: CustomerPrincipal,
    @Param('deviceId') deviceId: string,
  ): Promise<DeviceResponse> {
    return this.devices.get(customer, deviceId);
  }

  @Patch(':deviceId')
  @BodySchema(UpdateDeviceDto)
  rename(
    @CurrentCustomer() customer: CustomerPrincipal,
    @Param('deviceId') deviceId: string,
    @SchemaValidatedBody() body: UpdateDeviceDto,
  ): Promise<DeviceResponse> {
    return this.devices.rename(customer, deviceId, body);
  }

  @Delete(':deviceId')
  @HttpCode(204)
  remove(@CurrentCustomer() customer: CustomerPrincipal, @Param('deviceId') deviceId: string): Promise<void> {
    return this.devices.remove(customer, deviceId);
  }
}
