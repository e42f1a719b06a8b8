#!/usr/bin/env python3
"""Helper for bench/run.sh (stdlib only).

Subcommands:
  images OUTDIR MODE      build the image set from this machine's own files (MODE: quick|full)
  report RESULTS DOC ...  turn the measurements into a Markdown table and write it into DOC
  freeport                print a free TCP port on 127.0.0.1
  layout OUTDIR IMAGES REPO TAG
                          write an OCI image layout holding REPO's image TAG from the image set
                          (blobs hard-linked where possible), tagged TAG (ref.name)
  checklayout DIR IMAGES REPO TAG
                          check that the layout DIR holds every blob (by size) of REPO's image TAG
                          and its manifest (exact bytes): exit 1 otherwise

Image set layout written by `images`:
  OUTDIR/blobs/<hex>            every blob (gzip layers, configs), by sha256
  OUTDIR/manifests/<name>.json  every manifest (OCI image manifest)
  OUTDIR/plan.tsv               push plan, one line each:
                                  blob<TAB>REPO<TAB>DIGEST<TAB>SIZE
                                  manifest<TAB>REPO<TAB>TAG<TAB>DIGEST<TAB>FILE
  OUTDIR/DONE                   stamp: the set is complete and can be reused
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import time

MIB = 1024 * 1024
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"

# Where the machine's own files come from, in order; the walk cycles if it runs dry.
ROOTS = [
    "/usr/lib",
    "/usr/share",
    "/usr/bin",
    "/usr/sbin",
    "/usr/libexec",
    "/usr/local",
    "/usr/include",
    "/opt",
    "/root/.rustup",
    "/root/.pyenv",
    "/root/.cargo",
]

# Sizes (compressed bytes) per mode: multi-layer image, single big layer, small-tag base.
SIZES = {
    "full": {"multi": [160 * MIB, 120 * MIB, 90 * MIB, 60 * MIB], "big": 1024 * MIB, "base": 4 * MIB, "tags": 100},
    "quick": {"multi": [24 * MIB, 16 * MIB, 8 * MIB], "big": 64 * MIB, "base": 1 * MIB, "tags": 20},
}


def file_walker():
    """Yields (path, arcname) of regular files under ROOTS forever (cycling with a new prefix)."""
    cycle = 0
    while True:
        found = False
        for root in ROOTS:
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames.sort()
                for name in sorted(filenames):
                    path = os.path.join(dirpath, name)
                    try:
                        st = os.lstat(path)
                    except OSError:
                        continue
                    if not os.path.isfile(path) or os.path.islink(path):
                        continue
                    if st.st_size == 0 or st.st_size > 512 * MIB or not os.access(path, os.R_OK):
                        continue
                    found = True
                    yield path, f"c{cycle}{path}"
        if not found:
            raise SystemExit("no readable files found under " + ", ".join(ROOTS))
        cycle += 1


class HashingPipe(io.RawIOBase):
    """A write-only file object that hashes what passes (the diff_id) and feeds gzip's stdin."""

    def __init__(self, sink):
        super().__init__()
        self.sink = sink
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self):
        return True

    def write(self, data):
        self.sha.update(data)
        self.size += len(data)
        self.sink.write(data)
        return len(data)


