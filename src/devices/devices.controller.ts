import { Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { CurrentCustomer, CustomerAuth } from '../auth/auth.decorators';
import { type CustomerPrincipal } from '../auth/principal';
import { Documented } from '../common/docs/route-docs';
import { page } from '../common/docs/typed-schema';
import { BodySchema, SchemaValidatedBody } from '../common/http/body-schema';
import { CREATED_DEVICE_SCHEMA, type CreatedDevice, DevicesService } from './devices.service';
import { CreateDeviceDto } from './dto/create-device.dto';
import { DEVICE_SCHEMA, type DeviceResponse } from './dto/device.response';
import { ListDevicesQuery } from './dto/list-devices.query';
import { UpdateDeviceDto } from './dto/update-device.dto';

@CustomerAuth()
@Controller('v1/devices')
export class DevicesController {
  constructor(private readonly devices: DevicesService) {}

  @Post()
  @BodySchema(CreateDeviceDto)
  @Documented({
    summary: 'Create a device',
    responses: {
      201: {
        description: 'The device and its credentials (the secret is shown this once)',
        schema: CREATED_DEVICE_SCHEMA,
      },
    },
    problems: { 409: 'Another device of the customer has this serial' },
  })
  create(
    @CurrentCustomer() customer: CustomerPrincipal,
    @SchemaValidatedBody() body: CreateDeviceDto,
  ): Promise<CreatedDevice> {
    return this.devices.create(customer, body);
  }

  @Get()
  @Documented({
    summary: 'List devices',
    description: "Each with its live presence; an admin sees every customer's devices.",
    responses: { 200: { description: 'A page of devices', schema: page(DEVICE_SCHEMA) } },
  })
  list(
    @CurrentCustomer() customer: CustomerPrincipal,
    @Query() query: ListDevicesQuery,
  ): Promise<{ items: DeviceResponse[]; nextCursor: string | null }> {
    return this.devices.list(customer, query);
  }

  @Get(':deviceId')
  @Documented({
    summary: 'Read a device',
    responses: { 200: { description: 'The device', schema: DEVICE_SCHEMA } },
  })
  get(
    @CurrentCustomer() customer: CustomerPrincipal,
    @Param('deviceId') deviceId: string,
  ): Promise<DeviceResponse> {
    return this.devices.get(customer, deviceId);
  }

  @Patch(':deviceId')
  @BodySchema(UpdateDeviceDto)
  @Documented({
    summary: 'Rename a device',
    responses: { 200: { description: 'The device', schema: DEVICE_SCHEMA } },
  })
  rename(
    @CurrentCustomer() customer: CustomerPrincipal,
    @Param('deviceId') deviceId: string,
    @SchemaValidatedBody() body: UpdateDeviceDto,
  ): Promise<DeviceResponse> {
    return this.devices.rename(customer, deviceId, body);
  }

  @Delete(':deviceId')
  @HttpCode(204)
  @Documented({
    summary: 'Delete a device',
    description:
      'Its credentials are revoked on every instance, its sockets closed, its open commands cancelled.',
    responses: { 204: { description: 'Deleted' } },
  })
  remove(@CurrentCustomer() customer: CustomerPrincipal, @Param('deviceId') deviceId: string): Promise<void> {
    return this.devices.remove(customer, deviceId);
  }
}
