import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The Swagger UI files the page loads, served from the swagger-ui-dist package (no CDN). */
export const SWAGGER_UI_ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
};

const DIST = dirname(require.resolve('swagger-ui-dist/package.json'));
const assets = new Map<string, string>();

/** An asset's text, read once. */
export function swaggerUiAsset(file: string): string | undefined {
  if (!Object.hasOwn(SWAGGER_UI_ASSETS, file)) return undefined;
  let text = assets.get(file);
  if (text === undefined) {
    text = readFileSync(join(DIST, file), 'utf8');
    assets.set(file, text);
  }
  return text;
}

/** The page at `/docs`: Swagger UI on `/docs/json`, with a link to the AsyncAPI document. */
export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>netdiag gateway API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <p style="font-family: sans-serif; margin: 1em 2em">
    HTTP API below (<a href="/docs/json">OpenAPI 3.1</a>); Socket.IO events:
    <a href="/docs/asyncapi.json">AsyncAPI 3.0</a>.
  </p>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/docs-init.js"></script>
</body>
</html>
`;

/** Kept out of the page so the page needs no inline script. */
export const DOCS_INIT_SCRIPT = `window.ui = SwaggerUIBundle({ url: '/docs/json', dom_id: '#swagger-ui', deepLinking: true });\n`;
