/**
 * Run by `npm run build` after compiling: prepares the embedded backend's database once, at
 * dist/embedded-image, so that a gateway's first start on a new DATA_DIR copies it instead of running
 * PGlite's initdb in the serving process, which is slow and grows PGlite's WebAssembly heap for good.
 */
import { buildEmbeddedImage } from '../infra/database/embedded-image';
import { EMBEDDED_IMAGE_DIR } from '../infra/database/sql/pglite.executor';

buildEmbeddedImage(EMBEDDED_IMAGE_DIR).then(
  (versions) => {
    process.stdout.write(
      `Embedded database image with migrations ${versions.join(', ')} in ${EMBEDDED_IMAGE_DIR}\n`,
    );
  },
  (error: unknown) => {
    process.stderr.write(
      `Could not build the embedded database image: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
