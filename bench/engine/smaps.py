"""bench/engine: where a process's resident memory is, from /proc/<pid>/smaps.
Mappings are grouped by file (a library's text, relocated data and bss add
up) and the anonymous ones by kind; each row has Rss, Pss, Shared_Clean
(library pages other processes map too), Private_Clean and Private_Dirty
(pages only this process has: relocations, heap, stacks, TLS)."""
import collections
import os
import re

FIELDS = ("Rss", "Pss", "Shared_Clean", "Private_Clean", "Private_Dirty")
MAPPING = re.compile(r"^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$")


def _name(path, exe, comm):
    if not path:
        return "[anon: malloc arenas, TLS, thread stacks]"
    if path in ("[heap]", "[stack]", "[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]"):
        return path
    if path == exe or path.endswith(" (deleted)") and path[:-10] == exe:
        return f"{comm} (the program)"
    return os.path.basename(path) or path


def breakdown(pid):
    """{name: Counter(field -> KiB)} for pid; {} when it is gone."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
        comm = open(f"/proc/{pid}/comm").read().strip()
        lines = open(f"/proc/{pid}/smaps").read().splitlines()
    except OSError:
        return {}
    rows = collections.defaultdict(collections.Counter)
    cur = None
    for line in lines:
        m = MAPPING.match(line)
        if m:
            cur = rows[_name(m.group(2).strip(), exe, comm)]
            continue
        key, _, value = line.partition(":")
        if cur is not None and key in FIELDS:
            cur[key] += int(value.split()[0])
    return {k: v for k, v in rows.items() if v["Rss"]}


CATEGORIES = (
    ("C library and loader", re.compile(r"^(libc|ld-linux|libm|libpthread|libdl|libresolv)[.-]")),
    ("HTTP server: libmicrohttpd + GnuTLS and its chain",
     re.compile(r"^(libmicrohttpd|libgnutls|libnettle|libhogweed|libgmp|libp11-kit|libtasn1|"
                r"libunistring|libidn2|libffi)[.-]")),
    ("jansson", re.compile(r"^libjansson[.-]")),
    ("other shared libraries", re.compile(r"\.so")),
    ("the program", re.compile(r"\(the program\)$")),
    ("heap, anonymous mappings, stack", re.compile(r"^\[")),
)


def category(name):
    for label, rx in CATEGORIES:
        if rx.search(name):
            return label
    return "other"


def print_breakdown(pid, title, limit=25, rows=None):
    rows = rows if rows is not None else breakdown(pid)
    if not rows:
        return
    total = collections.Counter()
    for v in rows.values():
        total.update(v)
    print(f"\n{title} (KiB, by mapping; libraries include their relocated data)")
    print(f"  {'mapping':44} {'Rss':>6} {'Pss':>6} {'ShClean':>8} {'PrClean':>8} {'PrDirty':>8}")
    ordered = sorted(rows.items(), key=lambda kv: -kv[1]["Rss"])
    for name, v in ordered[:limit]:
        print(f"  {name[:44]:44} {v['Rss']:6} {v['Pss']:6} {v['Shared_Clean']:8} "
              f"{v['Private_Clean']:8} {v['Private_Dirty']:8}")
    rest = ordered[limit:]
    if rest:
        r = collections.Counter()
        for _, v in rest:
            r.update(v)
        print(f"  {f'({len(rest)} more)':44} {r['Rss']:6} {r['Pss']:6} {r['Shared_Clean']:8} "
              f"{r['Private_Clean']:8} {r['Private_Dirty']:8}")
    print(f"  {'total':44} {total['Rss']:6} {total['Pss']:6} {total['Shared_Clean']:8} "
          f"{total['Private_Clean']:8} {total['Private_Dirty']:8}")
    libs = sum(1 for n in rows if ".so" in n)
    print(f"  {libs} shared objects mapped")
    cats = collections.defaultdict(collections.Counter)
    for name, v in rows.items():
        cats[category(name)].update(v)
    print(f"  by category:")
    for label, v in sorted(cats.items(), key=lambda kv: -kv[1]["Rss"]):
        print(f"    {label:50} Rss {v['Rss']:6}  Private_Dirty {v['Private_Dirty']:6}")
