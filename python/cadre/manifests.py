"""Manifests as the CLI reads them (client/manifest.h): a file, YAML text or a
dict, split into documents that are each sent as written, so the coordinator's
error messages point at the user's own text. A dict is sent as JSON, which is
YAML too, so no YAML library is needed."""

import json
import os
import re

from . import errors

_SEPARATOR = re.compile(r"^---[ \t\r]*$")


def _has_content(document):
    return any(line.strip() and not line.strip().startswith("#") for line in document.splitlines())


def _is_platform_spec(document):
    """The KFP compiler's second document: ``platforms:`` and nothing else."""
    top = [l for l in document.splitlines() if l and not l[0].isspace() and not l.startswith("#")]
    return len(top) == 1 and top[0].split("#", 1)[0].rstrip() == "platforms:"


def split_documents(text):
    documents, current = [], []

    def flush():
        doc = "".join(current)
        current.clear()
        if not _has_content(doc):
            return
        if documents and _is_platform_spec(doc):
            documents[-1] += ("" if documents[-1].endswith("\n") else "\n") + "---\n" + doc  # it belongs to the pipeline spec before it
        else:
            documents.append(doc)

    for line in text.splitlines(keepends=True):
        if _SEPARATOR.match(line.rstrip("\n")):
            flush()
        else:
            current.append(line)  # as written: a re-applied manifest stays byte for byte the same
    flush()
    return documents


def documents(manifest):
    """The documents of ``manifest``: a dict (or a list of dicts), a path to a
    YAML file, or YAML text."""
    if isinstance(manifest, dict):
        return [json.dumps(manifest)]
    if isinstance(manifest, (list, tuple)):
        out = []
        for item in manifest:
            out.extend(documents(item))
        return out
    if hasattr(manifest, "to_manifest"):
        return [json.dumps(manifest.to_manifest())]
    if isinstance(manifest, os.PathLike) or (isinstance(manifest, str) and "\n" not in manifest
                                             and manifest.endswith((".yaml", ".yml", ".json"))):
        path = os.fspath(manifest)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise errors.NotFound(f"cannot read manifest {path}: {e.strerror}") from None
        docs = split_documents(text)
        if not docs:
            raise errors.InvalidArgument(f"{path}: no manifest in it")
        return docs
    if isinstance(manifest, str):
        docs = split_documents(manifest)
        if not docs:
            raise errors.InvalidArgument("the manifest text is empty")
        return docs
    raise TypeError(f"a manifest is a dict, a path or YAML text, not {type(manifest).__name__}")
