"""Supplier submissions (供应商平台): suppliers submit the insurance code, UDI-DIs and
registration number of what they sell; the hospital reviews each submission."""
