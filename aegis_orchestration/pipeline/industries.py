"""Industries a programme addresses, inferred from its title and summary.

The map and matcher live with the graph store (:mod:`aegis_shared.stores.industries`), which
derives Industry nodes from them and folds the map's digest into its fingerprint; this module
keeps the pipeline's import path.
"""

from __future__ import annotations

from aegis_shared.stores.industries import INDUSTRY_KEYWORDS, IndustryClassifier, industries_for

__all__ = ["INDUSTRY_KEYWORDS", "IndustryClassifier", "industries_for"]
