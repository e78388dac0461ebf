"""Puts a source tree of the checkout into this distribution's wheel and sdist, without moving it.

The workspace member's own directory (``packages/<name>/``) holds only its metadata; the code stays
where the repository keeps it (``procgov_engine/``, ``workers/``, ``data/``, ``bpmn/`` at the root),
so ``tool.hatch.build.hooks.custom.trees`` maps those directories, relative to the repository root, to
their places in the archive. An unpacked sdist already has the trees inside the project, and they
come from there. An editable install adds nothing: ``dev-mode-dirs`` puts the checkout itself on
``sys.path`` (a copy in site-packages would shadow the files being edited). This file is the same in
every member (tests/deploy/test_deploy_wheels.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pathspec
from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class TreesHook(BuildHookInterface):
    """Force-includes ``trees`` (repository path → archive path) into standard wheels and sdists."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        project = Path(self.root)
        trees: dict[str, str] = self.config.get("trees", {})
        if all((project / target).is_dir() for target in trees.values()):  # an unpacked sdist
            for target in trees.values():
                if not any(target.startswith(f"{outer}/") for outer in trees.values()):  # not in another tree
                    build_data["force_include"][str(project / target)] = target
            return
        checkout = project.parents[1]
        # File by file, leaving out what git ignores there (caches, var/, .env), as hatch does for packages.
        gitignore = checkout / ".gitignore"
        lines = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.is_file() else []
        ignored = pathspec.GitIgnoreSpec.from_lines(lines)
        for source, target in trees.items():
            tree = checkout / source
            if not tree.is_dir():
                raise FileNotFoundError(f"{tree}: not a directory (and no {project / target})")
            for path in sorted(tree.rglob("*")):
                if path.is_file() and not ignored.match_file(path.relative_to(checkout).as_posix()):
                    build_data["force_include"][str(path)] = f"{target}/{path.relative_to(tree).as_posix()}"
