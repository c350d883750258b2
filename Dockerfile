# Kura in a container. Untested on the machines Kura is developed on (they have no container engine);
# see docs/deployment.md#docker before relying on it.
#
#   docker build -t kura .
#   sudo install -d -o 1000 -g 1000 -m 0700 /var/cache/kura   # Kura runs as uid 1000 (node) inside
#   docker run -d -p 80:8080 -p 127.0.0.1:8081:8081 -v /var/cache/kura:/var/cache/kura kura
#
# A bind-mounted host directory keeps its host owner: one that root owns is not writable by uid 1000,
# and the volume fails to open. Give it to uid 1000 as above, or run as its owner with
# `--user "$(stat -c %u:%g /var/cache/kura)"`, or use a named volume (`-v kura-cache:/var/cache/kura`),
# which Docker fills from the image's directory, owned by node.

FROM node:26-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Dev dependencies are needed for tsc; pruned after the build. --ignore-scripts skips `prepare` (a build
# before the sources are copied) and the `node` dev dependency's download of a second Node.js, which the
# image does not need: it has Node.js 26 already. lz4-napi comes as a prebuilt optional package, without
# a script.
RUN npm ci --no-audit --no-fund --ignore-scripts
# The whole tree (see .dockerignore): tsconfig.json compiles src/ together with test/, bench/, scripts/.
# tsc runs on the image's node by name, since the `node` dev dependency is left without its binary.
COPY . .
RUN node node_modules/typescript/bin/tsc -p . && npm prune --omit=dev --no-audit --no-fund

FROM node:26-bookworm-slim
ENV NODE_ENV=production \
    KURA_HTTP_HOST=0.0.0.0 \
    KURA_HTTP_PORT=8080 \
    KURA_HTTPS_PORT=0 \
    KURA_ADMIN_HOST=0.0.0.0 \
    KURA_ADMIN_PORT=8081 \
    KURA_CACHE_DIR=/var/cache/kura
WORKDIR /opt/kura
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY bin ./bin
COPY assets ./assets
COPY config ./config
RUN install -d -o node -g node -m 0700 /var/cache/kura
VOLUME /var/cache/kura
USER node
EXPOSE 8080 8081
# /health/ready fails while the volume is unwritable or no upstream name resolves, and while stopping.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:8081/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Node as PID 1 gets SIGTERM directly and handles it (graceful stop, then exit); no init shim needed.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/opt/kura/bin/kura.js"]
CMD ["serve"]
