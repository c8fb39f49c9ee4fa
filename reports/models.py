"""The reports app's models: the SBS reports' layouts and the files kept (``reports.regulatory.models``)."""

from reports.regulatory.models import LayoutField, RegulatoryFile, ReportLayout

__all__ = ["LayoutField", "RegulatoryFile", "ReportLayout"]
