"""Software-defined assets: collection → validation → dedup → quality → Postgres → serving stores."""
