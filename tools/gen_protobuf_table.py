#!/usr/bin/env python3
"""Generate crates/apimachinery/src/protobuf/table.rs: the descriptor table that
drives rkube's Kubernetes-protobuf request decoder.

Sources (read as data; nothing is copied into the project but field facts):
  * k8s-pb 0.9.0 (prost bindings of every Kubernetes .proto) from the cargo
    registry: message names, field tags, wire kinds, message references, and
    the Resource impls that map apiVersion -> proto package.
  * k8s-openapi 0.29 from the cargo registry: exact JSON field names (prost
    lowercases `podIP` into `pod_ip`; k8s-openapi keeps the JSON spelling).
  * optionally, git mirrors of kubernetes/api, apimachinery,
    apiextensions-apiserver and kube-aggregator (`--go-mirror PREFIX=DIR`, default:
    /work/.mirror/kubernetes+*/repo when present). Their Go struct tags give
    the authoritative JSON name per protobuf tag, whether the Go field is a
    pointer and whether its JSON tag has omitempty. That decides whether a
    present zero value (gogo writes every non-pointer scalar) is kept.

The Go sources are required unless --no-go is given: without them every
present zero is dropped (pointer fields such as `replicas: 0` would be lost).
Mirrors are bare git directories (e.g. from `git clone --mirror`); HEAD is read.

Usage: python3 tools/gen_protobuf_table.py [--go-mirror PREFIX=GITDIR ...] [--no-go] [-o OUT]
"""

import argparse
import glob
import os
import re
import subprocess
import sys

HOME = os.path.expanduser("~")
PB_GLOB = HOME + "/.cargo/registry/src/*/k8s-pb-0.9.0/src"
OPENAPI_GLOB = HOME + "/.cargo/registry/src/*/k8s-openapi-0.29.0/src"
# Modules of k8s-pb we skip: test fixtures and read-only metrics APIs.
SKIP_PREFIXES = ("apimachinery/pkg/apis/testapigroup", "metrics/")
DEFAULT_MIRRORS = {
    "api": "/work/.mirror/kubernetes+api/repo",
    "apimachinery": "/work/.mirror/kubernetes+apimachinery/repo",
    "apiextensions_apiserver": "/work/.mirror/kubernetes+apiextensions-apiserver/repo",
    "kube_aggregator": "/work/.mirror/kubernetes+kube-aggregator/repo",
}

# Wire kinds as spelled in table.rs (see schema.rs). These are all the scalar
# types Kubernetes protos use; a new one fails generation (KeyError) so that
# schema.rs and decode.rs learn it first.
SCALAR = {"string": "S", "bytes": "B", "bool": "Bool", "int32": "I32", "int64": "I64",
          "double": "F64"}

SPECIALS = {
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time": "Time",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime": "MicroTime",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Duration": "Duration",
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1": "RawJson",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Verbs": "Items",
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "Quantity",
    "k8s.io.apimachinery.pkg.api.resource.QuantityValue": "Quantity",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": "IntOrString",
    "k8s.io.apimachinery.pkg.runtime.RawExtension": "RawExtension",
}
SPECIAL_SUFFIXES = {
    ".JSON": "RawJson",
    ".JSONSchemaPropsOrArray": "SchemaOrArray",
    ".JSONSchemaPropsOrBool": "SchemaOrBool",
    ".JSONSchemaPropsOrStringArray": "SchemaOrStringArray",
    ".ExtraValue": "Items",
}


