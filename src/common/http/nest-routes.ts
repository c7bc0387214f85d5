import { RequestMethod, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { type DiscoveryService, type MetadataScanner } from '@nestjs/core';
import { joinPath } from './join-path';

/** One route of a Nest controller, keyed as Fastify knows it (`GET /v1/devices/:deviceId`). */
export interface NestRoute {
  method: string;
  url: string;
  /** The controller method: where its decorators' metadata is. */
  handler: object;
  controller: Type;
  methodName: string;
}

/** Every route of every controller of the app, as Nest registers them with Fastify. */
export function nestRoutes(discovery: DiscoveryService, scanner: MetadataScanner): NestRoute[] {
  const routes: NestRoute[] = [];
  for (const wrapper of discovery.getControllers()) {
    const controller = wrapper.metatype as Type | null;
    if (!controller) continue;
    const prototype = controller.prototype as Record<string, unknown>;
    const base = [
      (Reflect.getMetadata(PATH_METADATA, controller) as string | string[] | undefined) ?? '/',
    ].flat();
    for (const methodName of scanner.getAllMethodNames(prototype)) {
      const handler = prototype[methodName] as object;
      const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
      if (paths === undefined) continue;
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
      for (const prefix of base) {
        for (const path of [paths].flat()) {
          routes.push({ method, url: joinPath(prefix, path), handler, controller, methodName });
        }
      }
    }
  }
  return routes;
}
