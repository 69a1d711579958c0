# Plume server image. Build with `--build-arg WITH_ML=1` (docker-compose.yml does) to include the ML
# stack, so that keras-models conversions run in the image; without it (the default of a bare
# `docker build`) the image is slim and every conversion ends in status "error".
FROM python:3.11-slim
WORKDIR /app
ARG WITH_ML=0
COPY pyproject.toml setup.py MANIFEST.in README.md requirements-ml-nodeps.txt ./
COPY backend ./backend
COPY services ./services
COPY schemas ./schemas
COPY python_client ./python_client
COPY keras_callback ./keras_callback
# docs/conversion.md: the `ml` extra, then three packages with --no-deps (their declared
# dependencies would pull a second TensorFlow over tensorflow-cpu).
RUN if [ "$WITH_ML" = "1" ]; then \
      pip install --no-cache-dir '.[ml]' && pip install --no-cache-dir --no-deps -r requirements-ml-nodeps.txt; \
    else \
      pip install --no-cache-dir .; \
    fi
# The install carries what the server reads at run time (schemas, the dashboard's files).
ENV PLUME_HOST=0.0.0.0 PLUME_PORT=3030 PLUME_DATA_DIR=/data
EXPOSE 3030
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3030/info', timeout=2)"
CMD ["plume", "serve"]
