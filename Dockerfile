# syntax=docker/dockerfile:1
# The gateway's image: `docker build -t netdiag-gateway .` (see README, Deploying).

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: every dependency, the compiled gateway and the embedded database image ----------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
# No install scripts: prepare would build before the sources are here, and nothing the build uses needs one.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
COPY supabase/migrations ./supabase/migrations
# PGlite writes the embedded image's files readable by their owner only; the runtime user (not root, not
# their owner) copies them into a new DATA_DIR, so everything built is made readable to all.
RUN npm run build && chmod -R a+rX dist

# --- runtime: production dependencies, dist/ and the migrations, as a non-root user -----------------------
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1 forwards SIGTERM to the gateway and reaps children; node itself as PID 1 would ignore a
# signal that arrives before its handlers are installed (during start-up) instead of stopping.
# util-linux (flock, for the embedded mode's DATA_DIR lock) is part of every Debian image.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
# prepare finds no dev dependencies here and skips the build: dist/ comes from the build stage.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY supabase/migrations ./supabase/migrations
# The embedded mode's default DATA_DIR (./data), writable by the user the gateway runs as.
RUN mkdir -p /app/data && chown 1000:1000 /app/data

ARG BUILD_COMMIT
ENV HOST=0.0.0.0 \
    BUILD_COMMIT=${BUILD_COMMIT}
# The node image's `node` user, by number: Kubernetes can check runAsNonRoot only against a numeric user.
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# What `npm start` runs, without npm in between.
CMD ["node", "dist/main.js"]
