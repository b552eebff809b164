# envbot's image: the worker and the HTTP server (Slack, Teams, webhooks, /healthz, /metrics).
FROM node:20-bookworm-slim
WORKDIR /app
# git (and ssh for git+ssh://) fetches seeds and templates kept in git repositories.
RUN apt-get update && apt-get install -y --no-install-recommends git openssh-client ca-certificates && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bot ./bot
COPY workflows ./workflows
COPY activities ./activities
COPY shared ./shared
COPY migrations ./migrations
COPY examples ./examples
USER node
EXPOSE 3000
CMD ["node", "--import", "tsx", "bot/main.ts"]
