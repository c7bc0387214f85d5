import { Controller, Get, Header, NotFoundException, Param, Req, Res } from '@nestjs/common';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { Public } from '../auth/public.decorator';
import { Documented } from '../common/docs/route-docs';
import { openObject } from '../common/docs/typed-schema';
import { AsyncApiDocument } from './asyncapi.document';
import { OpenApiDocument } from './openapi.document';
import { DOCS_INIT_SCRIPT, DOCS_PAGE, SWAGGER_UI_ASSETS, swaggerUiAsset } from './swagger-ui.page';

/** The API documents (README.md#the-api-in-short): public, like the other operations endpoints. */
@Public()
@Controller('docs')
export class DocsController {
  constructor(
    private readonly openApi: OpenApiDocument,
    private readonly asyncApi: AsyncApiDocument,
  ) {}

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Documented({
    summary: 'The API documentation page',
    responses: { 200: { description: 'Swagger UI on this document', contentType: 'text/html' } },
  })
  page(): string {
    return DOCS_PAGE;
  }

  @Get('json')
  @Documented({
    summary: 'This OpenAPI 3.1 document',
    responses: { 200: { description: 'The OpenAPI document', schema: openObject() } },
  })
  openApiDocument(): Record<string, unknown> {
    return this.openApi.get();
  }

  @Get('asyncapi.json')
  @Documented({
    summary: 'The AsyncAPI 3.0 document of the Socket.IO namespaces',
    responses: { 200: { description: 'The AsyncAPI document', schema: openObject() } },
  })
  asyncApiDocument(@Req() request: FastifyRequest): Record<string, unknown> {
    return this.asyncApi.get(request.host, request.protocol === 'https');
  }

  @Get('assets/:file')
  @Header('cache-control', 'public, max-age=3600')
  @Documented({
    summary: "The documentation page's scripts and styles",
    responses: { 200: { description: 'The file', contentType: 'text/plain' } },
  })
  asset(@Param('file') file: string, @Res({ passthrough: true }) reply: FastifyReply): string {
    if (file === 'docs-init.js') {
      void reply.header('content-type', 'application/javascript; charset=utf-8');
      return DOCS_INIT_SCRIPT;
    }
    const text = swaggerUiAsset(file);
    const contentType = SWAGGER_UI_ASSETS[file];
    if (text === undefined || contentType === undefined) throw new NotFoundException();
    void reply.header('content-type', contentType);
    return text;
  }
}
