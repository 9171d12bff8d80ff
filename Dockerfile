# syntax=docker/dockerfile:1
# Dataset service image: build the viewer with every dependency, then run with production ones only,
# as an unprivileged user, versions on disk under the /data volume (STORAGE_BACKEND=local).
#   docker build -t dataset-service .
#   docker run -d --name datasets -p 3000:3000 -v datasets:/data dataset-service

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No scripts yet: `prepare` builds the viewer, whose sources are copied next.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm run build:web

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    STORAGE_BACKEND=local \
    DATA_DIR=/data \
    UPLOAD_DIR=/data/uploads \
    HOST=0.0.0.0 \
    PORT=3000 \
    MALLOC_ARENA_MAX=2
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; the viewer comes built from the first stage (no prepare here).
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY --from=build /app/web/dist ./web/dist
COPY src ./src
COPY client ./client
COPY bin ./bin
# src/server.ts imports the demo loader (DEMO=1), which uses the shared PRNG
COPY scripts/demo.ts scripts/prng.ts ./scripts/
# The postgres backend applies these at start-up (STORAGE_BACKEND=postgres).
COPY migrations ./migrations
COPY LICENSE README.md ./
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node directly (not npm start) so SIGTERM reaches the server and it shuts down cleanly.
CMD ["node", "--import", "./src/polars-fast.ts", "src/server.ts"]
