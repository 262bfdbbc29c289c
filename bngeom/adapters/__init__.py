"""Adapters: the manifold as the peers' own objects.

* :mod:`bngeom.adapters.geomstats` -- ``BNSpace`` / ``BNMetric``, geomstats spaces and metrics;
* :mod:`bngeom.adapters.pymanopt` -- ``BNManifold`` and ``make_problem`` for pymanopt;
* :mod:`bngeom.adapters.geoopt` -- ``BNSphere`` and ``NeuronManifold``, geoopt manifolds for
  torch (needs the optional ``torch`` extra).

Each adapter only maps its library's calling conventions onto :mod:`bngeom.geometry`; it is
imported on first use (``bngeom.BNSpace`` and friends are lazy), so ``import bngeom`` does not
import geomstats, pymanopt, torch or geoopt.
"""
