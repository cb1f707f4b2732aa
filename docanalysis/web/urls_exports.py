"""The matter's review grid, and the reports: DOCX, PDF, CSV, XLSX."""

from django.urls import path

from docanalysis.web.views import exports

urlpatterns = [
    path("matters/<int:matter_id>/grid/", exports.grid, name="grid"),
    *(
        path(
            f"matters/<int:matter_id>/grid.{fmt}",
            exports.grid_download,
            {"fmt": fmt},
            name=f"grid-{fmt}",
        )
        for fmt in ("csv", "xlsx")
    ),
    *(
        path(
            f"matters/<int:matter_id>/report.{fmt}",
            exports.matter_report,
            {"fmt": fmt},
            name=f"matter-report-{fmt}",
        )
        for fmt in ("docx", "pdf")
    ),
    *(
        path(
            f"documents/<int:document_id>/report.{fmt}",
            exports.document_report,
            {"fmt": fmt},
            name=f"document-report-{fmt}",
        )
        for fmt in ("docx", "pdf")
    ),
]
