"""Vendors: the protocol a vendor declares (core) and the vendor modules built on it.

``pointline.vendors.protocol`` (re-exported here) holds :class:`Vendor`,
:class:`FileFormat`, :class:`Field` and the :class:`VendorRegistry`; it imports no
operator. The vendor modules (``pointline.vendors.tardis``) and the default registry
(``pointline.vendors.registry.DEFAULT_VENDORS``) build on the operators package, so this
package does not import them: ask for them by module.
"""

from pointline.vendors.protocol import (
    SAME,
    BadPathError,
    Derived,
    Field,
    FileFormat,
    Kind,
    PathFacts,
    ReadFields,
    Rule,
    UnknownVendorError,
    UnsupportedDataTypeError,
    Vendor,
    VendorRegistry,
)

__all__ = [
    "SAME",
    "BadPathError",
    "Derived",
    "Field",
    "FileFormat",
    "Kind",
    "PathFacts",
    "ReadFields",
    "Rule",
    "UnknownVendorError",
    "UnsupportedDataTypeError",
    "Vendor",
    "VendorRegistry",
]
