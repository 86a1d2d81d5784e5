"""What privacy costs a recommender: ε-differentially-private statistics and exact erasure.

Modules: ``mechanisms`` (the Laplace mechanism, per-user contribution caps and the sensitivities
they give), ``erasure`` (the bookkeeping every exact ``forget(users)`` shares, the refit fallback
for models that cannot forget, and the forget-versus-refit check), ``study`` (NDCG@k as a function
of ε over noise seeds, the erasure timings, and the conclusion written from a run's numbers).
The private recommenders themselves live with the other models, in
``recsys_study.recommenders.private``, and are built through the registry like any of them.
"""

from recsys_study.privacy import erasure, mechanisms

__all__ = ["erasure", "mechanisms"]
