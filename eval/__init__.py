"""Evaluation of lsr on BEIR-style collections: ``lsr eval``, trec_eval-exact metrics through
ranx, reports, significance tests and Seismic parameter sweeps. Benchmarks live in ``benchmarks``.
"""