def build_layer(walker, target, tmp_path, tag_note=None):
    """Writes a tar.gz of machine files until the compressed output reaches `target` bytes.

    Returns (compressed_path, diff_id). Compression is `gzip -1 -n` (fast, deterministic)."""
    out = open(tmp_path, "wb")
    proc = subprocess.Popen(["gzip", "-1", "-n", "-c"], stdin=subprocess.PIPE, stdout=out)
    pipe = HashingPipe(proc.stdin)
    with tarfile.open(fileobj=pipe, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        if tag_note is not None:
            data = tag_note.encode()
            info = tarfile.TarInfo("etc/bench-note")
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
        last_check = 0
        for path, arcname in walker:
            try:
                with open(path, "rb") as f:
                    info = tar.gettarinfo(fileobj=f, arcname=arcname)
                    info.uid = info.gid = 0
                    info.uname = info.gname = "root"
                    tar.addfile(info, f)
            except OSError:
                continue
            if pipe.size - last_check >= 4 * MIB or target < 8 * MIB:
                last_check = pipe.size
                out.flush()
                if os.path.getsize(tmp_path) >= target:
                    break
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("gzip failed")
    out.close()
    return tmp_path, "sha256:" + pipe.sha.hexdigest()


def store_blob(outdir, tmp_path):
    """Moves a file into OUTDIR/blobs under its sha256; returns (digest, size)."""
    sha = hashlib.sha256()
    with open(tmp_path, "rb") as f:
        while True:
            chunk = f.read(MIB)
            if not chunk:
                break
            sha.update(chunk)
    hexd = sha.hexdigest()
    size = os.path.getsize(tmp_path)
    os.replace(tmp_path, os.path.join(outdir, "blobs", hexd))
    return "sha256:" + hexd, size


def store_bytes(outdir, data):
    hexd = hashlib.sha256(data).hexdigest()
    with open(os.path.join(outdir, "blobs", hexd), "wb") as f:
        f.write(data)
    return "sha256:" + hexd, len(data)


def make_image(outdir, plan, repo, tag, layers, name):
    """layers: list of (digest, size, diff_id). Writes config + manifest, appends to plan."""
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {"Labels": {"org.ocireg.bench": name}},
        "rootfs": {"type": "layers", "diff_ids": [d for (_, _, d) in layers]},
        "history": [{"created_by": f"bench layer {i}"} for i in range(len(layers))],
    }
    cdigest, csize = store_bytes(outdir, json.dumps(config, sort_keys=True, separators=(",", ":")).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": cdigest, "size": csize},
        "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": d, "size": s} for (d, s, _) in layers],
    }
    raw = json.dumps(manifest, indent=2).encode()
    mdigest = "sha256:" + hashlib.sha256(raw).hexdigest()
    mfile = os.path.join(outdir, "manifests", f"{name}.json")
    with open(mfile, "wb") as f:
        f.write(raw)
    for d, s, _ in layers:
        plan.append(f"blob\t{repo}\t{d}\t{s}")
    plan.append(f"blob\t{repo}\t{cdigest}\t{csize}")
    plan.append(f"manifest\t{repo}\t{tag}\t{mdigest}\t{mfile}")


