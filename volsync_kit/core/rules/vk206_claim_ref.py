"""VK206 claim-ref: a PV's claimRef must name the PVC bound to it, after rendering.

## What it does
For every static CephFS PV with `spec.claimRef` and the PersistentVolumeClaim
whose `spec.volumeName` names it, checks that `claimRef.name` is the
claim's name and, in each app's rendering, that `claimRef.namespace` is the
claim's namespace.  Values still holding `${...}` are judged per app.

## Why is this bad?
A PV with a `claimRef` is reserved for exactly that claim.  Any other
claim that names the PV in `volumeName` stays Pending (the volume is
"already bound to a different claim"), and the PV stays Available for a
claim that never comes.  kustomize and Flux rewrite `PVC.spec.volumeName`
when `namePrefix`/`nameSuffix` rename the PV, but they never rewrite
`claimRef.name`, and `targetNamespace` (or kustomize's `namespace`)
never sets `claimRef.namespace`, as the PV is cluster-scoped.  So a
`claimRef` that looks right in the file can be wrong after the build.

## Example
```yaml
kind: PersistentVolume
metadata:
  name: media-share
spec:
  claimRef:
    name: media-share
    namespace: default  # the Flux Kustomization sets targetNamespace: media
```

## Use instead
```yaml
kind: PersistentVolume
metadata:
  name: media-share
spec:
  claimRef:
    name: media-share
    namespace: media
```

## References
- kubernetes-sigs/kustomize `api/internal/konfig/builtinpluginconsts/namereference.go`
  (PV name -> PVC `spec/volumeName`; `claimRef` is not tracked) and
  `namespace.go` (`claimRef.namespace` is not rewritten)
- kubernetes/kubernetes `pkg/controller/volume/persistentvolume/pv_controller.go`
  (`syncClaim`/`syncVolume`: a pre-bound PV waits for the claim its claimRef names)
- Kubernetes docs, "Persistent Volumes", "Reserving a PersistentVolume"
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Map, Severity
from volsync_kit.core.rules._api import Context, Group, Hit

ID = "VK206"
NAME = "claim-ref"
SEVERITY = Severity.ERROR
SCOPE = "group"
SUMMARY = "Point the PV's claimRef at the name and namespace of the rendered PVC"

REF = ("spec", "claimRef")


def check(group: Group, ctx: Context) -> Iterator[Hit]:
    for pvc, pv in group.bound_pairs():
        if not isinstance(pv.at(*REF), Map):
            continue
        name = pv.value(*REF, "name")
        claim_name = pvc.value("metadata", "name")
        if name is None or name.raw in (None, ""):
            yield Hit(
                f"claimRef of PV {pv.name} has no name, so PVC {pvc.name} never binds; set claimRef.name: {pvc.name}",
                name.loc if name is not None else pv.loc(*REF),
                pv,
            )
        elif name.known and (claim_name is None or claim_name.known) and str(name.raw) != pvc.name:
            yield Hit(
                f"claimRef.name {name.raw} of PV {pv.name} is not PVC {pvc.name}, which names the PV in volumeName; "
                f"set claimRef.name: {pvc.name} (prefixes and suffixes do not rewrite claimRef)",
                name.loc,
                pv,
            )
        namespace = pvc.res.namespace
        if group.view != "rendered" or not namespace:
            continue  # a claim's namespace is only known once targetNamespace is applied
        ref_namespace = pv.value(*REF, "namespace")
        if ref_namespace is None or ref_namespace.raw in (None, ""):
            yield Hit(
                f"claimRef of PV {pv.name} has no namespace, so PVC {namespace}/{pvc.name} never binds; "
                f"set claimRef.namespace: {namespace}",
                ref_namespace.loc if ref_namespace is not None else pv.loc(*REF),
                pv,
            )
        elif str(ref_namespace.raw) != namespace:
            yield Hit(
                f"claimRef.namespace {ref_namespace.raw} of PV {pv.name} is not {namespace}, the namespace of PVC "
                f"{pvc.name}; set claimRef.namespace: {namespace} (targetNamespace does not rewrite claimRef)",
                ref_namespace.loc,
                pv,
            )
