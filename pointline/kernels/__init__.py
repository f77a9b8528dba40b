"""Vectorised kernels: exact decimals and exchange-local trading dates."""

from pointline.kernels.decimal import DecimalResult, decimal_text, parse_decimal
from pointline.kernels.trading_date import derive_trading_date, local_dates

__all__ = ["DecimalResult", "decimal_text", "derive_trading_date", "local_dates", "parse_decimal"]
