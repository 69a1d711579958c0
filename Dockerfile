# Plume server image (no TensorFlow: conversions need the `ml` extra, see README).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md requirements-ml-nodeps.txt ./
COPY backend ./backend
COPY services ./services
COPY schemas ./schemas
COPY python_client ./python_client
COPY keras_callback ./keras_callback
RUN pip install --no-cache-dir .
# The schemas folder is data next to the code; point Plume at it explicitly.
ENV PLUME_SCHEMAS_DIR=/app/schemas PLUME_HOST=0.0.0.0 PLUME_PORT=3030 PLUME_DATA_DIR=/data
EXPOSE 3030
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3030/info', timeout=2)"
CMD ["plume", "serve"]
