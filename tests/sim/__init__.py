"""A stateful Kubernetes + Flux + VolSync simulation that volsync-kit's tests drive through kubectl/flux stand-ins."""