def small_layer(walker, note):
    """A tiny layer (a note plus one or two machine files), built in memory."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        data = note.encode()
        info = tarfile.TarInfo("etc/bench-note")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        added = 0
        for path, arcname in walker:
            if os.path.getsize(path) > 64 * 1024:
                continue
            try:
                tar.add(path, arcname=arcname, recursive=False)
            except OSError:
                continue
            added += 1
            if added == 2:
                break
    tar_bytes = raw.getvalue()
    diff_id = "sha256:" + hashlib.sha256(tar_bytes).hexdigest()
    return gzip.compress(tar_bytes, compresslevel=6, mtime=0), diff_id


def cmd_images(outdir, mode):
    sizes = SIZES[mode]
    if os.path.exists(os.path.join(outdir, "DONE")):
        print(f"image set: reusing {outdir}", file=sys.stderr)
        return
    os.makedirs(os.path.join(outdir, "blobs"), exist_ok=True)
    os.makedirs(os.path.join(outdir, "manifests"), exist_ok=True)
    walker = file_walker()
    plan = []
    tmp = os.path.join(outdir, "layer.tmp")
    t0 = time.time()

    layers = []
    for i, target in enumerate(sizes["multi"]):
        _, diff_id = build_layer(walker, target, tmp)
        d, s = store_blob(outdir, tmp)
        layers.append((d, s, diff_id))
        print(f"image set: multi layer {i + 1}: {s / MIB:.0f} MiB ({time.time() - t0:.0f} s)", file=sys.stderr)
    make_image(outdir, plan, "multi", "v1", layers, "multi")

    _, diff_id = build_layer(walker, sizes["big"], tmp)
    d, s = store_blob(outdir, tmp)
    print(f"image set: big layer: {s / MIB:.0f} MiB ({time.time() - t0:.0f} s)", file=sys.stderr)
    make_image(outdir, plan, "big", "v1", [(d, s, diff_id)], "big")

    _, base_diff = build_layer(walker, sizes["base"], tmp, tag_note="small base")
    base_d, base_s = store_blob(outdir, tmp)
    for i in range(sizes["tags"]):
        gz, diff_id = small_layer(walker, f"small tag {i}\n")
        d, s = store_bytes(outdir, gz)
        make_image(outdir, plan, "small", f"t{i:03d}", [(base_d, base_s, base_diff), (d, s, diff_id)], f"small-{i:03d}")
    print(f"image set: {sizes['tags']} small tags ({time.time() - t0:.0f} s)", file=sys.stderr)

    with open(os.path.join(outdir, "plan.tsv"), "w") as f:
        f.write("\n".join(plan) + "\n")
    open(os.path.join(outdir, "DONE"), "w").close()


def fmt_mib(kib):
    return f"{kib / 1024:.1f}"


def cmd_report(results, doc, meta_path):
    """results: TSV scenario tool round wall user sys maxrss_kib requests srv_cpu ok [blob_bytes]."""
    rows = {}
    order = []
    with open(results) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 10 or p[0] == "scenario":
                continue
            key = (p[0], p[1])
            if p[0] not in order:
                order.append(p[0])
            rows.setdefault(key, []).append(
                {
                    "wall": float(p[3]),
                    "cpu": float(p[4]) + float(p[5]),
                    "rss": int(p[6]),
                    "req": int(p[7]),
                    "srv": float(p[8]),
                    "ok": p[9] == "ok",
                    "blob": int(p[10]) if len(p) > 10 and p[10] else None,
                }
            )
    with open(meta_path) as f:
        meta = json.load(f)

    def med(key, field):
        vals = [r[field] for r in rows.get(key, [])]
        return statistics.median(vals) if vals else None

    tools = ["crane", "ggcr", "skopeo", "curl", "curl+sha"]
    lines = [
        "| scenario | tool | wall s (median) | wall / ggcr | wall / skopeo | wall / curl | CPU s (user+sys) "
        "| CPU / curl | peak RSS MiB (max) | HTTP requests | blob MiB served | registry CPU s | rounds |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scen in order:
        gg_wall = med((scen, "ggcr"), "wall")
        sk_wall = med((scen, "skopeo"), "wall")
        base_wall = med((scen, "curl"), "wall")
        base_cpu = med((scen, "curl"), "cpu")
        for tool in tools:
            key = (scen, tool)
            if key not in rows:
                continue
            runs = rows[key]
            wall = med(key, "wall")
            cpu = med(key, "cpu")
            rss = max(r["rss"] for r in runs)
            req = med(key, "req")
            srv = med(key, "srv")
            bad = sum(1 for r in runs if not r["ok"])
            blob = med(key, "blob") if all(r["blob"] is not None for r in runs) else None
            blob_s = "–" if blob is None else (f"{blob / MIB:.1f}" if blob else "0")

            def ratio(a, b):
                return f"{a / b:.2f}x" if (a is not None and b) else "–"

            lines.append(
                f"| {meta['scenarios'].get(scen, scen)} | {tool} | {wall:.2f} | "
                f"{ratio(wall, gg_wall) if tool != 'ggcr' else '1.00x'} | "
                f"{ratio(wall, sk_wall) if tool != 'skopeo' else '1.00x'} | "
                f"{ratio(wall, base_wall) if tool != 'curl' else '1.00x'} | {cpu:.2f} | "
                f"{ratio(cpu, base_cpu) if tool != 'curl' else '1.00x'} | {fmt_mib(rss)} | {req:.0f} | {blob_s} | "
                f"{srv:.2f} | {len(runs)}{' (' + str(bad) + ' FAILED)' if bad else ''} |"
            )
    table = "\n".join(lines)

    # Target checks, against the curl baseline and skopeo measured in this same run.
    checks = []
    for scen in order:
        if not scen.startswith("xreg"):
            continue
        c_wall, b_wall = med((scen, "crane"), "wall"), med((scen, "curl"), "wall")
        c_cpu, b_cpu = med((scen, "crane"), "cpu"), med((scen, "curl"), "cpu")
        c_rss = max(r["rss"] for r in rows[(scen, "crane")])
        s_rss = max(r["rss"] for r in rows[(scen, "skopeo")])
        name = meta["scenarios"].get(scen, scen)
        checks.append(
            f"- {name}: wall {c_wall / b_wall:.2f}x the baseline (target ≤ 1.05x): "
            f"{'met' if c_wall / b_wall <= 1.05 else 'MISSED'}; CPU {c_cpu / b_cpu:.2f}x (target ≤ 1.5x): "
            f"{'met' if c_cpu / b_cpu <= 1.5 else 'MISSED'}; peak RSS {fmt_mib(c_rss)} MiB vs skopeo "
            f"{fmt_mib(s_rss)} MiB: {'met' if c_rss <= s_rss else 'MISSED'}"
        )
    for scen in order:
        if (scen, "ggcr") not in rows or (scen, "crane") not in rows:
            continue
        c_wall, g_wall = med((scen, "crane"), "wall"), med((scen, "ggcr"), "wall")
        c_cpu, g_cpu = med((scen, "crane"), "cpu"), med((scen, "ggcr"), "cpu")
        c_rss = max(r["rss"] for r in rows[(scen, "crane")])
        g_rss = max(r["rss"] for r in rows[(scen, "ggcr")])
        checks.append(
            f"- {meta['scenarios'].get(scen, scen)} vs ggcr's crane: wall {c_wall:.2f} s vs {g_wall:.2f} s "
            f"({'met' if c_wall <= g_wall else 'MISSED'}), peak RSS {fmt_mib(c_rss)} vs {fmt_mib(g_rss)} MiB "
            f"({'met' if c_rss <= g_rss else 'MISSED'}), CPU {c_cpu:.2f} s vs {g_cpu:.2f} s "
            f"({'met' if c_cpu <= g_cpu else 'MISSED'})"
        )
    for scen in order:
        if not scen.startswith(("pull-", "push-")) or (scen, "crane") not in rows:
            continue
        name = meta["scenarios"].get(scen, scen)
        c_wall, c_cpu = med((scen, "crane"), "wall"), med((scen, "crane"), "cpu")
        c_rss = max(r["rss"] for r in rows[(scen, "crane")])
        b_wall = med((scen, "curl"), "wall")
        sha_wall = med((scen, "curl+sha"), "wall")
        limit = 1.3 if scen.startswith("pull-") else 1.1
        parts = [
            f"wall {c_wall / b_wall:.2f}x the curl baseline (target ≤ {limit}x): "
            f"{'met' if c_wall / b_wall <= limit else 'MISSED'}"
            + (f" ({c_wall / sha_wall:.2f}x the curl+sha256sum baseline)" if sha_wall else "")
        ]
        if scen.startswith("pull-"):
            g_wall, s_wall = med((scen, "ggcr"), "wall"), med((scen, "skopeo"), "wall")
            if g_wall:
                parts.append(
                    f"{c_wall:.2f} s vs ggcr's crane {g_wall:.2f} s (target: no slower): "
                    f"{'met' if c_wall <= g_wall else 'MISSED'}"
                )
            if s_wall:
                parts.append(
                    f"{c_wall / s_wall:.2f}x skopeo's wall (target ≤ 0.5x): "
                    f"{'met' if c_wall <= 0.5 * s_wall else 'MISSED'}"
                )
        parts.append(
            f"peak RSS {fmt_mib(c_rss)} MiB (target < 32 MiB): {'met' if c_rss < 32 * 1024 else 'MISSED'}"
        )
        checks.append(f"- {name}: " + "; ".join(parts))
    if ("repull-multi", "crane") in rows:
        blob = max((r["blob"] or 0) for r in rows[("repull-multi", "crane")])
        checks.append(
            f"- {meta['scenarios'].get('repull-multi', 'repull-multi')}: crane moved {blob} blob bytes "
            f"(target 0): {'met' if blob == 0 else 'MISSED'}"
        )
    for scen in order:
        if scen.startswith("recopy") and (scen, "crane") in rows:
            req = max(r["req"] for r in rows[(scen, "crane")])
            checks.append(
                f"- {meta['scenarios'].get(scen, scen)}: crane sent {req} HTTP requests (target ≤ 3): "
                f"{'met' if req <= 3 else 'MISSED'}"
            )

    block = "\n".join(
        [
            "<!-- bench:begin -->",
            f"Measured {meta['date']} on {meta['machine']}"
            + (f"; {meta['load']}." if meta.get("load") else "."),
            "",
            f"Tools: {meta['versions']}.",
            "",
            f"Command: `{meta['command']}`; image set: {meta['imageset']}.",
            "",
            table,
            "",
            "Targets (ratios to the raw curl baseline, and comparisons with skopeo and ggcr's crane,"
            " all measured in this same run):",
            "",
            *checks,
            "<!-- bench:end -->",
        ]
    )
    print(table)
    print()
    print("\n".join(checks))

    text = open(doc).read() if os.path.exists(doc) else ""
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    if begin in text and end in text:
        head = text.split(begin)[0]
        tail = text.split(end, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(doc, "w") as f:
        f.write(text)


def plan_image(images, repo, tag):
    """(manifest digest, manifest file, [(blob digest, size)]) of REPO's image TAG in the plan."""
    mdigest = mfile = None
    blobs = []
    with open(os.path.join(images, "plan.tsv")) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if p[0] == "manifest" and p[1] == repo and p[2] == tag:
                mdigest, mfile = p[3], p[4]
    if mfile is None:
        raise SystemExit(f"no image {repo}:{tag} in the plan")
    with open(mfile, "rb") as f:
        manifest = json.load(f)
    for d in [manifest["config"]] + manifest["layers"]:
        blobs.append((d["digest"], d["size"]))
    return mdigest, mfile, blobs


