# One image for the Slack app (`serve`, the default command) and the workers (`worker`).
#   docker build -t readiness-gate .
#   docker run --env-file .env readiness-gate                 # the app
#   docker run --env-file .env readiness-gate worker          # a worker
# Every step below is also executed on CI by scripts/dockerfile-steps.mjs, which runs the RUN lines
# of each stage in a scratch folder, so the build cannot silently rot without a Docker engine.

FROM node:24-bookworm-slim AS build
WORKDIR /app
# --ignore-scripts: no dependency's install script is needed in the image (onnxruntime-node's would
# download CUDA add-ons; its CPU binaries ship in the package); our own build is the tsc step below.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY workers ./workers
RUN npx tsc -p tsconfig.json

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    HEALTH_PORT=9464
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json manifest.yml ./
COPY bin ./bin
# Artifacts are mounted read-only at /artifacts (ARTIFACT_ROOT); nothing is written inside the image.
USER node
EXPOSE 3000 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HEALTH_PORT || 9464) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/readiness.js"]
CMD ["serve"]
