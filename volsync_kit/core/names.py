"""Kubernetes name validation and shell quoting for emitted commands.

Every name that goes into a command line is checked here first.  A name
that fails is refused: the planner reports it and never emits it, not even
in a comment, so a hostile app name cannot become a shell command.
"""

from __future__ import annotations

import re
import shlex
import zlib

# k8s.io/apimachinery pkg/util/validation: IsDNS1123Label / IsDNS1123Subdomain.
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class UnsafeName(ValueError):
    """A name that is not a valid Kubernetes name; it must not be emitted.

    ``where`` says where the repository sets it (``file:line:col``), and
    ``written`` how it is written there when that differs (Flux drops the
    newlines of a variable's value, so the name is not what the file says).
    """

    def __init__(self, name: str, where: str = "", written: str | None = None) -> None:
        super().__init__(name)
        self.name = name
        self.where = where
        self.written = written


# apimachinery IsValidLabelValue: empty, or 63 characters at most that begin and
# end with an alphanumeric, with '-', '_' and '.' between.
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def is_label_value(value: str) -> bool:
    return len(value) <= 63 and bool(LABEL_VALUE.match(value))


def is_label(name: str) -> bool:
    return len(name) <= 63 and bool(DNS1123_LABEL.match(name))


def is_subdomain(name: str) -> bool:
    return len(name) <= 253 and bool(DNS1123_SUBDOMAIN.match(name))


def label(name: str) -> str:
    """A validated DNS-1123 label (namespaces, most object names), shell-quoted."""
    if not is_label(name):
        raise UnsafeName(name)
    return shlex.quote(name)


def subdomain(name: str) -> str:
    """A validated DNS-1123 subdomain (PV and PVC names), shell-quoted."""
    if not is_subdomain(name):
        raise UnsafeName(name)
    return shlex.quote(name)


# What each mover's Job name starts with (backube/volsync
# internal/controller/mover/<mover>/mover.go, where each calls GetJobName;
# kopia's in perfectra1n/volsync).  syncthing runs a Deployment, not a Job.
JOB_PREFIXES = {
    "restic": "volsync-",
    "kopia": "volsync-",
    "rclone": "volsync-rclone-",
    "rsync": "volsync-rsync-",
    "rsyncTLS": "volsync-rsync-tls-",
}


def mover_job(direction: str, owner: str, mover: str = "restic") -> str:
    """VolSync's mover Job name: ``volsync-<src|dst>-<owner>`` for restic (each
    mover has its prefix: :data:`JOB_PREFIXES`), hashed when too long.

    backube/volsync ``internal/controller/utils/utils.go`` GetJobName: names
    over 63 characters become the prefix plus an 8-hex-digit CRC-32 of the
    owner's name (``getShortenedResourceName``).
    """
    prefix = f"{JOB_PREFIXES[mover]}{direction}-"
    name = prefix + owner
    if len(name) > 63:
        name = prefix + f"{zlib.crc32(owner.encode()) & 0xFFFFFFFF:08x}"
    return name


# A kubeconfig context name is free text; the ones people use are made of
# these (cluster names, user@cluster, ARNs of EKS clusters).
KUBE_CONTEXT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:/+-]{0,252}$")


def kube_context(name: str) -> str:
    """A kubeconfig context name that is safe on a command line, shell-quoted."""
    if not KUBE_CONTEXT.match(name):
        raise UnsafeName(name)
    return shlex.quote(name)


def templated(text: str, app: str | None) -> str:
    """``text`` with the app's name, where it stands as a word, written ``${APP}``.

    One sentence then stands for every app that a shared component treats
    alike (``/volsync/${APP}``); a name inside a longer word is left alone.
    """
    if not app or app not in text:
        return text
    # A search per occurrence, as re.sub would scan: a pattern compiled per
    # app would miss re's cache of 512 in a plan of thousands of apps.
    out: list[str] = []
    start = at = 0
    while (at := text.find(app, at)) >= 0:
        end = at + len(app)
        if (at == 0 or text[at - 1] not in _WORD) and (end == len(text) or text[end] not in _WORD):
            out += (text[start:at], "${APP}")
            start = at = end
        else:
            at += 1
    out.append(text[start:])
    return "".join(out)


_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
