"""Facts about vendor file formats (headers, path conventions), one module per vendor."""
