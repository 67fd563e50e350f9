# The gateway image: built by `pulumi up` (infra/) or by hand with `docker build -t wsgw .`
# Multi-stage: compile with dev dependencies, ship only production dependencies and the
# compiled JavaScript, run as the unprivileged `node` user.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build-client.mjs ./scripts/
COPY services ./services
RUN npm run build

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts stay on: bufferutil's install script selects its prebuilt native binary.
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 8080
# The gateway drains on SIGTERM (readiness off, then jittered 1001 closes); ECS stopTimeout covers it.
STOPSIGNAL SIGTERM
CMD ["node", "dist/services/gateway/src/main.js"]
