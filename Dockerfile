# The OTLP → Gravity gateway (docs/gateway.md): `gravity-otel gateway` listening on 0.0.0.0:4317 (OTLP/gRPC)
# and 0.0.0.0:4318 (OTLP/HTTP, /healthz, /readyz, /metrics). Configure it with environment variables:
# GE_ACCESS_TOKEN (required), GE_SERVER_URL, GE_GATEWAY_AUTH_TOKEN, GE_GATEWAY_ACK, GE_SPOOL_DIR, ...
#
#   docker build -t gravity-otel-gateway .
#   docker run --rm -p 4317:4317 -p 4318:4318 -e GE_ACCESS_TOKEN=... gravity-otel-gateway

ARG NODE_IMAGE=node:22-bookworm-slim

# Build: compile and pack the package exactly as it is published.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.base.json tsconfig.esm.json tsconfig.cjs.json README.md LICENSE ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build && npm pack --pack-destination /tmp/pack

# Run: the packed package installed the way a user installs it, with the OpenTelemetry peers at the versions the
# tests use and the optional @grpc/grpc-js; no compiler, no sources.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    GE_GATEWAY_HTTP_ENDPOINT=0.0.0.0:4318 \
    GE_GATEWAY_GRPC_ENDPOINT=0.0.0.0:4317
WORKDIR /opt/gravity-gateway
COPY --from=build /tmp/pack/ /tmp/pack/
RUN echo '{"name":"gravity-gateway","private":true}' > package.json \
 && npm install --omit=dev --no-audit --no-fund --ignore-scripts \
      /tmp/pack/gravity-otel-exporter-*.tgz \
      @opentelemetry/api@1.9.0 @opentelemetry/api-logs@0.223.0 @opentelemetry/core@2.12.0 \
      @opentelemetry/sdk-logs@0.223.0 @opentelemetry/sdk-trace-base@2.12.0 \
 && rm -rf /tmp/pack && npm cache clean --force
USER node
EXPOSE 4317 4318
HEALTHCHECK --interval=10s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:4318/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1 and handles SIGTERM: the gateway drains (docs/gateway.md, Operations) and exits 0.
ENTRYPOINT ["node", "node_modules/gravity-otel-exporter/dist/esm/cli/bin.js", "gateway"]
