"""The JVM servers' jars, fetched once by Maven into a cache, and the Java that runs them.

``pom.xml`` beside this module has one profile per server. ``classpath(profile)`` copies that
profile's dependencies (``mvn dependency:copy-dependencies``) into
``$AEGIS_MAVEN_CACHE`` (default ``~/.cache/aegis/maven``)``/<profile>-<pom digest>/``, so a second
start, or a second checkout, reuses them without Maven or the network. A file lock keeps two
sessions that start at the same moment from fetching at once (Maven 3.8 does not lock its
local repository).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from aegis_orchestration.devstack.errors import StackError

POM = "pom.xml"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
INSTALL_HINT = "on Debian: `apt-get update && apt-get install -y openjdk-17-jre-headless maven`"
MIN_JAVA = 17


def _pom_bytes() -> bytes:
    return resources.files("aegis_orchestration.devstack").joinpath(POM).read_bytes()


def cache_root() -> Path:
    configured = os.environ.get("AEGIS_MAVEN_CACHE")
    root = Path(configured) if configured else Path.home() / ".cache" / "aegis" / "maven"
    root.mkdir(parents=True, exist_ok=True)
    return root


def java_binary() -> str:
    """The ``java`` to run the servers: ``$AEGIS_JAVA``, ``$JAVA_HOME/bin/java`` or ``java`` on PATH.

    Raises the coded :class:`StackError` naming what to install when none is found or it is
    older than Java 17.
    """
    candidates = [os.environ.get("AEGIS_JAVA")]
    if os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    candidates.append(shutil.which("java"))
    java = next((c for c in candidates if c and Path(c).exists()), None)
    if java is None:
        raise StackError(f"Java {MIN_JAVA} (`java`) not found; the JVM servers need it: {INSTALL_HINT}")
    version = java_version(java)
    if version < MIN_JAVA:
        raise StackError(f"{java} is Java {version}; the JVM servers need Java {MIN_JAVA}: {INSTALL_HINT}")
    return java


def java_version(java: str) -> int:
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)  # nosec B603 # fixed argv: the java binary we located, no shell
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        raise StackError(f"could not read the version of {java}: {result.stderr.strip()[:200]}")
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def mvn_binary() -> str:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(f"Maven (`mvn`) not found; it fetches the JVM servers' jars: {INSTALL_HINT}")
    return mvn


def classpath(profile: str) -> Path:
    """The directory holding every jar of ``profile`` (``kafka``, ``neo4j``, ``opensearch``, ``ecj``)."""
    pom = _pom_bytes()
    digest = hashlib.sha256(pom + profile.encode()).hexdigest()[:12]
    root = cache_root()
    target = root / f"{profile}-{digest}"
    if (target / ".complete").exists():
        return target
    with (root / ".fetch.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".complete").exists():  # another session fetched it while we waited
            return target
        mvn = mvn_binary()
        work = root / f".{profile}-{digest}.tmp"
        shutil.rmtree(work, ignore_errors=True)
        (work / "lib").mkdir(parents=True)
        (work / POM).write_bytes(pom)
        result = subprocess.run(  # nosec B603 # fixed argv: the mvn binary we located and our pom, no shell
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(work / POM),
                "-P",
                profile,
                f"{DEPENDENCY_PLUGIN}:copy-dependencies",
                f"-DoutputDirectory={work / 'lib'}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=1800,
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip().splitlines()
            raise StackError(
                f"Maven could not fetch the {profile} jars (profile {profile!r} of the devstack pom.xml):\n"
                + "\n".join(output[-15:])
            )
        shutil.rmtree(target, ignore_errors=True)
        (work / "lib").rename(target)
        shutil.rmtree(work, ignore_errors=True)
        (target / ".complete").write_text(profile)
    return target


def jars(profile: str) -> list[Path]:
    return sorted(classpath(profile).glob("*.jar"))


def java_classpath(*entries: Path) -> str:
    """A ``-cp`` value: directories of classes as they are, jar directories as ``dir/*``."""
    parts = []
    for entry in entries:
        parts.append(f"{entry}/*" if any(entry.glob("*.jar")) else str(entry))
    return os.pathsep.join(parts)
