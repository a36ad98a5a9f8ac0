"""Impact accounting: money, CO2e and resources of symbiosis links, from a sourced factor library."""

from symbiolink.accounting.factors import Factor, FactorLibrary, default_factors

__all__ = ["Factor", "FactorLibrary", "default_factors"]
