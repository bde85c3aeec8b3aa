"""The hot path: collected announcements from Kafka to ``pending_validation`` rows within seconds.

One processing core (:mod:`.intake` → :mod:`.staging` → :mod:`.outbox`) runs in two shapes:

* a Dagster run per offset range, requested by ``collection_sensor`` (:mod:`.assets`, :mod:`.job`);
* ``aegis hot-path serve``, a long-lived consumer group for sub-second latency (:mod:`.service`).

Both write policy rows and their Kafka messages (``PolicyValidated``, DLQ records) in one
transaction through a transactional outbox, so a crash or a re-run never loses nor duplicates.
Only :mod:`.assets`, :mod:`.job` and the Dagster reporting in :mod:`.service` import Dagster.
"""
