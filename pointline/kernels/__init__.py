"""Vectorised kernels: exact fixed point and exchange-local trading dates."""

from pointline.kernels.fixed_point import FixedPointResult, parse_fixed_point
from pointline.kernels.trading_date import derive_trading_date, local_dates

__all__ = ["FixedPointResult", "derive_trading_date", "local_dates", "parse_fixed_point"]