def cmd_layout(outdir, images, repo, tag):
    mdigest, mfile, blobs = plan_image(images, repo, tag)
    bdir = os.path.join(outdir, "blobs", "sha256")
    os.makedirs(bdir, exist_ok=True)
    for d, _ in blobs + [(mdigest, 0)]:
        src = os.path.join(images, "blobs", d.split(":")[1]) if d != mdigest else mfile
        dst = os.path.join(bdir, d.split(":")[1])
        if os.path.exists(dst):
            continue
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)
    with open(os.path.join(outdir, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": mdigest,
                "size": os.path.getsize(mfile),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    with open(os.path.join(outdir, "index.json"), "w") as f:
        json.dump(index, f)


def cmd_checklayout(layout, images, repo, tag):
    mdigest, mfile, blobs = plan_image(images, repo, tag)
    bdir = os.path.join(layout, "blobs", "sha256")
    bad = []
    for d, size in blobs:
        path = os.path.join(bdir, d.split(":")[1])
        if not os.path.isfile(path) or os.path.getsize(path) != size:
            bad.append(d)
    mpath = os.path.join(bdir, mdigest.split(":")[1])
    with open(mfile, "rb") as f:
        want = f.read()
    if not os.path.isfile(mpath) or open(mpath, "rb").read() != want:
        bad.append(mdigest + " (manifest)")
    with open(os.path.join(layout, "index.json")) as f:
        if mdigest not in f.read():
            bad.append(mdigest + " (not in index.json)")
    if bad:
        print(f"layout {layout}: missing or wrong: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


def cmd_freeport():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def main(argv):
    if len(argv) >= 1 and argv[0] == "freeport":
        cmd_freeport()
    elif len(argv) == 3 and argv[0] == "images":
        cmd_images(argv[1], argv[2])
    elif len(argv) == 5 and argv[0] == "layout":
        cmd_layout(*argv[1:])
    elif len(argv) == 5 and argv[0] == "checklayout":
        return cmd_checklayout(*argv[1:])
    elif len(argv) == 4 and argv[0] == "report":
        cmd_report(argv[1], argv[2], argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
