"""Matching quality on the MAESTRI exchanges, leave one case out.

For each of the 43 MAESTRI cases: a park file of its companies (business and sector only) and the
streams their donors give; the matcher runs with ``kb_exclude=["maestri:case-<id>"]`` (the CLI's
``--kb-exclude``), so the case's own exchanges are not in the knowledge it uses. Note that the
contract's prefix rule makes ``maestri:case-1`` also drop cases 10-19: the benchmark is, if
anything, harder than a strict one-case hold-out.

Reported against the documented receivers, overall and per case: recall@1, @3, @5, MRR and
precision@3 (correct among the top three returned), beside a TF-IDF text-similarity baseline on the
same cases. Variant A: receivers known by sector and business only. Variant B: each receiver also
posts its documented final uses as demand streams.

Usage: python benchmarks/matching_quality.py [--per-case] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from symbiolink.codes.sectors import nace_lookup
from symbiolink.knowledge.base import default_knowledge, infer_kind, maestri_rows
from symbiolink.matching import Matcher
from symbiolink.model.park import FORMAT, ParkFile
from symbiolink.model.validate import validate_document


@dataclass
class Case:
    case_id: str
    park: ParkFile
    truth: dict[str, set[str]] = field(default_factory=dict)  # supply id -> receiver company ids


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "x"


def _isic(nace: str) -> str | None:
    nace = (nace or "").strip()
    if not nace or nace.upper() == "ND":
        return None
    found = nace_lookup(nace) or (nace_lookup(nace[:3]) if len(nace) == 4 else None)
    return found.isic if found else None


def _use_kind(final_use: str) -> str:
    words = final_use.lower()
    if any(w in words for w in ("heat", "steam", "energy", "fuel", "electric", "power")):
        return "energy"
    if "water" in words:
        return "water"
    return "material"


def build_cases(*, post_demands: bool) -> list[Case]:
    rows = maestri_rows()
    by_case: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by_case[r["case_id"]].append(r)
    cases = []
    for case_id, items in sorted(by_case.items(), key=lambda kv: int(kv[0])):
        companies: dict[tuple[str, str], str] = {}
        doc: dict = {
            "format": FORMAT,
            "parks": [{"id": f"case-{case_id}", "name": f"MAESTRI case {case_id}"}],
            "companies": [],
            "streams": [],
        }

        def company(
            name: str,
            business: str,
            nace: str,
            companies: dict[tuple[str, str], str] = companies,
            doc: dict = doc,
            case_id: str = case_id,
        ) -> str:
            key = (
                (name if name and name != "ND" else business).strip().lower(),
                (nace or "").strip(),
            )
            if key not in companies:
                cid = f"c{len(companies) + 1}-{_slug(business)}"
                companies[key] = cid
                entry = {
                    "id": cid,
                    "name": business.strip() or "company",
                    "park": f"case-{case_id}",
                    "description": business.strip(),
                }
                isic = _isic(nace)
                if isic:
                    entry["isic"] = isic
                doc["companies"].append(entry)
            return companies[key]

        supplies: dict[tuple[str, str, str], str] = {}
        demands: set[tuple[str, str]] = set()
        truth: dict[str, set[str]] = defaultdict(set)
        for r in items:
            donor = company(r["donor_name"], r["donor_business"], r["donor_nace"])
            receiver = company(r["receiver_name"], r["receiver_business"], r["receiver_nace"])
            if donor == receiver:
                continue
            codes = [c for c in re.split(r"[/;, ]+", r["ewc"] or "") if len(c) == 6 and c.isdigit()]
            key = (donor, r["waste_description"].strip(), codes[0] if codes else "")
            if key not in supplies:
                sid = f"s{len(supplies) + 1}"
                supplies[key] = sid
                stream = {
                    "id": sid,
                    "company": donor,
                    "direction": "supply",
                    "kind": infer_kind(r["waste_description"], r["final_use"]),
                    "name": r["waste_description"].strip() or "by-product",
                }
                if codes:
                    stream["ewc"] = codes[0]
                doc["streams"].append(stream)
            truth[supplies[key]].add(receiver)
            use = (r["final_use"] or "").strip()
            if post_demands and use and (receiver, use) not in demands:
                demands.add((receiver, use))
                doc["streams"].append(
                    {
                        "id": f"d{len(demands)}",
                        "company": receiver,
                        "direction": "demand",
                        "kind": _use_kind(use),
                        "name": use,
                    }
                )
        park, issues = validate_document(doc, file=f"case-{case_id}")
        if park is None:
            raise SystemExit(
                f"case {case_id}: {[str(i) for i in issues if i.severity == 'error'][:3]}"
            )
        if truth:
            cases.append(Case(case_id, park, dict(truth)))
    return cases


def _metrics(ranks: list[int | None], top3_correct: list[tuple[int, int]]) -> dict[str, float]:
    n = len(ranks)
    recall = {k: sum(1 for r in ranks if r is not None and r <= k) / n for k in (1, 3, 5)}
    mrr = sum(1.0 / r for r in ranks if r is not None) / n
    returned = sum(t for _, t in top3_correct)
    precision3 = sum(c for c, _ in top3_correct) / returned if returned else 0.0
    return {
        "exchanges": n,
        "recall@1": recall[1],
        "recall@3": recall[3],
        "recall@5": recall[5],
        "mrr": mrr,
        "precision@3": precision3,
    }


def evaluate(cases: list[Case], ranker) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    all_ranks: list[int | None] = []
    all_p3: list[tuple[int, int]] = []
    per_case = {}
    for case in cases:
        ranking = ranker(case)  # supply id -> ordered receiver ids
        ranks: list[int | None] = []
        p3: list[tuple[int, int]] = []
        for sid, receivers in case.truth.items():
            order = ranking.get(sid, [])
            for r in receivers:
                ranks.append(order.index(r) + 1 if r in order else None)
            top3 = order[:3]
            p3.append((len(set(top3) & receivers), len(top3)))
        per_case[case.case_id] = _metrics(ranks, p3)
        all_ranks += ranks
        all_p3 += p3
    return _metrics(all_ranks, all_p3), per_case


def matcher_ranker(case: Case, weights: dict[str, float] | None = None) -> dict[str, list[str]]:
    kb = default_knowledge().exclude([f"maestri:case-{case.case_id}"])
    matcher = Matcher(knowledge=kb) if weights is None else Matcher(knowledge=kb, weights=weights)
    matches = matcher.match(case.park, top=50, min_score=0.0)
    out: dict[str, list[str]] = defaultdict(list)
    for m in matches:
        out[m.supply].append(m.receiver)
    return out


def case_features(case: Case, exclude: list[str]) -> tuple[list[list[float]], list[int], list[str]]:
    """Feature rows of every (supply, candidate) pair of a case, labelled 1 for documented
    receivers, with the supply each row belongs to."""
    from symbiolink.matching.engine import FEATURES, _Context

    matcher = Matcher(knowledge=default_knowledge().exclude(exclude))
    ctx = _Context(case.park, matcher)
    x: list[list[float]] = []
    y: list[int] = []
    groups: list[str] = []
    for s in case.park.streams:
        if s.id not in case.truth:
            continue
        for cid, (f, _) in matcher.features(ctx, s).items():
            x.append([f[k] for k in FEATURES])
            y.append(1 if cid in case.truth[s.id] else 0)
            groups.append(f"{case.case_id}/{s.id}")
    return x, y, groups


def fit_weights(cases: list[Case], held_out: str | None) -> dict[str, float]:
    """Weights of the features, fitted on documented receivers of every case but ``held_out``.

    The matcher ranks the candidates of one supply, so the feature weights are those of a
    conditional logit: for each documented receiver, the probability that it is the one chosen
    among its supply's candidates (a softmax over them), with an L2 penalty of 1/2 |w|^2 as in
    the default logistic regression. What is common to a supply's candidates cancels there, so
    the intercept is then fitted alone, by logistic regression of the labels on the fixed
    linear score, which keeps the score a probability of a documented exchange.

    Each training case's features are computed without its own knowledge and without the held-out
    case's, so nothing of the held-out case reaches the weights.
    """
    from symbiolink.matching.engine import FEATURES

    x: list[list[float]] = []
    y: list[int] = []
    groups: list[str] = []
    for case in cases:
        if case.case_id == held_out:
            continue
        exclude = [f"maestri:case-{case.case_id}"] + (
            [f"maestri:case-{held_out}"] if held_out else []
        )
        cx, cy, cg = case_features(case, exclude)
        x += cx
        y += cy
        groups += cg
    w, b = _conditional_logit(np.array(x, dtype=float), np.array(y, dtype=float), groups)
    weights = {"intercept": b}
    weights.update({k: float(v) for k, v in zip(FEATURES, w, strict=True)})
    return weights


def _conditional_logit(x: np.ndarray, y: np.ndarray, groups: list[str]) -> tuple[np.ndarray, float]:
    """Weights ``w`` maximising sum over positives of log softmax_group(x w) - |w|^2 / 2, then the
    intercept ``b`` of a logistic regression of ``y`` on ``b + x w`` (deterministic: L-BFGS from
    zero)."""
    from scipy.optimize import minimize

    codes = {g: i for i, g in enumerate(dict.fromkeys(groups))}
    gid = np.array([codes[g] for g in groups])
    n_groups = len(codes)
    # Supplies with no documented receiver among the candidates say nothing about the ranking.
    has_pos = np.bincount(gid, weights=y, minlength=n_groups) > 0
    keep = has_pos[gid]
    x, y, gid = x[keep], y[keep], gid[keep]
    npos = np.bincount(gid, weights=y, minlength=n_groups)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w
        zmax = np.full(n_groups, -np.inf)
        np.maximum.at(zmax, gid, z)
        e = np.exp(z - zmax[gid])
        denom = np.bincount(gid, weights=e, minlength=n_groups)
        logz = np.log(np.where(denom > 0, denom, 1.0)) + np.where(np.isfinite(zmax), zmax, 0.0)
        # sum over positives of (z_i - logZ_g)
        value = float(np.sum(y * z) - np.sum(npos * logz))
        p = e / denom[gid]
        grad = x.T @ y - x.T @ (p * npos[gid])
        return -value + 0.5 * float(w @ w), -grad + w

    res = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B")
    w = res.x
    z = x @ w

    def loss_b(b: np.ndarray) -> tuple[float, np.ndarray]:
        t = b[0] + z
        value = float(np.sum(np.logaddexp(0.0, t) - y * t))
        p = 1.0 / (1.0 + np.exp(-t))
        return value, np.array([float(np.sum(p - y))])

    b = minimize(loss_b, np.zeros(1), jac=True, method="L-BFGS-B").x[0]
    return w, float(b)


def tfidf_ranker(case: Case) -> dict[str, list[str]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    demands = defaultdict(list)
    for s in case.park.streams:
        if s.direction == "demand":
            demands[s.company].append(s.name)
    companies = case.park.companies
    ctext = [f"{c.name} {c.description or ''} {' '.join(demands[c.id])}" for c in companies]
    supplies = [s for s in case.park.streams if s.direction == "supply"]
    vec = TfidfVectorizer().fit(ctext + [s.name for s in supplies])
    cm = vec.transform(ctext)
    out = {}
    for s in supplies:
        sims = (cm @ vec.transform([s.name]).T).toarray().ravel()
        order = sorted(range(len(companies)), key=lambda i: (-sims[i], companies[i].id))
        out[s.id] = [companies[i].id for i in order if companies[i].id != s.company]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-case", action="store_true", help="print the figures of every case")
    ap.add_argument("--json", help="write all figures to this file")
    ap.add_argument(
        "--fit", help="fit the shipped weights on all cases and write them to this JSON file"
    )
    args = ap.parse_args()
    if args.fit:
        cases = build_cases(post_demands=False) + build_cases(post_demands=True)
        weights = fit_weights(cases, None)
        doc = {
            "fitted_by": "benchmarks/matching_quality.py --fit",
            "data": "MAESTRI exchanges, variants A and B, each case without its own knowledge",
            "weights": weights,
        }
        try:  # keep what is not fitted (the fixed distance weight and its note)
            with open(args.fit, encoding="utf-8") as fh:
                old = json.load(fh)
            doc.update({k: old[k] for k in ("fixed", "note") if k in old})
        except (OSError, ValueError):
            pass
        with open(args.fit, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
        print(json.dumps(weights, indent=1))
        return
    report = {}
    for variant, post in (
        ("A: receivers by sector only", False),
        ("B: receivers post their final uses", True),
    ):
        cases = build_cases(post_demands=post)
        t0 = time.perf_counter()
        fold_weights = {c.case_id: fit_weights(cases, c.case_id) for c in cases}
        ours, ours_cases = evaluate(
            cases, lambda c, fw=fold_weights: matcher_ranker(c, fw[c.case_id])
        )
        elapsed = time.perf_counter() - t0
        base, base_cases = evaluate(cases, tfidf_ranker)
        report[variant] = {
            "symbiolink": ours,
            "tfidf": base,
            "per_case": {
                k: {"symbiolink": ours_cases[k], "tfidf": base_cases[k]} for k in ours_cases
            },
        }
        print(
            f"\nVariant {variant}: {len(cases)} cases, {ours['exchanges']} exchanges ({elapsed:.1f} s)"
        )
        print(f"{'':12} {'recall@1':>9} {'recall@3':>9} {'recall@5':>9} {'MRR':>6} {'prec@3':>7}")
        for name, m in (("symbiolink", ours), ("TF-IDF", base)):
            print(
                f"{name:12} {m['recall@1']:9.3f} {m['recall@3']:9.3f} {m['recall@5']:9.3f} {m['mrr']:6.3f} {m['precision@3']:7.3f}"
            )
        if args.per_case:
            print(f"{'case':>5} {'n':>4} {'r@3':>6} {'MRR':>6} {'tfidf r@3':>10}")
            for k in ours_cases:
                print(
                    f"{k:>5} {ours_cases[k]['exchanges']:4d} {ours_cases[k]['recall@3']:6.2f} {ours_cases[k]['mrr']:6.2f} {base_cases[k]['recall@3']:10.2f}"
                )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=1)


if __name__ == "__main__":
    main()
