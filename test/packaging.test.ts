// packaging/systemd and deploy/kubernetes: the manifests parse, say what the README promises (the
// daemon on /etc/ingressfw, host network, NET_ADMIN only, state on the host, control-plane nodes), and
// the ConfigMap's example is the seed's worker example and valid. `systemd-analyze verify` when present.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { checkSources } from "../src/daemon/apply-config.js";
import { REPO_ROOT } from "./support/lab.js";

const K8S = join(REPO_ROOT, "deploy/kubernetes");
const UNIT = join(REPO_ROOT, "packaging/systemd/ingressfw.service");

type Obj = Record<string, unknown>;
const at = (o: unknown, ...path: (string | number)[]): unknown => path.reduce<unknown>((v, k) => (v as Obj | undefined)?.[k as string], o);

/** Every document of every manifest, parsed strictly (a YAML error fails the test). */
function manifests(): Obj[] {
  const docs: Obj[] = [];
  for (const file of readdirSync(K8S).filter((f) => f.endsWith(".yaml"))) {
    for (const doc of parseAllDocuments(readFileSync(join(K8S, file), "utf8"), { uniqueKeys: true })) {
      assert.deepEqual(doc.errors, [], `${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
      docs.push(doc.toJS() as Obj);
    }
  }
  return docs;
}

const byKind = (docs: readonly Obj[], kind: string) => {
  const found = docs.filter((d) => d.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!;
};

describe("deploy/kubernetes", () => {
  const docs = manifests();

  it("has a namespace, the ConfigMap, the DaemonSet and a kustomization listing them", () => {
    assert.deepEqual(docs.map((d) => d.kind).sort(), ["ConfigMap", "DaemonSet", "Kustomization", "Namespace"]);
    const ns = at(byKind(docs, "Namespace"), "metadata", "name");
    for (const kind of ["ConfigMap", "DaemonSet"]) assert.equal(at(byKind(docs, kind), "metadata", "namespace"), ns, kind);
    const resources = at(byKind(docs, "Kustomization"), "resources") as string[];
    assert.deepEqual(
      resources.sort(),
      readdirSync(K8S)
        .filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")
        .sort(),
    );
  });

  it("the ConfigMap carries the seed's worker example, which validates", () => {
    const data = at(byKind(docs, "ConfigMap"), "data") as Record<string, string>;
    assert.deepEqual(Object.keys(data), ["worker.yaml"]);
    assert.equal(data["worker.yaml"], readFileSync(join(REPO_ROOT, "examples/seed/worker.yaml"), "utf8"));
    const checked = checkSources([{ file: "worker.yaml", text: data["worker.yaml"]! }], { profile: "talos", strict: true });
    assert.equal(checked.valid, true, checked.diagnostics.map((d) => d.message).join("; "));
    assert.equal(checked.config.rules.length, 3);
  });

  it("the DaemonSet runs the daemon on the host network with NET_ADMIN only, config and state mounted", () => {
    const ds = byKind(docs, "DaemonSet");
    const pod = at(ds, "spec", "template", "spec") as Obj;
    assert.equal(pod.hostNetwork, true);
    assert.deepEqual(at(ds, "spec", "selector", "matchLabels"), at(ds, "spec", "template", "metadata", "labels"));
    const containers = pod.containers as Obj[];
    assert.equal(containers.length, 1);
    const c = containers[0]!;
    assert.deepEqual(c.command, ["ingressfw", "daemon", "--config", "/etc/ingressfw"]);
    assert.match(c.image as string, /^registry\.example\.com\/ingressfw:/);
    assert.deepEqual(at(c, "securityContext", "capabilities"), { drop: ["ALL"], add: ["NET_ADMIN"] });
    assert.equal(at(c, "securityContext", "allowPrivilegeEscalation"), false);
    assert.equal(at(c, "securityContext", "privileged"), undefined);
    assert.equal(at(c, "securityContext", "readOnlyRootFilesystem"), true);

    const volumes = new Map((pod.volumes as Obj[]).map((v) => [v.name as string, v]));
    const mountOf = (path: string) => {
      const m = (c.volumeMounts as Obj[]).find((x) => x.mountPath === path);
      assert.ok(m, `a volume at ${path}`);
      return volumes.get(m.name as string)!;
    };
    assert.equal(at(mountOf("/etc/ingressfw"), "configMap", "name"), at(byKind(docs, "ConfigMap"), "metadata", "name"));
    assert.deepEqual(at(mountOf("/var/lib/ingressfw"), "hostPath"), { path: "/var/lib/ingressfw", type: "DirectoryOrCreate" });
    assert.deepEqual(at(mountOf("/run/ingressfw"), "hostPath"), { path: "/run/ingressfw", type: "DirectoryOrCreate" });
    assert.ok(at(mountOf("/tmp"), "emptyDir"), "a writable /tmp beside the read-only root");

    const tolerated = (pod.tolerations as Obj[]).filter((t) => t.operator === "Exists" && t.effect === "NoSchedule").map((t) => t.key);
    assert.ok(tolerated.includes("node-role.kubernetes.io/control-plane"));
  });

  it("the README documents the placeholder image", () => {
    assert.match(readFileSync(join(REPO_ROOT, "README.md"), "utf8"), /registry\.example\.com\/ingressfw/);
  });
});

/** The unit's `Key=value` settings (a key may repeat). */
function unitSettings(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) settings.set(m[1]!, [...(settings.get(m[1]!) ?? []), m[2]!]);
  }
  return settings;
}

function systemdAnalyze(): string | null {
  try {
    return execFileSync("sh", ["-c", "command -v systemd-analyze"], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}

describe("packaging/systemd/ingressfw.service", () => {
  const text = readFileSync(UNIT, "utf8");
  const s = unitSettings(text);
  const one = (key: string) => {
    assert.equal(s.get(key)?.length, 1, key);
    return s.get(key)![0]!;
  };

  it("runs the daemon on /etc/ingressfw before the network is configured", () => {
    assert.match(one("ExecStart"), / daemon --config \/etc\/ingressfw$/);
    assert.match(one("Before"), /\bnetwork-pre\.target\b/);
    assert.equal(one("Wants"), "network-pre.target");
    assert.equal(one("DefaultDependencies"), "no");
    assert.match(one("ExecStartPost"), /-S \/run\/ingressfw\/host\.sock/, "started only once the daemon serves, i.e. after the boot apply");
  });

  it("is hardened: CAP_NET_ADMIN only, read-only system, writable state and run directories", () => {
    assert.equal(one("CapabilityBoundingSet"), "CAP_NET_ADMIN");
    assert.equal(one("AmbientCapabilities"), "CAP_NET_ADMIN");
    assert.equal(one("NoNewPrivileges"), "yes");
    assert.equal(one("ProtectSystem"), "strict");
    assert.deepEqual(one("ReadWritePaths").split(" "), ["/var/lib/ingressfw", "/run/ingressfw"]);
    assert.equal(one("StateDirectory"), "ingressfw");
    assert.equal(one("RuntimeDirectory"), "ingressfw");
    assert.equal(one("PrivateTmp"), "yes", "nft's input file needs a writable /tmp under ProtectSystem=strict");
    assert.equal(s.get("MemoryDenyWriteExecute"), undefined, "Node's JIT needs it off");
    assert.equal(one("KillMode"), "process", "a guardian handed a pending try must survive the stop");
  });

  it("passes systemd-analyze verify", { skip: systemdAnalyze() === null ? "systemd-analyze is not installed" : false }, () => {
    // verify insists that ExecStart's program exists: point it at one that does.
    const dir = mkdtempSync(join(tmpdir(), "ingressfw-unit-"));
    try {
      const unit = join(dir, "ingressfw.service");
      writeFileSync(unit, text.replace("/usr/local/bin/ingressfw", process.execPath));
      const out = execFileSync(systemdAnalyze()!, ["verify", unit], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      assert.equal(out.trim(), "");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
