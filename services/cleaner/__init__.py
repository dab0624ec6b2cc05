"""Cleaner: scraped page → the article alone, with title, date, outlet and reporter."""

from services.cleaner.core import Cleaning, CleaningError, LineVerdict, analyze, clean

__all__ = ["Cleaning", "CleaningError", "LineVerdict", "analyze", "clean"]
