"""The gold marts of SPEC §6: one module per mart, the registry that lists them, and the
Beam transforms that build them all in one shuffle.

- :mod:`beam_pipelines.marts.registry` — one line per mart: what ``ott gold`` builds.
- ``beam_pipelines.marts.<mart>`` (``daily_kpis``, ``ads_daily`` …) — one gold table
  each: the partials it needs from a hash bucket, how they merge, and its ``finish``.
- :mod:`beam_pipelines.marts.shared` — the silver inputs and the partials several marts share.
- :mod:`beam_pipelines.marts.spec` — what a mart module declares (:class:`~beam_pipelines.marts.spec.Mart`, ``Partial``).
- :mod:`beam_pipelines.marts.frames` — Arrow/pandas plumbing: reading Parquet batches,
  hash buckets, additive frame combiners, nearest-rank percentiles, gold output files.
- :mod:`beam_pipelines.marts.transforms` — composite ``PTransform`` s that wire them.
- :mod:`beam_pipelines.marts.publish` — commits, the gold release and the exports.
"""
