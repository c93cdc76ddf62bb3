# docarchive: API and worker image (one image, the command selects the role).
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_THREAD_LIMIT=1 \
    DOCARCHIVE_DATA_DIR=/var/lib/docarchive

# tesseract with Polish and English data for the OCR workers; DejaVu for the Polish letters of
# disposal protocols; pg_dump for `docarchive backup`.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-pol tesseract-ocr-eng tesseract-ocr-osd fonts-dejavu-core postgresql-client \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/docarchive
COPY pyproject.toml README.md alembic.ini ./
COPY .ci/constraints.txt .ci/constraints.txt
COPY app app
COPY workers workers
COPY schemas schemas
COPY migrations migrations
COPY docs/third-party.md docs/third-party.md
RUN pip install --no-cache-dir -c .ci/constraints.txt . \
 && useradd --system --home /var/lib/docarchive --create-home docarchive

USER docarchive
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["docarchive", "serve", "--host", "0.0.0.0", "--port", "8000"]
