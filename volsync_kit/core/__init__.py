"""The pure core: model, substitution, kustomize and Flux rendering.

Nothing in this package performs I/O or imports a third-party library; the
adapters give it a :class:`~volsync_kit.core.ports.RepoReader`.
"""
