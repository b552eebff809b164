# envbot's image: the worker and the HTTP server (Slack, webhooks, /healthz, /metrics), compiled.
# Not built in this project's CI (no container runtime there): the commands are the ones `npm start` runs.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --no-audit --no-fund
COPY bot ./bot
COPY workflows ./workflows
COPY activities ./activities
COPY shared ./shared
RUN npm run build

FROM node:24-bookworm-slim
WORKDIR /app
# git (and ssh for git+ssh://) fetches seeds and templates kept in git repositories.
RUN apt-get update && apt-get install -y --no-install-recommends git openssh-client ca-certificates && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY migrations ./migrations
COPY examples ./examples
USER node
EXPOSE 3000
CMD ["bin/envbot-server"]