def norm(name):
    """Spelling-insensitive key: `podIP` and `pod_ip` meet, so do `$ref` and `ref`."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def camel(snake):
    snake = snake.removeprefix("r#")
    parts = snake.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


# ---------------------------------------------------------------- k8s-pb

ATTR = re.compile(r"#\[prost\((.*)\)\]")


def parse_pb_module(path, module):
    """Returns ([struct], {apiVersion: True}) for one k8s-pb mod.rs."""
    lines = open(path, encoding="utf-8").read().split("\n")
    structs, api_versions = [], []
    i, doc = 0, []
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("///"):
            doc.append(line[3:].strip())
        elif line.startswith("pub struct ") and line.endswith("{}"):
            structs.append({"name": line.split()[2], "module": module, "doc": doc, "fields": []})
            doc = []
        elif line.startswith("pub struct ") and line.endswith("{"):
            name = line.split()[2]
            fields, i = parse_fields(lines, i + 1, module)
            structs.append({"name": name, "module": module, "doc": doc, "fields": fields})
            doc = []
        elif line.startswith("impl crate::Resource for "):
            block = "\n".join(lines[i:i + 8])
            av = re.search(r'API_VERSION: &\'static str = "([^"]*)"', block)
            if av:
                api_versions.append(av.group(1))
        elif not line.startswith("#["):
            doc = []
        i += 1
    return structs, api_versions


def parse_fields(lines, i, module):
    fields, doc = [], []
    attr = None
    while i < len(lines):
        line = lines[i].strip()
        if line == "}":
            return fields, i
        if line.startswith("///"):
            doc.append(line[3:].strip())
        m = ATTR.match(line)
        if m:
            attr = m.group(1)
        elif line.startswith("pub ") and attr is not None:
            decl = line
            while not decl.endswith(",") or decl.count("<") > decl.count(">"):
                i += 1
                decl += lines[i].strip()
            fields.append(field_from(attr, decl, module))
            fields[-1]["doc"] = doc
            attr, doc = None, []
        i += 1
    raise SystemExit("unterminated struct")


def field_from(attr, decl, module):
    name = decl[4:decl.index(":")].strip()
    ty = decl[decl.index(":") + 1:].rstrip(",")
    tag = int(re.search(r'tag = "(\d+)"', attr).group(1))
    repeated = ", repeated" in attr
    kind = attr.split(",")[0].strip()
    f = {"rust": name, "tag": tag, "repeated": repeated}
    mapm = re.match(r'(?:btree_)?map = "string, (\w+)"', attr)
    if mapm:
        val = mapm.group(1)
        if val == "message":
            f["kind"] = ("mapmsg", resolve(ty, module))
        else:
            f["kind"] = ("map", SCALAR[val])
    elif kind == "message":
        f["kind"] = ("msg", resolve(ty, module))
    else:
        kind = kind.split("=")[0].strip()
        f["kind"] = ("scalar", SCALAR[kind])
    return f


WRAPPERS = ["::core::option::Option<", "::prost::alloc::vec::Vec<", "::prost::alloc::boxed::Box<",
            "::prost::alloc::collections::BTreeMap<", "::std::collections::HashMap<",
            "::prost::alloc::string::String,"]


def resolve(ty, module):
    t = ty.replace(" ", "")
    for w in WRAPPERS:
        t = t.replace(w, "")
    t = t.strip(">,")
    parts = t.split("::")
    if parts[0] == "crate":
        return "/".join(parts[1:])
    base = module.split("/")
    while parts and parts[0] == "super":
        base = base[:-1]
        parts = parts[1:]
    return "/".join(base + parts)


# ---------------------------------------------------------------- k8s-openapi

def parse_openapi(root):
    """{(module, lower struct name): (StructName, {norm(json): json})}, newest version wins."""
    out = {}
    versions = sorted(glob.glob(root + "/v1_*"), key=lambda p: int(p.rsplit("_", 1)[1]))
    for vdir in versions:
        for path in glob.glob(vdir + "/**/*.rs", recursive=True):
            rel = os.path.relpath(os.path.dirname(path), vdir)
            text = open(path, encoding="utf-8").read()
            sm = re.search(r"^pub struct (\w+)", text, re.M)
            if not sm:
                continue
            names = {norm(j): j for j in re.findall(r'"([^"]+)" => Field::Key_', text)}
            out[(rel, sm.group(1).lower())] = (sm.group(1), names)
    return out


# ---------------------------------------------------------------- Go sources

GO_FIELD = re.compile(r"^\s*(?:(\w+)\s+)?(\S+)\s+`([^`]*)`")


def parse_go(mirrors, sources):
    """{(module, lower struct): (GoName, {tag: (json, pointer, omitempty)})}."""
    out = {}
    for prefix, gitdir in mirrors.items():
        if not os.path.isdir(gitdir):
            sys.exit(f"Go sources for {prefix} not found at {gitdir}: pass --go-mirror "
                     f"{prefix}=GITDIR, or --no-go to lose pointer/omitempty facts")
        head = subprocess.run(["git", "--git-dir", gitdir, "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        sources.append(f"{os.path.basename(os.path.dirname(gitdir))}@{head[:12]}")
        files = subprocess.run(["git", "--git-dir", gitdir, "ls-tree", "-r", "--name-only", "HEAD"],
                               capture_output=True, text=True, check=True).stdout.split()
        files = [f for f in files if f.endswith(".go") and not f.endswith("_test.go")
                 and "/" in f and not f.startswith(("vendor/", "test/", "hack/"))]
        for f in files:
            text = subprocess.run(["git", "--git-dir", gitdir, "show", "HEAD:" + f],
                                  capture_output=True, text=True).stdout
            if 'protobuf:"' not in text:
                continue
            module = prefix + "/" + os.path.dirname(f)
            for sm in re.finditer(r"^type (\w+) struct \{\n(.*?)^\}", text, re.M | re.S):
                tags, has_pb = {}, False
                for line in sm.group(2).split("\n"):
                    m = GO_FIELD.match(line)
                    if not m or 'protobuf:"' not in m.group(3):
                        continue
                    has_pb = True
                    pb = re.search(r'protobuf:"[a-z]+,(\d+),', m.group(3))
                    js = re.search(r'json:"([^"]*)"', m.group(3))
                    if not pb or not js:
                        continue
                    parts = js.group(1).split(",")
                    omit = "omitempty" in parts[1:] or "omitzero" in parts[1:]
                    tags[int(pb.group(1))] = (parts[0], m.group(2).startswith("*"), omit)
                if has_pb:
                    out[(module, sm.group(1).lower())] = (sm.group(1), tags)
    return out


# ---------------------------------------------------------------- assembly

def package(module):
    return "k8s.io." + module.replace("/", ".")


def doc_name(doc, rust):
    """Kubernetes doc comments usually start with the JSON field name."""
    if doc:
        word = doc[0].split(" ")[0].strip(".:,")
        if norm(word) == norm(rust.removeprefix("r#")) and re.match(r"^[a-z][A-Za-z0-9]*$", word):
            return word
    return None


def build(pb_root, openapi, go):
    structs, api_versions = [], {}
    for path in sorted(glob.glob(pb_root + "/**/mod.rs", recursive=True)):
        module = os.path.relpath(os.path.dirname(path), pb_root)
        if module == "." or module.startswith(SKIP_PREFIXES):
            continue
        s, avs = parse_pb_module(path, module)
        structs += s
        for av in avs:
            api_versions[av] = package(module)
    # meta/v1 options types arrive under every group's apiVersion; the decoder
    # falls back to meta/v1, so the table only needs the groups.
    stats = {"go": 0, "openapi": 0, "doc": 0, "camel": 0}
    names = {}
    for s in structs:
        key = (s["module"], s["name"].lower())
        gname = go.get(key, (None, {}))[0]
        oname = openapi.get(key, (None, {}))[0]
        s["proto"] = package(s["module"]) + "." + (gname or oname or s["name"])
        names[s["module"] + "/" + s["name"]] = s["proto"]
    for s in structs:
        key = (s["module"], s["name"].lower())
        gtags = go.get(key, (None, {}))[1]
        onames = openapi.get(key, (None, {}))[1]
        for f in s["fields"]:
            g = gtags.get(f["tag"])
            if g:
                f["json"], f["keep_zero"] = g[0], g[1] or not g[2]
                stats["go"] += 1
                continue
            f["keep_zero"] = False
            rust = f["rust"].removeprefix("r#")
            j = onames.get(norm(rust)) or onames.get(norm(rust.removesuffix("_path")))
            if j:
                stats["openapi"] += 1
            else:
                j = doc_name(f.get("doc"), rust)
                if j:
                    stats["doc"] += 1
                else:
                    j = camel(rust)
                    stats["camel"] += 1
                if os.environ.get("GEN_DEBUG"):
                    print("fallback", s["proto"], f["rust"], j, file=sys.stderr)
            f["json"] = j
    for s in structs:
        for f in s["fields"]:
            k = f["kind"]
            if k[0] in ("msg", "mapmsg"):
                if k[1] not in names:
                    raise SystemExit(f"unresolved {k[1]} in {s['proto']}")
                f["kind"] = (k[0], names[k[1]])
    return structs, api_versions, stats


def special(proto):
    if proto in SPECIALS:
        return SPECIALS[proto]
    for suf, sp in SPECIAL_SUFFIXES.items():
        if proto.lower().endswith(suf.lower()):
            return sp
    return "None"


def emit(structs, api_versions, stats, sources, out):
    structs = sorted(structs, key=lambda s: s["proto"])
    index = {s["proto"]: i for i, s in enumerate(structs)}
    lists, list_ids, msg_lines = [], {}, []
    for s in structs:
        items = []
        for f in sorted(s["fields"], key=lambda f: f["tag"]):
            kind, arg = f["kind"]
            if kind == "scalar":
                k = arg
            elif kind == "map":
                k = "Map" + arg
            elif kind == "msg":
                k = f"M({index[arg]})"
            else:
                k = f"MapM({index[arg]})"
            flags = (1 if f["repeated"] else 0) | (2 if f["keep_zero"] else 0) | (4 if f["json"] == "" else 0)
            items.append(f'F({f["tag"]},"{f["json"]}",{k},{flags})')
        body = ",".join(items)
        if body not in list_ids:
            list_ids[body] = len(lists)
            lists.append(body)
        msg_lines.append(f'    Message("{s["proto"]}",{special(s["proto"])},L{list_ids[body]}),')
    nfields = sum(len(s["fields"]) for s in structs)
    with open(out, "w", encoding="utf-8") as w:
        w.write("// @generated by tools/gen_protobuf_table.py — do not edit.\n")
        w.write("//! The descriptor table of every built-in Kubernetes protobuf message:\n")
        w.write(f"//! sources {', '.join(sources)}.\n")
        w.write(f"//! {len(structs)} messages, {nfields} fields, {len(lists)} distinct field lists.\n")
        w.write(f"//! JSON names: {stats['go']} from Go struct tags, {stats['openapi']} from k8s-openapi,\n")
        w.write(f"//! {stats['doc']} from doc comments, {stats['camel']} by camelCase.\n\n")
        w.write("use super::schema::Field as F;\nuse super::schema::Kind::*;\n")
        w.write("use super::schema::Special::*;\nuse super::schema::{Field, Message};\n\n")
        w.write("/// `apiVersion` of a request body -> proto package of its message.\n")
        w.write("pub(super) static API_VERSIONS: &[(&str, &str)] = &[\n")
        for av in sorted(api_versions):
            w.write(f'    ("{av}", "{api_versions[av]}"),\n')
        w.write("];\n\n/// Every message, sorted by full proto name (binary-searchable).\n")
        w.write("pub(super) static MESSAGES: &[Message] = &[\n")
        w.write("\n".join(msg_lines))
        w.write("\n];\n\n")
        for i, body in enumerate(lists):
            w.write(f"const L{i}: &[Field] = &[{body}];\n")
    return len(structs), nfields, len(lists)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--go-mirror", action="append", default=[],
                    help="PREFIX=GITDIR, e.g. api=/path/to/kubernetes-api.git (repeatable)")
    ap.add_argument("--no-go", action="store_true", help="ignore Go sources even if present")
    ap.add_argument("-o", "--out", default=os.path.join(os.path.dirname(__file__), "..",
                    "crates/apimachinery/src/protobuf/table.rs"))
    args = ap.parse_args()
    pb = sorted(glob.glob(PB_GLOB))
    oa = sorted(glob.glob(OPENAPI_GLOB))
    if not pb or not oa:
        sys.exit("k8s-pb 0.9.0 and k8s-openapi 0.29.0 must be in the cargo registry (cargo fetch)")
    mirrors = {} if args.no_go else dict(DEFAULT_MIRRORS)
    for m in args.go_mirror:
        prefix, _, path = m.partition("=")
        mirrors[prefix] = path
    sources = [os.path.basename(os.path.dirname(pb[-1])), os.path.basename(os.path.dirname(oa[-1]))]
    go = parse_go(mirrors, sources)
    structs, avs, stats = build(pb[-1], parse_openapi(oa[-1]), go)
    n, nf, nl = emit(structs, avs, stats, sources, args.out)
    print(f"{args.out}: {n} messages, {nf} fields, {nl} lists; names {stats}", file=sys.stderr)


if __name__ == "__main__":
    main()
