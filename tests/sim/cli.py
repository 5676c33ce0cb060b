"""`python tests/sim/cli.py kubectl|flux ARGS...`: run one kubectl/flux command against the shared simulated cluster.

The state is $VK_SIM_STATE, read and written under an exclusive fcntl.flock on $VK_SIM_STATE.lock; every call is
appended to $VK_SIM_STATE.calls as one line. The commands live in commands.py and the model in world.py, both
imported with their bytecode cached outside the repository (even under PYTHONDONTWRITEBYTECODE), so that a call
costs a few tens of milliseconds.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import sys


def main(argv: list[str]) -> int:
    sys.dont_write_bytecode = False
    sys.pycache_prefix = sys.pycache_prefix or os.path.join(os.environ.get("TMPDIR", "/tmp"), "vk-sim-pycache")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from sim.commands import CliError, Raw, flux, kubectl, parse
    from sim.world import World

    if len(argv) < 1 or argv[0] not in ("kubectl", "flux"):
        print("usage: cli.py kubectl|flux ARGS...", file=sys.stderr)
        return 2
    tool, args = argv[0], argv[1:]
    state = os.environ.get("VK_SIM_STATE")
    if not state:
        print("error: VK_SIM_STATE is not set", file=sys.stderr)
        return 2
    with open(state + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(state + ".calls", "a", encoding="utf-8") as calls:
            calls.write(shlex.join([tool, *args]) + "\n")
        world = World.load(state)  # type: ignore[arg-type]
        tick = True  # every call ends with one tick, except those that never reach the cluster
        try:
            pos, flags = parse(args, tool)
            tick = not ("--help" in flags or pos[:1] == ["version"] or pos[:2] == ["config", "current-context"])
            ctx = flags.get("--context")
            if ctx is not None and ctx != world.state["context"]:
                raise CliError(
                    f'error: context "{ctx}" does not exist'
                    if tool == "kubectl"
                    else f'✗ context "{ctx}" does not exist'
                )
            code, out, err, _ = (kubectl if tool == "kubectl" else flux)(world, pos, flags)
        except CliError as e:
            code, out, err = e.code, [], [e.message]
        if tick:
            world.tick()
        world.save()
    sys.stdout.write("".join(o if isinstance(o, Raw) else o + "\n" for o in out))
    if err:
        print("\n".join(err), file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
