"""The default vendor registry: the built-in vendors and every installed plug-in.

A plug-in is a package that declares an entry point in the ``pointline.vendors`` group
whose object is a :class:`~pointline.vendors.Vendor`, for example in its pyproject.toml::

    [project.entry-points."pointline.vendors"]
    acme = "acme_pointline:VENDOR"

It is found when this module is first imported; nothing in Pointline changes. A plug-in
that fails to load, or is not a ``Vendor``, raises :class:`VendorPluginError` naming it.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Final

from pointline.errors import PointlineError
from pointline.vendors import quant360, tardis
from pointline.vendors.protocol import Vendor, VendorRegistry

__all__ = ["BUILT_IN", "DEFAULT_VENDORS", "ENTRY_POINT_GROUP", "VendorPluginError", "plugins"]

ENTRY_POINT_GROUP: Final = "pointline.vendors"

BUILT_IN: Final = (tardis.VENDOR, quant360.VENDOR)
"""The vendors that ship with Pointline."""


class VendorPluginError(PointlineError, ImportError):
    """An installed vendor plug-in cannot be loaded."""


def plugins() -> list[Vendor]:
    """The vendors of every installed ``pointline.vendors`` entry point, by name."""
    found = []
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        try:
            vendor = point.load()
        except Exception as exc:
            msg = f"vendor plug-in {point.name!r} ({point.value}) cannot be loaded: {exc}"
            raise VendorPluginError(msg) from exc
        if not isinstance(vendor, Vendor):
            msg = (
                f"vendor plug-in {point.name!r} ({point.value}) is a "
                f"{type(vendor).__name__}, not a pointline.vendors.Vendor"
            )
            raise VendorPluginError(msg)
        found.append(vendor)
    return found


DEFAULT_VENDORS: Final = VendorRegistry([*BUILT_IN, *plugins()])
"""Built-in vendors and installed plug-ins; ``Lake(root, vendors=...)`` takes another."""
