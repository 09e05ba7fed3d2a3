#!/usr/bin/python3
"""Validate moat audit logs against docs/audit-record.schema.json.

audit-schema.py [--moat-only] [--sample N] [--kinds] SCHEMA FILE...

Every line of each FILE must be a record the schema accepts. --moat-only:
only the logs moat wrote (their first line is a moat header; a test's own
made-up files are not) and only the lines that are JSON (tests append
garbage to see the reader cope). --sample N: at most N records of each
shape (kind, wall, members) per run, to keep a check of a 80,000-record log
cheap. --kinds: print the kinds validated. Exit 1 on any invalid record,
each said as FILE:LINE: what.
"""
import json
import sys

import jsonschema


def main(argv):
    moat_only, sample, kinds_out = False, 0, False
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        if opt == "--moat-only":
            moat_only = True
        elif opt == "--sample":
            sample = int(argv.pop(0))
        elif opt == "--kinds":
            kinds_out = True
    schema = json.load(open(argv[0]))
    validator = jsonschema.Draft202012Validator(schema)
    seen, kinds, bad, checked = {}, set(), 0, 0
    for path in argv[1:]:
        try:
            lines = open(path, "rb").read().split(b"\n")
        except OSError:
            continue
        if lines and lines[-1] == b"":
            lines.pop()
        if moat_only and (not lines or b'"kind":"header"' not in lines[0]):
            continue
        for no, raw in enumerate(lines, 1):
            try:
                rec = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                if moat_only:
                    continue
                print(f"{path}:{no}: not a JSON line")
                bad += 1
                continue
            if sample and isinstance(rec, dict):
                shape = (rec.get("kind"), rec.get("wall"), tuple(sorted(rec)))
                seen[shape] = seen.get(shape, 0) + 1
                if seen[shape] > sample:
                    continue
            checked += 1
            errors = sorted(validator.iter_errors(rec), key=lambda e: list(e.path))
            for e in errors[:3]:
                where = "/".join(str(p) for p in e.path) or "(record)"
                print(f"{path}:{no}: {where}: {e.message[:300]}")
            if errors:
                bad += 1
            elif isinstance(rec, dict):
                kinds.add(rec.get("kind"))
    if kinds_out:
        print(" ".join(sorted(str(k) for k in kinds)))
    print(f"# {checked} records checked, {bad} invalid", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
