"""Reports of a unit as files: a PDF to print and send, an XLSX workbook to compute with.

Both are drawn from the same :class:`sapa.web.views.UnitView` as the unit's dashboard page, so
a report says exactly what the page says: the headline indicators with their 95% intervals and
the regional and national values, the "needs support" flags with their reasons and evidence,
and, for a region or a district, the units one level down. Texts are in the interface
language; numbers in the workbook stay numbers.

The web application serves them at ``/reports/{level}/{code}.pdf`` and ``.xlsx``.
"""

from sapa.reports.pdf import unit_report_pdf
from sapa.reports.xlsx import unit_report_xlsx

__all__ = ["unit_report_pdf", "unit_report_xlsx"]
