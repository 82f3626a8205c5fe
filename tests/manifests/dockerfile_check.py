#!/usr/bin/env python3
"""The checks of tests/manifests/dockerfiles_test.sh. Usage: dockerfile_check.py ROOT BUILD_DIR
TARGET_FILE...; prints one problem per line (and what it checked), exits 1 on any problem."""
import os
import re
import shlex
import subprocess
import sys

ROOT, BUILD_DIR = sys.argv[1], os.path.realpath(sys.argv[2])
TARGETS = [os.path.realpath(t) for t in sys.argv[3:]]
DEBIAN_12 = re.compile(r"^debian:(12|bookworm)(-slim)?(@sha256:[0-9a-f]{64})?$")
# In every Debian 12 image without installing anything (apt and what it needs).
BASE_ROOTS = ["apt", "base-files", "libc6", "bash", "coreutils", "dpkg"]
problems = []
notes = []


def stages(path):
    """[(name, base, [instructions])] with line continuations joined."""
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else str(len(out))
            out.append((name, parts[0], []))
        elif out:
            out[-1][2].append((word.upper(), rest.strip()))
    return out


def apt_packages(instructions):
    pkgs = []
    for word, rest in instructions:
        if word != "RUN":
            continue
        for cmd in re.split(r"&&|;", rest):
            args = shlex.split(cmd)
            while args and "=" in args[0]:
                args.pop(0)  # VAR=value prefixes
            if len(args) >= 2 and args[0] in ("apt-get", "apt") and "install" in args:
                after = args[args.index("install") + 1:]
                pkgs += [a for a in after if not a.startswith("-")]
    return pkgs


def apt(*args):
    return subprocess.run(["apt-cache", *args], capture_output=True, text=True)


def closure(pkgs):
    if not pkgs:
        return set()
    r = apt("depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
            "--no-breaks", "--no-replaces", "--no-enhances", *pkgs)
    return {line.strip() for line in r.stdout.splitlines()
            if line and not line.startswith(" ") and not line.startswith("<")}


def install_deps_dev_packages():
    text = open(os.path.join(ROOT, "hack", "install-deps.sh"), encoding="utf-8").read()
    block = re.search(r"PACKAGES=\((.*?)\n\)", text, flags=re.S).group(1)
    words = " ".join(line.split("#")[0] for line in block.splitlines()).split()
    # libbenchmark-dev: optional (find_package QUIET), only for tests/bench.
    return [w for w in words if w.endswith("-dev") and w != "libbenchmark-dev"]


def linked_packages(binary):
    r = subprocess.run(["ldd", binary], capture_output=True, text=True)
    libs = sorted({os.path.realpath(m.group(1)) for m in re.finditer(r"=> (/\S+)", r.stdout)})
    # One dpkg -S for all (each call reads every file list). Debian 12 is usrmerged: a library
    # dpkg knows as /lib/x86_64-linux-gnu/... resolves to /usr/lib/..., so ask for both.
    queries = libs + [l[len("/usr"):] for l in libs if l.startswith("/usr/lib/")]
    d = subprocess.run(["dpkg", "-S", *queries], capture_output=True, text=True)
    owner = {}
    for line in d.stdout.splitlines():
        pkgs, _, path = line.partition(": ")
        owner[path] = pkgs.split(",")[0].split(":")[0].strip()
    found = set()
    for lib in libs:
        pkg = owner.get(lib) or owner.get(lib[len("/usr"):] if lib.startswith("/usr/") else "")
        if pkg is None:
            problems.append(f"{binary}: {lib} belongs to no Debian package")
        else:
            found.add(pkg)
    return found


def existing(pkgs):
    """The subset of pkgs apt knows (one apt-cache call: loading its cache is the slow part)."""
    if not pkgs:
        return set()
    r = apt("show", "--no-all-versions", *pkgs)
    return set(re.findall(r"^Package: (\S+)$", r.stdout, flags=re.M))


base = closure(BASE_ROOTS)
dev_wanted = install_deps_dev_packages()
built = {os.path.relpath(t, BUILD_DIR): t for t in TARGETS}
dockerfiles = sorted(os.path.join(ROOT, "images", d, "Dockerfile")
                     for d in os.listdir(os.path.join(ROOT, "images")))
if not dockerfiles:
    problems.append("no images/*/Dockerfile")
copied_binaries = set()
for path in dockerfiles:
    rel = os.path.relpath(path, ROOT)
    st = stages(path)
    for name, image, _ in st:
        if not DEBIAN_12.match(image):
            problems.append(f"{rel}: stage {name} is based on {image}, not Debian 12")
    all_pkgs = [p for _, _, ins in st for p in apt_packages(ins)]
    known = existing(sorted(set(all_pkgs)))
    for p in sorted(set(all_pkgs) - known):
        problems.append(f"{rel}: package {p} does not exist in Debian 12")
    copies = [(n, rest) for n, _, ins in st for w, rest in ins
              if w == "COPY" and rest.startswith("--from=")]
    if not copies:
        continue  # a single-stage image of Debian packages only (images/libvirt)
    if len(st) < 2:
        problems.append(f"{rel}: COPY --from without a build stage")
    build_stage = {n: ins for n, _, ins in st}
    build_pkgs = None
    for stage_name, rest in copies:
        src_stage = rest.split()[0][len("--from="):]
        src = rest.split()[1]
        if src_stage not in build_stage:
            problems.append(f"{rel}: COPY --from={src_stage}: no such stage")
            continue
        build_pkgs = apt_packages(build_stage[src_stage])
        workdir = [r for w, r in build_stage[src_stage] if w == "WORKDIR"]
        prefix = (workdir[-1] if workdir else "/") + "/build/"
        if not src.startswith(prefix) or src[len(prefix):] not in built:
            problems.append(f"{rel}: COPY {src}: not a binary the build produces "
                            f"(expected {prefix} + one of {sorted(built)})")
            continue
        target = os.path.basename(src)
        runs = " ".join(r for w, r in build_stage[src_stage] if w == "RUN")
        if not re.search(r"hack/build\.sh( [\w-]+)* " + re.escape(target) + r"\b", runs):
            problems.append(f"{rel}: the build stage does not build {target} (hack/build.sh)")
        copied_binaries.add(target)
        # The runtime stage must provide every library the binary links.
        runtime = [ins for n, _, ins in st if n == stage_name][0]
        provided = base | closure(apt_packages(runtime))
        for pkg in sorted(linked_packages(built[src[len(prefix):]])):
            if pkg not in provided:
                problems.append(f"{rel}: {target} links a library from {pkg}, which the "
                                f"runtime stage does not install")
        notes.append(f"{rel}: {target} copied from the build; its libraries are installed")
    for p in dev_wanted:
        if build_pkgs is not None and p not in build_pkgs:
            problems.append(f"{rel}: the build stage lacks {p} (hack/install-deps.sh has it)")
for target in (os.path.basename(t) for t in TARGETS):
    if target not in copied_binaries:
        problems.append(f"no Dockerfile ships {target}")
print("\n".join(notes))
print("\n".join("FAIL: " + p for p in problems))
sys.exit(1 if problems else 0)
