# syntax=docker/dockerfile:1.7
# procgov worker image: one image, every worker group; pick groups with `--group` (docker run IMAGE
# --group rollout; no argument runs every group). `procgov deploy` runs from the same image
# (--entrypoint procgov IMAGE deploy).
#
# Builder: resolve exactly the locked dependency set (uv.lock, no dev group) into /app/.venv and
# install the two distributions a worker runs, procgov-workers and the `procgov` CLI, as built wheels
# (not editable), so the runtime stage only copies a venv. The engine (procgov-engine, package
# procgov_engine) is not in the image: not its code (.dockerignore keeps procgov_engine/ and
# packages/procgov-engine/ out of the context), nor the libraries only it needs. `procgov engine` and
# `procgov demo` are the commands that need it; run them from `pip install .` (README, "Installing").
# Runtime: python slim, no build tools, no uv, a non-root user.

ARG PYTHON_VERSION=3.11
ARG UV_VERSION=0.13.8

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

FROM python:${PYTHON_VERSION}-slim-bookworm AS builder
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src

# Dependencies first (their own layer: changes to procgov's code do not re-download them). No
# workspace member yet (--no-install-workspace), and none of the libraries that only the engine pulls
# in (--no-install-package; tests/deploy/test_deploy_image.py derives that list from uv.lock).
COPY pyproject.toml uv.lock README.md ./
COPY packages/procgov-workers ./packages/procgov-workers
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --no-install-package croniter --no-install-package lark

# Then the workers (with the sample data and models their wheel bundles) and the CLI, built into
# wheels and installed into the same venv without their deps (they are already the locked ones; the
# CLI's requirement on the engine stays unmet on purpose).
COPY workers ./workers
COPY procgov ./procgov
COPY bpmn ./bpmn
COPY data ./data
RUN --mount=type=cache,target=/root/.cache/uv \
    uv build --wheel --package procgov-workers --out-dir /dist \
    && uv build --wheel --package procgov --out-dir /dist \
    && uv pip install --python /app/.venv/bin/python --no-deps /dist/*.whl

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
# Numeric ids: Kubernetes runAsNonRoot can only verify a numeric USER.
ARG PROCGOV_UID=10001
LABEL org.opencontainers.image.title="procgov" \
      org.opencontainers.image.description="procgov job workers for Camunda 8 (Zeebe)" \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --system --gid ${PROCGOV_UID} procgov \
    && useradd --system --uid ${PROCGOV_UID} --gid procgov --home-dir /app --shell /usr/sbin/nologin procgov

WORKDIR /app
COPY --from=builder /app/.venv /app/.venv
# Models (deployed by `procgov deploy`) and rule data (read by the workers at start-up; the groups'
# default data paths point into a source checkout, so the image names them below).
COPY --chown=root:root bpmn ./bpmn
COPY --chown=root:root data ./data
RUN mkdir -p /app/var/reports && chown -R procgov:procgov /app/var

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PROCGOV_HEALTH_PORT=9600 \
    PROCGOV_STORE_URL=sqlite:////app/var/procgov.db \
    PROCGOV_ROLLOUT_DATA_DIR=/app/data/rollout \
    PROCGOV_SLM_DATA_DIR=/app/data/slm

USER ${PROCGOV_UID}:${PROCGOV_UID}
EXPOSE 9600

# The worker's health server answers /healthz (process alive) on PROCGOV_HEALTH_PORT; slim has no
# curl, so the probe is the venv's own Python.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PROCGOV_HEALTH_PORT', '9600') + '/healthz', timeout=4)"]

ENTRYPOINT ["procgov", "workers"]
CMD []
