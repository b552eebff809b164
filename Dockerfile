# envbot's image: the worker and the HTTP server (Slack, Teams, webhooks, /healthz, /metrics), compiled.
# Not built in this project's CI (no container runtime there): the commands are the ones `npm start` runs.
# deploy/helm/envbot runs it (README, "Run envbot in a cluster").
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --no-audit --no-fund
COPY bot ./bot
COPY workflows ./workflows
COPY activities ./activities
COPY shared ./shared
COPY scripts/build ./scripts/build
# Compiled code and the workflow bundle, then only the runtime packages are kept for the final stage
# (the same tree npm ci installed, without a second install).
RUN npm run build && rm -f dist/.tsbuildinfo && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# git (and ssh for git+ssh://) fetches seeds and templates kept in git repositories.
RUN apt-get update && apt-get install -y --no-install-recommends git openssh-client ca-certificates && rm -rf /var/lib/apt/lists/*
COPY package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY migrations ./migrations
# The example catalogue: used only when ENVBOT_CONFIG is unset (the chart always sets it).
COPY examples ./examples
# The image's files belong to root and cannot be changed by envbot; it runs as the `node` user, by
# number so that Kubernetes' runAsNonRoot can verify it. It writes only to /tmp (sources cache).
USER 1000:1000
EXPOSE 3000
CMD ["bin/envbot-server"]
