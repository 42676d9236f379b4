# newsbot in a container: python:3.11-slim, a non-root user, PostgreSQL driver included.
#   docker build -t newsbot .
#   docker run -d --name newsbot -v newsbot-data:/data -v "$PWD/newsbot.toml:/etc/newsbot/newsbot.toml:ro" \
#     -e NEWSBOT_SLACK_WEBHOOK=... -p 127.0.0.1:8787:8787 newsbot
# The configuration must set data_dir = "/data" (SQLite, one container) or a PostgreSQL
# database_url (several containers). The health check probes 127.0.0.1:8787 inside the container
# (keep daemon.health_port = 8787); set daemon.health_bind = "0.0.0.0" to publish the port.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NEWSBOT_CONFIG=/etc/newsbot/newsbot.toml

RUN groupadd --system newsbot \
    && useradd --system --gid newsbot --home-dir /data --shell /usr/sbin/nologin newsbot \
    && mkdir -p /data /etc/newsbot \
    && chown newsbot:newsbot /data

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY config ./config
RUN pip install '.[postgres]' \
    && cp config/newsbot.example.toml /etc/newsbot/newsbot.example.toml \
    && cp -r config/rules /etc/newsbot/rules

USER newsbot
VOLUME ["/data"]
EXPOSE 8787

# /healthz answers 200 while the last poll succeeded recently and the database answers.
HEALTHCHECK --interval=60s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8787/healthz', timeout=8).status == 200 else 1)"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["newsbot"]
CMD ["run"]
